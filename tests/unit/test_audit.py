"""Audit trails over in-memory stores: event ids as the outbox publishes them, reactions that
name the event they consumed, trace ids, ordering, and summaries without personal data."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest

from services.billing.application import BillingApplication
from services.billing.consumers import billing_sink
from services.billing.integration import to_integration as billing_contracts
from services.policy.application import PolicyApplication
from services.portal import audit
from services.portal.audit_stores import policy_mapping, read_store
from shared.contracts.envelope import Envelope
from shared.eventstore import caused_by
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.tracing import continued_span
from tests.factories import issue_kwargs

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class _NoDeadLetters:
    async def publish(self, *args: object) -> None:
        raise AssertionError(f"dead-lettered: {args}")


@pytest.fixture
def stores() -> tuple[PolicyApplication, BillingApplication, list[Envelope]]:
    """Policy issues 0000000042 (a traced command), billing opens its account by reacting to
    the published CertificateIssued, then records a payment (a batch)."""
    policy, billing = PolicyApplication(), BillingApplication()
    with continued_span("test command", TRACEPARENT), caused_by("command", "IssueCertificate"):
        policy.issue_certificate(**issue_kwargs("42"))
        policy.issue_certificate(**issue_kwargs("43", owner="blake"))
    records, _ = Outbox(policy, "policy.events", policy_mapping()).read(0)
    core = ConsumerCore(billing_sink(billing), ["policy.events"], _NoDeadLetters())  # type: ignore[arg-type]

    async def deliver() -> None:
        for record in records:
            await core.handle(
                "policy.events", 0, record.position, record.value, dict(record.headers)
            )

    asyncio.run(deliver())
    with caused_by("batch", "ListBillImport", actor="clerk-7"):
        billing.record_payment(
            "0000000042", amount=Decimal("44.00"), transaction_date=date(2024, 1, 5)
        )
    published = [Envelope.model_validate_json(r.value) for r in records]
    return policy, billing, published


def _records(policy: PolicyApplication, billing: BillingApplication) -> list:
    return read_store("policy", policy, policy_mapping()) + read_store(
        "billing", billing, billing_contracts
    )


def test_a_certificate_trail_across_policy_and_billing(stores) -> None:
    policy, billing, published = stores
    rows = audit.certificate_trail(_records(policy, billing), "42")

    assert [(r.time, r.service, r.version) for r in rows] == sorted(
        (r.time, r.service, r.version) for r in rows
    )
    assert {r.certificate_number for r in rows} == {"0000000042"}
    issued = next(r for r in rows if r.event == "Certificate.Issued")
    envelope = next(e for e in published if e.certificate_number == "0000000042")
    assert issued.event_type == "CertificateIssued"
    assert issued.event_id == str(envelope.event_id)  # the id downstream systems saw
    assert (issued.cause_kind, issued.cause_name, issued.trace_id) == (
        "command",
        "IssueCertificate",
        TRACE_ID,
    )
    opened = next(r for r in rows if r.event == "BillingAccount.Opened")
    assert (opened.cause_kind, opened.cause_name) == ("reaction", "billing:CertificateIssued")
    assert opened.cause_event == str(envelope.event_id)
    assert opened.trace_id == TRACE_ID  # the consumer continued the command's trace
    applied = next(r for r in rows if r.event_type == "PaymentApplied")
    assert (applied.cause_kind, applied.cause_name, applied.cause_actor) == (
        "batch",
        "ListBillImport",
        "clerk-7",
    )
    assert "paid_to_date=" in applied.summary
    # Private events are listed by field names; consumers' markers are not rows.
    index_entry = next(r for r in rows if r.event == "AccountLogged")
    assert index_entry.summary.startswith("fields: ") and index_entry.event_id.startswith(
        "billing:"
    )
    assert not any(r.event.startswith("ProcessedEvent") for r in rows)


def test_summaries_carry_no_personal_data(stores) -> None:
    policy, billing, _ = stores
    text = repr(audit.certificate_trail(_records(policy, billing), "42"))
    # The owner's (and insured's) date of birth, government ID, name, address, phone, email.
    for secret in ("1983-11-01", "123-45-6789", "Avery", "Tolland", "860-555-0101", "avery@"):
        assert secret not in text


def test_an_owner_trail_holds_only_their_certificates(stores) -> None:
    policy, billing, _ = stores
    records = _records(policy, billing)
    party = str(issue_kwargs("43", owner="blake")["owner"].party_id)
    rows = audit.owner_trail(records, party)
    assert {r.certificate_number for r in rows} == {"0000000043"}
    assert {"policy", "billing"} <= {r.service for r in rows}


def test_nothing_about_it_is_not_found(stores) -> None:
    records = _records(*stores[:2])
    with pytest.raises(audit.NotFound):
        audit.certificate_trail(records, "99")
    with pytest.raises(audit.NotFound):
        audit.claim_trail(records, "C000000001")
    with pytest.raises(audit.NotFound):
        audit.owner_trail(records, "nobody")


def test_trace_id_of_a_traceparent() -> None:
    assert audit.trace_id_of(TRACEPARENT) == TRACE_ID
    assert audit.trace_id_of(None) == audit.trace_id_of("garbage") == ""
