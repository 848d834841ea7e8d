"""Bills, annual statements and premium default notices made from billing's events through the
real consumer core and event-sourced sink: one document per trigger, its PDF with the figures,
delivered by the owner's preference (Mail by default; Portal: one notification email)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid5

import pytest

from services.documents.application import Selection
from services.documents.domain import document_id_for
from services.documents.main import documents_consumer
from services.documents.notifications import notification_key
from services.documents.pdf import render
from services.documents.pdf.statement import StatementContent, StatementLine
from services.documents.triggers import statement
from shared.contracts import billing
from shared.contracts.envelope import Envelope
from shared.settings import Settings
from tests.unit.test_documents_support import (
    AVERY,
    BLAKE,
    Owner,
    Upstream,
    consumer_of,
    documents,
    make_documents,
    of_type,
    pdf_text,
    published,
)

TOPIC = "billing.events"
ACCOUNTS = UUID("3e5b8f0c-2d7a-4c1e-8f6b-9a0d1c2e3f44")
# Billing recorded them two days after the dates they carry (a late or catching-up cycle).
OCCURRED = datetime(2024, 5, 12, 7, 30, tzinfo=UTC)


def statement_issued(
    owner: Owner = AVERY, statement_type: str = "billing", amount_due: str = "44.00"
) -> billing.StatementIssued:
    annual = statement_type == "annual"
    return billing.StatementIssued(
        certificate_number=owner.certificate_number,
        statement_id=f"S-{statement_type}-1",
        statement_type=statement_type,
        period_start=date(2023, 12, 1) if annual else date(2024, 4, 10),
        period_end=date(2024, 11, 30) if annual else date(2024, 5, 9),
        issued_on=date(2024, 5, 10),
        premium=Decimal("44.00"),
        payment_frequency="Monthly",
        amount_due=Decimal(amount_due),
        due_date=date(2024, 6, 1) if Decimal(amount_due) else None,
        paid_to_date=date(2024, 6, 1),
        billed_to_date=date(2024, 7, 1),
        total_paid=Decimal("1188.00") if annual else Decimal("88.00"),
        lines=[
            billing.StatementLine(
                transaction_date=date(2024, 4, 12),
                apply_date=date(2024, 4, 11),
                description="List Bill payment",
                amount=Decimal("44.00"),
            ),
            billing.StatementLine(
                transaction_date=date(2024, 5, 6),
                apply_date=date(2024, 5, 1),
                description="List Bill payment",
                amount=Decimal("44.00"),
            ),
        ],
    )


def premium_defaulted(owner: Owner = AVERY) -> billing.PremiumDefaulted:
    return billing.PremiumDefaulted(
        certificate_number=owner.certificate_number,
        due_date=date(2024, 4, 1),
        grace_ended_on=date(2024, 5, 2),
        defaulted_on=date(2024, 5, 3),
        paid_to_date=date(2024, 4, 1),
        amount_due=Decimal("1234.50"),
    )


class Billing:
    """Billing's side of its topic, into the same consumer as policy's events."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream  # policy's side, into the same consumer
        self.core = upstream.core
        self.offset = 0
        self.versions: dict[str, int] = {}

    def envelope(self, event) -> Envelope:
        number = event.certificate_number
        self.versions[number] = self.versions.get(number, 1) + 1
        return Envelope.wrap(
            event,
            aggregate_id=uuid5(ACCOUNTS, number),  # the billing account
            aggregate_version=self.versions[number],
            occurred_at=OCCURRED,
            certificate_number=number,
        )

    async def deliver(self, envelope: Envelope, offset: int | None = None) -> None:
        if offset is None:
            self.offset += 1
            offset = self.offset
        await self.core.handle(TOPIC, 0, offset, envelope.to_bytes(), {})

    async def publish(self, event) -> Envelope:
        envelope = self.envelope(event)
        await self.deliver(envelope)
        return envelope


async def issued_documents():
    app = make_documents()
    upstream = Upstream(app)
    await upstream.issue(AVERY)
    return app, Billing(upstream)


