"""Billing through the embedded system's HTTP only: a billing cycle makes a bill in the owner's
documents (emailed when the preference is Portal); a year later the annual statement, the
past-due notice and the lapse follow; a lapsed certificate takes no payment."""

from __future__ import annotations

import email
from pathlib import Path

import pytest

from services.portal.demo import DEMO_PASSWORD
from tests.e2e.test_embedded_http import eventually, log_in, portal

pytestmark = pytest.mark.embedded

NUMBER = "0000100002"  # demo2's Accident certificate: monthly 18.50, ACH/EFT


def test_bills_statements_notice_and_lapse(tmp_path: Path) -> None:
    with portal(tmp_path, seed=True) as client:
        auth = log_in(client, "demo2", DEMO_PASSWORD)
        paid_to = client.get(f"/api/certificates/{NUMBER}/billing", headers=auth).json()
        start_paid_to = paid_to["payor"]["paid_to_date"]
        chosen = client.put(
            "/api/documents/preferences",
            json={"certificate_number": NUMBER, "document_type": "bill", "method": "Portal",
                  "emails": ["robin@example.com"]},
            headers=auth,
        )  # fmt: skip
        assert chosen.status_code == 200, chosen.text

        # A billing cycle three weeks before the next due date sends the bill.
        cycle = client.post("/backoffice/billing/billing-cycles", json={"as_of": "2022-09-20"})
        assert cycle.status_code == 200, cycle.text

        def documents_of(kind: str) -> list:
            page = client.get(f"/api/documents?certificate={NUMBER}&type={kind}", headers=auth)
            return page.json()["items"]

        bill = eventually(lambda: documents_of("bill"))[0]
        assert bill["delivery_method"] == "Portal"
        pdf = client.get(bill["href"], headers=auth)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        mails = eventually(lambda: sorted((tmp_path / "mail").glob("*.eml")))
        notices = [email.message_from_bytes(m.read_bytes()) for m in mails]
        to_robin = [m for m in notices if "robin@example.com" in (m["To"] or "")]
        assert len(to_robin) == 1
        assert not any(part.get_filename() for part in to_robin[0].walk())

        # Nothing more is paid. At the next anniversary: the annual statement, the past-due
        # notice (the premium due at the paid-to date is long past its 31-day grace), and
        # policy lapses the Accident certificate (no cash value to keep it in force).
        cycle = client.post("/backoffice/billing/billing-cycles", json={"as_of": "2023-03-05"})
        assert cycle.status_code == 200, cycle.text
        eventually(lambda: documents_of("annual_statement"))
        eventually(lambda: documents_of("notice"))

        def status() -> str:
            return client.get(f"/api/certificates/{NUMBER}", headers=auth).json()["information"][
                "status"
            ]

        eventually(lambda: status() == "Lapsed")
        page = client.get(f"/api/certificates/{NUMBER}/billing", headers=auth).json()
        assert page["payor"]["status"] == "Lapsed"
        assert page["payor"]["paid_to_date"] == start_paid_to
        assert page["latest_statement"]["document_type"] in ("bill", "annual_statement")
        assert page["latest_statement"]["created_on"] == "2023-03-05"

        # A lapsed certificate takes no payment, and nothing is recorded.
        refused = client.post(
            f"/backoffice/billing/accounts/{NUMBER}/payments",
            json={"amount": "18.50", "transaction_date": "2023-03-06"},
        )
        assert refused.status_code == 422, refused.text
        again = client.get(f"/api/certificates/{NUMBER}/billing", headers=auth).json()
        assert again["payment_history"]["total"] == page["payment_history"]["total"]
