"""The embedded default (`make run`'s configuration): SQLite under a var dir, in-process
delivery, one ASGI app — driven through HTTP only."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.portal.embedded import build_embedded, create_embedded_app
from shared.settings import Settings

pytestmark = pytest.mark.embedded


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s")


def portal(var_dir: Path, seed: bool) -> TestClient:
    system = build_embedded(Settings(PORTAL_VAR_DIR=var_dir))
    return TestClient(create_embedded_app(system, seed=seed))


def test_issue_pay_three_months_and_read_the_billing_page(tmp_path: Path) -> None:
    with portal(tmp_path, seed=False) as client:
        assert client.get("/health").status_code == 200
        response = client.post(
            "/backoffice/policy/certificates",
            json={
                "certificate_number": "275",
                "owner_party_id": "6e5527cd-c29f-5604-bdcf-b2b3e7355a7d",
                "product_code": "UL",
                "application_date": "2023-12-01",
                "effective_date": "2024-01-31",
                "premium": "25.00",
                "payment_frequency": "Monthly",
                "payment_method": "ACH/EFT",
                "payor_name": "Sam Example",
            },
        )
        assert response.status_code == 201, response.text
        eventually(lambda: client.get("/backoffice/billing/accounts/275").status_code == 200)
        for i, on in enumerate(["2024-02-02", "2024-03-01", "2024-04-01"], start=1):
            paid = client.post(
                "/backoffice/billing/accounts/0000000275/payments",
                json={"amount": "25.00", "transaction_date": on, "payment_id": f"ACH-{i}"},
            )
            assert paid.status_code == 201, paid.text

        def billing_page():
            page = client.get("/api/certificates/275/billing")
            body = page.json() if page.status_code == 200 else None
            # Effective 01/31/2024, leap year: 02/29, 03/31, then 04/30.
            return body if body and body["payor"]["paid_to_date"] == "2024-04-30" else None

        body = eventually(billing_page)
        assert body["payment_history"]["total"] == 3
        assert body["payor"]["status"] == "Active Premium Paying"
        assert body["billing"]["premium"] == "25.00"
        assert [p["payment_id"] for p in body["payment_history"]["items"]] == [
            "ACH-3",
            "ACH-2",
            "ACH-1",
        ]
        page2 = client.get("/api/certificates/275/billing?page=2&size=2").json()
        assert [p["payment_id"] for p in page2["payment_history"]["items"]] == ["ACH-1"]


def test_the_demo_data_of_the_guide_survives_a_restart(tmp_path: Path) -> None:
    with portal(tmp_path, seed=True) as client:
        body = client.get("/api/certificates/0000100001/billing?size=2").json()
    assert body["payor"] == {
        "name": "Avery Demo",
        "effective_date": "2015-12-01",
        "paid_to_date": "2024-01-01",
        "status": "Reduced Paid Up",
    }
    assert body["billing"]["billed_to_date"] == "2024-06-01"
    assert body["billing"]["premium"] == "44.00"
    assert body["billing"]["payment_frequency"] == "Monthly"
    assert body["billing"]["payment_method"] == "Direct Premium Notice"
    rows = body["payment_history"]["items"]
    assert [
        (r["transaction_date"], r["apply_date"], r["payment_method"], r["payment_amount"])
        for r in rows
    ] == [
        ("2024-02-06", "2024-01-25", "List Bill", "44.00"),
        ("2024-01-08", "2023-12-31", "List Bill", "44.00"),
    ]
    assert body["payment_history"]["total"] == 97

    with portal(tmp_path, seed=True) as client:  # run again: same data, not loaded twice
        again = client.get("/api/certificates/100001/billing?size=2").json()
        assert again == body
        assert client.get("/api/certificates/100002/billing").status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=07/31/2018", "from"),
        ("through=2024-02-30", "through"),
        ("page=0", "page"),
        ("size=1000", "size"),
        ("from=2024-02-01&through=2024-01-01", "from"),
    ],
)
def test_bad_billing_queries_are_422_with_the_field(tmp_path: Path, query: str, field: str) -> None:
    with portal(tmp_path, seed=False) as client:
        response = client.get(f"/api/certificates/0000100001/billing?{query}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_unknown_certificate_is_404(tmp_path: Path) -> None:
    with portal(tmp_path, seed=False) as client:
        for number in ("0000100009", "12345678901", "abc"):
            response = client.get(f"/api/certificates/{number}/billing")
            assert response.status_code == 404
            assert "not found" in response.json()["detail"]
