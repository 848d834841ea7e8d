"""Billing/Payment Detail, complete: reversed payments stay in the history and roll the paid-to
date back, the last payment date ignores them, and the most recent statement links to the
owner's newest bill or annual statement. Fed by the real projections (tests/portal_harness.py):
payments through billing's real outbox; PaymentReversed and documents' DocumentGenerated as
their relays would publish them (billing does not record reversals yet)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4, uuid5

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.portal.api import create_portal_app
from services.portal.gateway import CommandGateway
from services.portal.queries import billing_detail
from services.portal.readmodels import BillingView
from shared.clock import Clock
from shared.contracts import billing, documents
from shared.contracts.envelope import Envelope
from tests.factories import party_id
from tests.portal_harness import PortalHarness

NUMBER = "0000100001"
DOCUMENTS = UUID("9b1f6d2e-5a3c-4e7d-8f0a-1c2b3d4e5f66")


class Publisher:
    """Contract events into the harness's portal consumer, on a partition of their own (the
    harness delivers the real outboxes on partition 0), each from a fresh aggregate."""

    def __init__(self, harness: PortalHarness) -> None:
        self.harness = harness
        self.offsets: dict[str, int] = {}

    def publish(self, topic: str, event) -> None:
        envelope = Envelope.wrap(
            event,
            aggregate_id=uuid4(),
            aggregate_version=1,
            occurred_at=datetime.now(UTC),
            certificate_number=event.certificate_number,
        )
        self.offsets[topic] = self.offsets.get(topic, 0) + 1
        core = self.harness.core
        asyncio.run(core.handle(topic, 1, self.offsets[topic], envelope.to_bytes(), {}))

    def reverse(self, payment_id: str, on: date, paid_to: date, suspense: str = "0.00") -> None:
        self.publish(
            "billing.events",
            billing.PaymentReversed(
                certificate_number=NUMBER,
                payment_id=payment_id,
                reversed_on=on,
                reason="NSF",
                amount=Decimal("44.00"),
                periods_reversed=1,
                paid_to_date=paid_to,
                suspense_balance=Decimal(suspense),
            ),
        )

    def document(
        self, document_type: str, created_on: date, number: str = NUMBER, owner: str = "avery"
    ) -> str:
        document_id = uuid5(DOCUMENTS, f"{number}/{document_type}/{created_on}/{owner}")
        self.publish(
            "documents.events",
            documents.DocumentGenerated(
                certificate_number=number,
                document_id=document_id,
                owner_party_id=UUID(party_id(owner)),
                document_type=document_type,
                created_on=created_on,
                content_hash="0" * 64,
                size_bytes=1234,
                delivery_method="Portal",
            ),
        )
        return str(document_id)


@pytest.fixture
def harness(tmp_path) -> PortalHarness:
    h = PortalHarness(tmp_path)
    h.issue(NUMBER, owner="avery", product_code="WL")
    h.issue("0000100003", owner="avery", product_code="AC", premium="18.50")
    return h


@pytest.fixture
def publisher(harness: PortalHarness) -> Publisher:
    return Publisher(harness)


def pay(harness: PortalHarness, payment_id: str, amount: str, on: date) -> None:
    harness.billing.record_payment(
        NUMBER, amount=Decimal(amount), transaction_date=on, payment_id=payment_id
    )
    harness.deliver()


def detail(harness: PortalHarness, client: TestClient) -> dict:
    token = harness.sign_in("avery", NUMBER)
    response = client.get(
        f"/api/certificates/{NUMBER}/billing", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def client(harness: PortalHarness) -> TestClient:
    app = create_portal_app(
        harness.engine, CommandGateway({}), harness.vault.open, clock=Clock(date(2024, 11, 16))
    )
    return TestClient(app)


def test_a_reversed_payment_stays_in_the_history_and_rolls_paid_to_back(
    harness: PortalHarness, publisher: Publisher, client: TestClient
) -> None:
    # Two monthly premiums paid: paid to 02/01/2016; then 20.00 waiting in suspense.
    pay(harness, "p-jan", "44.00", date(2016, 1, 5))
    pay(harness, "p-feb", "44.00", date(2016, 2, 3))
    pay(harness, "p-part", "20.00", date(2016, 2, 10))
    assert detail(harness, client)["payor"]["paid_to_date"] == "2016-02-01"

    # February's payment comes back NSF: paid-to rolls back a month.
    publisher.reverse("p-feb", date(2016, 2, 20), paid_to=date(2016, 1, 1), suspense="20.00")

    body = detail(harness, client)
    assert body["payor"]["paid_to_date"] == "2016-01-01"
    assert body["billing"]["suspense_balance"] == "20.00"
    rows = {r["payment_id"]: r for r in body["payment_history"]["items"]}
    assert {k: r["state"] for k, r in rows.items()} == {
        "p-jan": "Applied",
        "p-feb": "Reversed",
        "p-part": "In Suspense",
    }
    assert rows["p-feb"]["payment_amount"] == "44.00"  # the row stays, with its amount
    assert body["payment_history"]["total"] == 3
    # Certificate Detail reads the same billing view.
    token = harness.sign_in("avery", NUMBER)
    info = client.get(
        f"/api/certificates/{NUMBER}", headers={"Authorization": f"Bearer {token}"}
    ).json()["information"]
    assert info["paid_to_date"] == "2016-01-01"
    assert harness.dead.letters == []


def test_the_last_payment_date_ignores_reversed_payments(
    harness: PortalHarness, publisher: Publisher
) -> None:
    pay(harness, "p-jan", "44.00", date(2016, 1, 5))
    pay(harness, "p-feb", "44.00", date(2016, 2, 3))

    # Reversing the latest payment: the last payment date goes back to January's.
    publisher.reverse("p-feb", date(2016, 2, 20), paid_to=date(2016, 1, 1))
    with Session(harness.engine) as s:
        assert s.get(BillingView, NUMBER).last_payment_date == date(2016, 1, 5)

    # Reversing an older one leaves the latest one alone... and with none left, there is none.
    pay(harness, "p-mar", "44.00", date(2016, 3, 2))
    publisher.reverse("p-jan", date(2016, 3, 10), paid_to=date(2016, 1, 1))
    with Session(harness.engine) as s:
        assert s.get(BillingView, NUMBER).last_payment_date == date(2016, 3, 2)
    publisher.reverse("p-mar", date(2016, 3, 20), paid_to=date(2015, 12, 1))
    with Session(harness.engine) as s:
        view = s.get(BillingView, NUMBER)
        assert (view.last_payment_date, view.paid_to_date) == (None, date(2015, 12, 1))


def test_a_back_dated_payment_does_not_move_the_last_payment_date_back(
    harness: PortalHarness,
) -> None:
    pay(harness, "p-late", "44.00", date(2024, 1, 25))
    harness.billing.record_payment(
        NUMBER,
        amount=Decimal("44.00"),
        transaction_date=date(2024, 2, 6),
        apply_date=date(2023, 12, 31),
        payment_id="p-back",
    )
    harness.deliver()
    with Session(harness.engine) as s:
        assert s.get(BillingView, NUMBER).last_payment_date == date(2024, 1, 25)


def test_the_latest_statement_is_the_newest_bill_or_annual_statement(
    harness: PortalHarness, publisher: Publisher, client: TestClient
) -> None:
    assert detail(harness, client)["latest_statement"] is None

    publisher.document("bill", date(2024, 4, 10))
    annual = publisher.document("annual_statement", date(2024, 6, 1))
    publisher.document("bill", date(2024, 5, 10))
    # Not statements, another certificate of the owner's, or another owner's: never picked.
    publisher.document("notice", date(2024, 7, 1))
    publisher.document("certificate", date(2024, 7, 2))
    publisher.document("bill", date(2024, 8, 1), number="0000100003")
    publisher.document("bill", date(2024, 9, 1), owner="blake")

    body = detail(harness, client)
    assert body["latest_statement"] == {
        "document_id": annual,
        "document_type": "annual_statement",
        "created_on": "2024-06-01",
        "href": f"/api/documents/{annual}",
    }
    # The same link as in My Documents (opening it goes through /api/documents/{id}).
    token = harness.sign_in("avery", NUMBER)
    inbox = client.get(
        "/api/documents", params={"type": "annual_statement"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()  # fmt: skip
    assert inbox["items"][0]["href"] == body["latest_statement"]["href"]

    # A bill the same day as the annual statement is the most recent statement.
    bill = publisher.document("bill", date(2024, 6, 1))
    assert detail(harness, client)["latest_statement"]["document_id"] == bill
    assert harness.dead.letters == []


def test_the_query_answers_the_latest_statement_for_the_back_office_too(
    harness: PortalHarness, publisher: Publisher
) -> None:
    bill = publisher.document("bill", date(2024, 5, 10))
    with Session(harness.engine) as s:
        answer = billing_detail(s, NUMBER)  # no owner given: the certificate's owner
    assert answer.latest_statement is not None
    assert answer.latest_statement.document_id == bill