async def test_a_billing_statement_makes_one_bill_with_its_figures() -> None:
    app, billing_side = await issued_documents()

    envelope = await billing_side.publish(statement_issued())

    bill = documents(app)[-1]
    source = f"{envelope.aggregate_id}:{envelope.aggregate_version}"
    assert bill.id == document_id_for(source, "bill")
    assert (bill.document_type, bill.certificate_number) == ("bill", "0000100001")
    assert bill.owner_party_id == AVERY.party_id
    assert bill.document_date == date(2024, 5, 10)  # the statement's issue date
    assert bill.delivery_method == "Mail" and bill.description is None
    text = pdf_text(app.content_store.get(bill.content_hash))
    for expected in (
        "Harborview Mutual",
        "Premium Notice",
        "0000100001",
        "Avery Demo",
        "Amount due",
        "44.00 Monthly",
        "06/01/2024",  # due date and paid-to date
        "07/01/2024",  # billed-to date
        "04/12/2024",  # the payment lines
        "05/06/2024",
        "List Bill payment",
        "88.00",  # total paid
    ):
        assert expected in text, expected
    # The owner's name and nothing else personal: no address on a bill.
    assert "12 Elm Street" not in text and "Tolland" not in text
    mailed = of_type(app, "DocumentMailed")
    assert [(e["document_type"], e["mailed_on"]) for e in mailed][-1] == ("bill", "2024-05-10")


async def test_an_annual_statement_makes_one_annual_statement() -> None:
    app, billing_side = await issued_documents()

    await billing_side.publish(statement_issued(statement_type="annual", amount_due="0.00"))

    [_, statement] = documents(app)
    assert statement.document_type == "annual_statement"
    text = pdf_text(app.content_store.get(statement.content_hash))
    for expected in (
        "Annual Statement",
        "0000100001",
        "Certificate year",
        "12/01/2023 - 11/30/2024",
        "1,188.00",  # total paid in the year
        "44.00 Monthly",
        "04/12/2024",
        "List Bill payment",
    ):
        assert expected in text, expected
    assert "Amount due" not in text  # nothing is due


async def test_a_premium_default_makes_one_notice() -> None:
    app, billing_side = await issued_documents()

    await billing_side.publish(premium_defaulted())

    notice = documents(app)[-1]
    assert (notice.document_type, notice.description) == ("notice", None)
    assert notice.document_date == date(2024, 5, 3)  # the default's date
    text = pdf_text(app.content_store.get(notice.content_hash))
    for expected in (
        "Harborview Mutual",
        "0000100001",
        "Avery Demo",
        "1,234.50",  # the unpaid premium
        "04/01/2024",  # its due date (and the paid-to date)
        "05/02/2024",  # the end of the grace period
        "What happens next",
        "Reduced Paid Up",
        "lapsed",
    ):
        assert expected in text, expected


@pytest.mark.parametrize(
    ("event", "document_type"),
    [
        (statement_issued(), "bill"),
        (statement_issued(statement_type="annual"), "annual_statement"),
        (premium_defaulted(), "notice"),
    ],
)
async def test_a_billing_trigger_delivered_twice_still_makes_one_document(
    event, document_type
) -> None:
    app, billing_side = await issued_documents()
    envelope = await billing_side.publish(event)

    # Redelivered at the same offset, re-published at a new offset and on another partition.
    await billing_side.deliver(envelope, offset=1)
    await billing_side.deliver(envelope)
    await billing_side.core.handle(TOPIC, 2, 5, envelope.to_bytes(), {})

    assert [d.document_type for d in documents(app)] == ["certificate", document_type]
    assert len(of_type(app, "DocumentMailed")) == 2
    assert billing_side.core.dead_letters.letters == []


async def test_a_portal_preference_for_bills_queues_one_notification() -> None:
    app, billing_side = await issued_documents()
    app.set_preferences("0000100001", AVERY.party_id, [Selection("bill", "Portal", ("a@x.io",))])

    envelope = await billing_side.publish(statement_issued())
    await billing_side.deliver(envelope)  # re-published: still one bill, one email
    await billing_side.publish(premium_defaulted())  # notices stay Mail

    bill, notice = documents(app)[-2:]
    assert (bill.delivery_method, notice.delivery_method) == ("Portal", "Mail")
    assert app.queue_notifications() == 1
    assert app.queue_notifications() == 0
    [mail] = app.mail.find([notification_key(bill.id, 0)])
    assert mail.recipient == "a@x.io"
    assert [e["document_type"] for e in of_type(app, "DocumentMailed")] == [
        "certificate",
        "notice",
    ]


