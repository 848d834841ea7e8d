"""The embedded default (`make run`'s configuration): SQLite under a var dir, in-process
delivery, one ASGI app — driven through HTTP only, as an owner and a back-office clerk would."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.portal.demo import DEMO_PASSWORD
from services.portal.embedded import build_embedded, create_embedded_app
from shared.mail import MailSettings, free_port
from shared.settings import Settings
from tests.factories import certificate_body

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
    mail = MailSettings(SMTP_PORT=free_port())
    return TestClient(create_embedded_app(system, seed=seed, mail=mail))


def log_in(client: TestClient, user_id: str, password: str) -> dict[str, str]:
    response = client.post("/api/session", json={"user_id": user_id, "password": password})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def register(
    client: TestClient,
    number: str,
    user_id: str,
    password: str,
    personal: dict[str, str] | None = None,
) -> None:
    """The guide's three steps, with the owner data of `tests.factories.certificate_body`
    (or the step-1 fields `personal`)."""
    personal = personal or {
        "user_type": "Certificate Owner",
        "certificate_number": number,
        "name_type": "Person",
        "first_name": "Sam",
        "last_name": "Demo",
        "email": "sam@example.com",
        "date_of_birth": "11/01/1983",
        "government_id": "123-45-6789",
    }
    # Identity learns the owner from policy's event in the same delivery round as billing;
    # retry a little (well under the 5 mismatches that would throttle the certificate).
    for _ in range(3):
        step1 = client.post("/api/registration/personal", json=personal)
        if step1.status_code != 422:
            break
        time.sleep(0.5)
    assert step1.status_code == 201, step1.text
    registration_id = step1.json()["registration_id"]
    questions = client.get("/api/registration/security-questions")
    chosen = questions.json()["questions"][:3] if questions.status_code == 200 else None
    assert chosen, questions.text
    step2 = client.post(
        "/api/registration/credentials",
        json={
            "registration_id": registration_id,
            "user_id": user_id,
            "password": password,
            "security_questions": [{"question": q, "answer": "blue"} for q in chosen],
        },
    )
    assert step2.status_code == 200, step2.text
    step3 = client.post(
        "/api/registration/preferences",
        json={"registration_id": registration_id, "preferred_date_format": "mm/dd/yyyy"},
    )
    assert step3.status_code == 201, step3.text


def test_issue_register_pay_and_read_the_billing_page(tmp_path: Path) -> None:
    with portal(tmp_path, seed=False) as client:
        assert client.get("/health").status_code == 200
        response = client.post(
            "/backoffice/policy/certificates",
            json=certificate_body(
                "275",
                owner="sam",
                product_code="UL",
                premium="25.00",
                effective_date="2024-01-31",
                application_date="2023-12-01",
                payment_method="ACH/EFT",
            ),
        )
        assert response.status_code == 201, response.text
        eventually(lambda: client.get("/backoffice/billing/accounts/275").status_code == 200)
        register(client, "275", "sam.demo", "Blue-Harbor-77!")
        auth = log_in(client, "sam.demo", "Blue-Harbor-77!")
        for i, on in enumerate(["2024-02-02", "2024-03-01", "2024-04-01"], start=1):
            paid = client.post(
                "/backoffice/billing/accounts/0000000275/payments",
                json={"amount": "25.00", "transaction_date": on, "payment_id": f"ACH-{i}"},
            )
            assert paid.status_code == 201, paid.text

        def billing_page():
            page = client.get("/api/certificates/275/billing", headers=auth)
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
        page2 = client.get("/api/certificates/275/billing?page=2&size=2", headers=auth).json()
        assert [p["payment_id"] for p in page2["payment_history"]["items"]] == ["ACH-1"]


def test_contact_update_goes_to_policy_and_comes_back_in_the_profile(tmp_path: Path) -> None:
    with portal(tmp_path, seed=True) as client:
        auth = log_in(client, "demo", DEMO_PASSWORD)
        before = client.get("/api/profile", headers=auth).json()
        assert before["personal"]["government_id"] == "***-**-3456"
        assert before["personal"]["date_of_birth"] == "1983-11-01"
        contact = {
            "address": {"street": ["7 Harbor Way", "Apt 2"], "city": "Mystic", "state": "CT",
                        "zip_code": "06355"},
            "phones": {"cell": "860-555-0177", "home": "860-555-0178"},
            "preferred_contact_method": "Email",
            "emails": ["avery.new@example.com", "avery.work@example.com"],
        }  # fmt: skip
        updated = client.put("/api/profile", json=contact, headers=auth)
        assert updated.status_code == 200, updated.text
        assert updated.json()["contact"]["address"]["city"] == "Mystic"  # read your own write
        detail = client.get("/api/certificates/0000100001", headers=auth).json()
        assert detail["owner_address"]["street"] == ["7 Harbor Way", "Apt 2"]
        bad = client.put("/api/profile", json={**contact, "emails": ["not-an-email"]}, headers=auth)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"].startswith("emails")
        bad_zip = {**contact, "address": {**contact["address"], "zip_code": "6355"}}
        response = client.put("/api/profile", json=bad_zip, headers=auth)
        assert response.status_code == 422
        assert "zip_code" in response.json()["detail"]
        assert client.get("/api/profile", headers=auth).json()["contact"]["address"][
            "zip_code"
        ] == ("06355")


def test_the_demo_data_of_the_guide_survives_a_restart(tmp_path: Path) -> None:
    with portal(tmp_path, seed=True) as client:
        auth = log_in(client, "demo", DEMO_PASSWORD)
        body = client.get("/api/certificates/0000100001/billing?size=2", headers=auth).json()
        insurance = client.get("/api/certificates", headers=auth).json()
        detail = client.get("/api/certificates/0000100001", headers=auth).json()
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
    groups = {g["product_name"]: g["certificates"] for g in insurance["products"]}
    whole_life = groups["Harborview@Work Whole Life"][0]
    claims_certificate = groups["Harborview@Work Critical Illness"][0]
    assert claims_certificate["actions"][-1]["label"] == "View Claims"
    assert (whole_life["certificate_number"], whole_life["coverage_amount"]) == (
        "0000100001",
        "12137.00",
    )
    info = detail["information"]
    assert (info["status"], info["net_cash_value"], info["last_payment_date"]) == (
        "Reduced Paid Up",
        "2641.82",
        "2024-01-25",
    )
    assert detail["benefits"][0]["status"] == "Reduced Paid Up"
    assert detail["benefits"][0]["net_benefit_value"] == "2612.49"

    with portal(tmp_path, seed=True) as client:  # run again: same data, not loaded twice
        auth = log_in(client, "demo", DEMO_PASSWORD)
        again = client.get("/api/certificates/100001/billing?size=2", headers=auth).json()
        assert again == body
        # demo2's certificate is not demo's: 404, as if it did not exist
        assert client.get("/api/certificates/100002/billing", headers=auth).status_code == 404
        auth2 = log_in(client, "demo2", DEMO_PASSWORD)
        assert client.get("/api/certificates/100002/billing", headers=auth2).status_code == 200


def test_log_out_revokes_the_session(tmp_path: Path) -> None:
    with portal(tmp_path, seed=True) as client:
        response = client.post("/api/session", json={"user_id": "demo", "password": DEMO_PASSWORD})
        assert response.status_code == 201
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
        auth = {"Authorization": f"Bearer {response.json()['token']}"}
        assert client.get("/api/certificates", headers=auth).status_code == 200
        assert client.delete("/api/session", headers=auth).status_code == 204
        assert client.get("/api/certificates", headers=auth).status_code == 401
        wrong = client.post("/api/session", json={"user_id": "demo", "password": "nope-nope-1!"})
        unknown = client.post("/api/session", json={"user_id": "nobody", "password": "x-y-z-1!"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()


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
    with portal(tmp_path, seed=True) as client:
        auth = log_in(client, "demo", DEMO_PASSWORD)
        response = client.get(f"/api/certificates/0000100001/billing?{query}", headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_unknown_certificate_is_404(tmp_path: Path) -> None:
    with portal(tmp_path, seed=True) as client:
        auth = log_in(client, "demo", DEMO_PASSWORD)
        for number in ("0000100009", "12345678901", "abc"):
            response = client.get(f"/api/certificates/{number}/billing", headers=auth)
            assert response.status_code == 404
            assert "not found" in response.json()["detail"]
