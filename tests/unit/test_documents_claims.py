"""EOBs and claim denial letters made from claims' events through the real consumer core and
event-sourced sink: one document per trigger, dated by the claim's date, its PDF with the claim
number and amounts; EOBs always by Mail."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid5

import pytest

from services.documents.application import Selection
from services.documents.domain import document_id_for
from shared.contracts import claims
from shared.contracts.envelope import Envelope
from tests.unit.test_documents_support import (
    AVERY,
    BLAKE,
    Upstream,
    documents,
    make_documents,
    of_type,
    pdf_text,
)

TOPIC = "claims.events"
CLAIMS = UUID("6c2d1e4f-7a8b-4c9d-8e0f-1a2b3c4d5e6f")
OCCURRED = datetime(2024, 2, 3, 7, 30, tzinfo=UTC)
PATIENT = claims.Patient(
    insured_id="I2", first_name="Casey", last_name="Demo", relationship="Child"
)


def _line(line_id: str, kind: str, amount: str) -> claims.ClaimLine:
    return claims.ClaimLine(
        line_id=line_id,
        date_of_service=date(2023, 11, 9),
        type_of_service=kind,
        amount_claimed=Decimal(amount),
        excluded_amount=Decimal("0.00"),
        benefit_amount=Decimal(amount),
    )


def claim_issued(number: str = AVERY.certificate_number) -> claims.ClaimIssued:
    zero = Decimal("0.00")
    return claims.ClaimIssued(
        certificate_number=number,
        claim_number="C000000123",
        issued_on=date(2024, 1, 25),
        patient=PATIENT,
        provider="Universal Provider",
        service_date=date(2023, 11, 9),
        paid_to="Avery Demo",
        lines=[
            _line("L1", "Urgent Care or Emer Physician Treatment", "125.00"),
            _line("L2", "X-Ray", "50.00"),
        ],
        totals=claims.ClaimTotals(
            amount_claimed=Decimal("175.00"),
            excluded_amount=zero,
            deductible_applied=zero,
            coinsurance_copay=zero,
            other_carrier_paid=zero,
            patient_responsibility=zero,
            total_amount_paid=Decimal("175.00"),
        ),
    )


def claim_denied(status: str = "Not Covered") -> claims.ClaimDenied:
    return claims.ClaimDenied(
        certificate_number=AVERY.certificate_number,
        claim_number="C000000124",
        denied_on=date(2024, 1, 26),
        status=status,
        reason="The service is not a covered benefit of the certificate.",
        patient=PATIENT,
        provider="Universal Provider",
        service_date=date(2024, 1, 2),
        submitted_amount=Decimal("2.00"),
    )


def envelope(event, version: int = 7) -> Envelope:
    return Envelope.wrap(
        event,
        aggregate_id=uuid5(CLAIMS, event.claim_number),
        aggregate_version=version,
        occurred_at=OCCURRED,
        certificate_number=event.certificate_number,
    )


async def issued() -> tuple:
    app = make_documents()
    upstream = Upstream(app)
    await upstream.issue(AVERY)
    return app, upstream


async def publish(upstream: Upstream, event, offset: int = 1, partition: int = 0) -> Envelope:
    env = envelope(event)
    await upstream.core.handle(TOPIC, partition, offset, env.to_bytes(), {})
    return env


async def test_an_issued_claim_makes_one_mailed_eob_with_its_lines_and_totals() -> None:
    app, upstream = await issued()
    # Even "all by Portal": EOBs are always mailed.
    app.set_preferences("0000100001", AVERY.party_id, [Selection("all", "Portal", ("a@x.io",))])

    env = await publish(upstream, claim_issued())

    eob = documents(app)[-1]
    assert eob.id == document_id_for(f"{env.aggregate_id}:{env.aggregate_version}", "eob")
    assert (eob.document_type, eob.certificate_number, eob.description) == (
        "eob",
        "0000100001",
        None,
    )
    assert eob.document_date == date(2024, 1, 25)  # the issue date, not occurred_at
    assert eob.delivery_method == "Mail"
    assert [(e["document_type"], e["mailed_on"]) for e in of_type(app, "DocumentMailed")][-1] == (
        "eob",
        "2024-01-25",
    )
    text = pdf_text(app.content_store.get(eob.content_hash))
    for expected in (
        "Explanation of Benefits",
        "C000000123",
        "Casey Demo",
        "Universal Provider",
        "11/09/2023",
        "Urgent Care",  # (the cell wraps)
        "X-Ray",
        "125.00",
        "50.00",
        "175.00",
        "Claim Summary",
        "Paid to",
        "All currency values expressed in DOLLAR (US)",
    ):
        assert expected in text, expected


@pytest.mark.parametrize("status", ["Denied", "Not Covered"])
async def test_a_denied_claim_makes_one_denial_letter_with_a_description(status: str) -> None:
    app, upstream = await issued()

    env = await publish(upstream, claim_denied(status))

    letter = documents(app)[-1]
    source = f"{env.aggregate_id}:{env.aggregate_version}"
    assert letter.id == document_id_for(source, "denial_letter")
    assert (letter.document_type, letter.description) == ("denial_letter", "Claim denial")
    assert letter.document_date == date(2024, 1, 26)
    text = pdf_text(app.content_store.get(letter.content_hash))
    for expected in (
        "C000000124",
        status,
        "not a covered benefit",
        "Casey Demo",
        "2.00",
        "appeal",
        "1-844-975-7522",
        "Avery Demo",
    ):
        assert expected in text, expected


@pytest.mark.parametrize(
    ("event", "document_type"), [(claim_issued(), "eob"), (claim_denied(), "denial_letter")]
)
async def test_a_claims_trigger_delivered_twice_still_makes_one_document(
    event, document_type
) -> None:
    app, upstream = await issued()
    await publish(upstream, event, offset=1)
    await publish(upstream, event, offset=1)  # redelivered
    await publish(upstream, event, offset=2)  # re-published
    await publish(upstream, event, offset=9, partition=3)

    assert [d.document_type for d in documents(app)] == ["certificate", document_type]
    assert upstream.core.dead_letters.letters == []


async def test_other_claims_events_make_no_document_and_unknown_certificates_wait() -> None:
    app, upstream = await issued()
    status = claims.ClaimStatusChanged(
        certificate_number="0000100001",
        claim_number="C000000123",
        previous_status=None,
        status="Pending",
        status_date=date(2024, 1, 3),
        totals=claim_issued().totals,
    )
    await publish(upstream, status, offset=1)
    await publish(upstream, claim_issued(BLAKE.certificate_number), offset=2)

    assert [d.document_type for d in documents(app)] == ["certificate"]
    assert upstream.core.dead_letters.letters == []  # BLAKE's EOB waits for BLAKE's certificate
