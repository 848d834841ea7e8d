"""Claim Inquiry and Claim Details of the demo owner through HTTP: the guide's four claims,
the visibility rule (a spouse's and an adult child's claims and EOBs stay hidden), the EOB
link and the "not available" message."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.portal.demo import DEMO_PASSWORD
from tests.e2e.test_embedded_http import log_in, portal

pytestmark = pytest.mark.embedded


def test_claims_of_the_guide_and_the_visibility_rule(tmp_path: Path) -> None:
    with portal(tmp_path, seed=True) as client:
        auth = log_in(client, "demo", DEMO_PASSWORD)
        inquiry = client.get("/api/claims", headers=auth)
        assert inquiry.status_code == 200, inquiry.text
        rows = inquiry.json()["claims"]
        assert [(r["service_date"], r["submitted_amount"], r["check_total"], r["status"])
                for r in rows] == [
            ("2024-07-04", "175.00", "175.00", "Issued"),
            ("2024-01-25", "2.00", "0.00", "Paid Not Issued"),
            ("2023-11-05", "175.00", "175.00", "Issued"),
            ("2023-11-02", "200.00", "200.00", "Issued"),
        ]  # fmt: skip
        pending_eob = rows[1]["eob"]
        assert pending_eob["available"] is False and "not available" in pending_eob["message"]
        eob = rows[2]["eob"]
        assert eob["available"] is True
        pdf = client.get(eob["href"], headers=auth)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

        detail = client.get("/api/claims/C000000102", headers=auth).json()
        assert detail["summary"]["status"] == "Issued"
        assert detail["summary"]["status_date"] == "2024-01-25"
        assert [(line["type_of_service"], line["benefit_amount"]) for line in detail["lines"]] == [
            ("Urgent Care or Emer Physician Treatment", "125.00"),
            ("X-Ray", "50.00"),
        ]
        assert detail["previous_claim"] and detail["next_claim"]

        for hidden in ("C000000105", "C000000106"):  # the spouse's, the adult child's
            assert client.get(f"/api/claims/{hidden}", headers=auth).status_code == 404
        eobs = client.get("/api/documents?type=eob", headers=auth).json()
        assert eobs["total"] == 3  # their EOBs are not in the owner's inbox either
        assert client.get("/api/claims?service_date=01/25/2024", headers=auth).status_code == 422
        other = log_in(client, "demo2", DEMO_PASSWORD)
        assert client.get("/api/claims/C000000102", headers=other).status_code == 404