async def test_a_bill_for_a_certificate_not_yet_on_file_waits_for_its_certificate() -> None:
    """Documents is behind on policy.events: BLAKE's bill arrives before BLAKE's certificate."""
    app, billing_side = await issued_documents()

    early = await billing_side.publish(statement_issued(BLAKE))
    await billing_side.deliver(early, offset=billing_side.offset)  # redelivered while parked
    assert billing_side.core.dead_letters.letters == []
    assert [d.certificate_number for d in documents(app)] == ["0000100001"]

    await billing_side.upstream.issue(BLAKE)

    assert [(d.document_type, d.certificate_number) for d in documents(app)] == [
        ("certificate", "0000100001"),
        ("certificate", BLAKE.certificate_number),
        ("bill", BLAKE.certificate_number),
    ]
    bill = documents(app)[-1]
    assert bill.id == document_id_for(f"{early.aggregate_id}:{early.aggregate_version}", "bill")
    await billing_side.deliver(early)  # re-published after its release: still one bill
    assert len(documents(app)) == 3
    assert billing_side.core.dead_letters.letters == []


async def test_a_release_interrupted_by_a_crash_finishes_when_the_consumer_restarts() -> None:
    app, billing_side = await issued_documents()
    # Before the crash: the bill is parked, then the certificate is recorded but the process
    # dies before releasing it (here: a sink that does not release).
    billing_side.core.sink.releases = {}
    await billing_side.publish(statement_issued(BLAKE))
    await billing_side.upstream.issue(BLAKE)
    assert [d.document_type for d in documents(app)] == ["certificate", "certificate"]

    billing_side.core = consumer_of(app)
    await billing_side.publish(premium_defaulted())  # the restarted consumer's first event

    assert [(d.document_type, d.certificate_number) for d in documents(app)] == [
        ("certificate", "0000100001"),
        ("certificate", BLAKE.certificate_number),
        ("bill", BLAKE.certificate_number),
        ("notice", "0000100001"),
    ]


async def test_other_billing_events_only_move_the_position_on() -> None:
    app, billing_side = await issued_documents()
    received = billing.PaymentReceived(
        certificate_number="0000100001",
        payment_id="p-1",
        transaction_date=date(2024, 5, 6),
        apply_date=date(2024, 5, 1),
        amount=Decimal("44.00"),
        payment_method="List Bill",
        payment_frequency="Monthly",
        suspense_balance=Decimal("44.00"),
    )
    await billing_side.publish(received)
    assert len(documents(app)) == 1
    assert billing_side.core.sink.position(TOPIC, 0) == 1
    assert len(published(app)) == 2  # the certificate's Generated and Mailed


def test_the_documents_consumer_follows_policy_and_billing() -> None:
    core = documents_consumer(make_documents(), Settings(TOPIC_PREFIX="t1."))
    assert core.topics == [
        "t1.policy.events",
        "t1.billing.events",
        "t1.claims.events",
        "t1.identity.events",
    ]


def test_a_long_statement_spans_pages_and_still_renders() -> None:
    event = statement_issued(statement_type="annual")
    line = event.lines[0]
    content = StatementContent(
        certificate_number="0000100001",
        owner_name="Avery Demo",
        statement_id="S-1",
        issued_on=event.issued_on,
        period_start=event.period_start,
        period_end=event.period_end,
        premium=event.premium,
        payment_frequency="Weekly",
        amount_due=Decimal("0.00"),
        due_date=None,
        paid_to_date=event.paid_to_date,
        billed_to_date=event.billed_to_date,
        total_paid=Decimal("17600.00"),
        lines=tuple(line for _ in range(400)),  # the contract's maximum
    )
    text = pdf_text(render("annual_statement", content))
    assert "17,600.00" in text and "Page 2" in text


def test_a_bill_shows_reversals_and_says_when_nothing_is_due() -> None:
    class OnFile:
        owner_name = "Avery Demo"

    event = statement_issued(amount_due="0.00")
    content = statement(event, OnFile(), event.issued_on)  # type: ignore[arg-type]
    returned = StatementLine(
        date(2024, 4, 20), date(2024, 4, 11), "Returned: NSF", Decimal("-44.00")
    )
    text = pdf_text(render("bill", replace(content, lines=(*content.lines, returned))))
    assert "Returned: NSF" in text and "-44.00" in text
    assert "Nothing is due" in text and "No payment is due" in text

    text = pdf_text(render("bill", replace(content, lines=())))
    assert "No payments were received since your last statement." in text
