"""Claims' events → Claim Inquiry and Claim Details (claims, their lines, status history).

Every projector upserts only what its event knows (claims.events is not ordered with the
other topics; one claim's events do arrive in order, so the later event's values win). The
status history is keyed by the claim event's aggregate version, so a redelivery rewrites the
same row.

Claim ↔ document: documents gives the EOB (from ClaimIssued) and the denial letter (from
ClaimDenied) a deterministic id, `uuid5(DOCUMENT_NAMESPACE, "<aggregate id>:<version>|<type>")`
of the triggering envelope (`services/documents/domain.py`, `document_id_for`; pinned by a
unit test). The claim row keeps that id; the query shows the link once a document with that id
is in the owner's inbox (DocumentGenerated may arrive before or after the claim event).
"""

from __future__ import annotations

from uuid import UUID, uuid5

from sqlalchemy.orm import Session

from services.portal.readmodels import ClaimLineView, ClaimStatusView, ClaimView
from shared.contracts import claims
from shared.contracts.envelope import Envelope

# Documents' namespace for document ids (services/documents/domain.py: DOCUMENT_NAMESPACE).
DOCUMENT_NAMESPACE = UUID("5d3f0f0e-8d1c-4c61-9a43-1f6f2b7d9e21")


def document_id_of(envelope: Envelope, document_type: str) -> str:
    """The id documents gives the document of `document_type` this claims event triggers."""
    source = f"{envelope.aggregate_id}:{envelope.aggregate_version}"
    return str(uuid5(DOCUMENT_NAMESPACE, f"{source}|{document_type}"))


def _claim(session: Session, claim_number: str, certificate_number: str) -> ClaimView:
    claim = session.get(ClaimView, claim_number)
    if claim is None:
        claim = ClaimView(claim_number=claim_number, certificate_number=certificate_number)
        session.add(claim)
    return claim


def _patient(claim: ClaimView, patient: claims.Patient) -> None:
    claim.patient_insured_id = patient.insured_id
    claim.patient_first_name = patient.first_name
    claim.patient_last_name = patient.last_name
    claim.relationship = patient.relationship


def _totals(claim: ClaimView, totals: claims.ClaimTotals) -> None:
    for name, value in totals.model_dump().items():
        setattr(claim, name, value)


def _line(session: Session, claim_number: str, line: claims.ClaimLine) -> None:
    session.merge(
        ClaimLineView(
            claim_number=claim_number,
            line_id=line.line_id,
            date_of_service=line.date_of_service,
            type_of_service=line.type_of_service,
            amount_claimed=line.amount_claimed,
            excluded_amount=line.excluded_amount,
            benefit_amount=line.benefit_amount,
            reason=line.reason,
        )
    )


def claim_submitted(session: Session, _: Envelope, event: claims.ClaimSubmitted) -> None:
    claim = _claim(session, event.claim_number, event.certificate_number)
    claim.certificate_number = event.certificate_number
    claim.group_number = event.group_number
    claim.account_number = event.account_number
    claim.member_id = event.member_id
    _patient(claim, event.patient)
    claim.provider = event.provider
    claim.service_date = event.service_date
    claim.submitted_amount = event.submitted_amount
    claim.currency = event.currency
    claim.submitted_on = event.submitted_on
    if claim.status is None:
        claim.status, claim.status_date = "Pending", event.submitted_on


def line_adjudicated(session: Session, _: Envelope, event: claims.ClaimLineAdjudicated) -> None:
    claim = _claim(session, event.claim_number, event.certificate_number)
    _totals(claim, event.totals)
    _line(session, event.claim_number, event.line)


def status_changed(session: Session, envelope: Envelope, event: claims.ClaimStatusChanged) -> None:
    claim = _claim(session, event.claim_number, event.certificate_number)
    claim.status, claim.status_date = event.status, event.status_date
    _totals(claim, event.totals)
    if event.paid_to is not None:
        claim.paid_to = event.paid_to
    session.merge(
        ClaimStatusView(
            claim_number=event.claim_number,
            sequence=envelope.aggregate_version,
            status=event.status,
            status_date=event.status_date,
        )
    )


def claim_issued(session: Session, envelope: Envelope, event: claims.ClaimIssued) -> None:
    claim = _claim(session, event.claim_number, event.certificate_number)
    _patient(claim, event.patient)
    claim.provider, claim.service_date = event.provider, event.service_date
    claim.status, claim.status_date = "Issued", event.issued_on
    claim.paid_to, claim.currency = event.paid_to, event.currency
    _totals(claim, event.totals)
    for line in event.lines:
        _line(session, event.claim_number, line)
    claim.eob_document_id = document_id_of(envelope, "eob")


def claim_denied(session: Session, envelope: Envelope, event: claims.ClaimDenied) -> None:
    claim = _claim(session, event.claim_number, event.certificate_number)
    _patient(claim, event.patient)
    claim.provider, claim.service_date = event.provider, event.service_date
    claim.submitted_amount = event.submitted_amount
    claim.status, claim.status_date = event.status, event.denied_on
    claim.correspondence_document_id = document_id_of(envelope, "denial_letter")


PROJECTORS = {
    claims.ClaimSubmitted: claim_submitted,
    claims.ClaimLineAdjudicated: line_adjudicated,
    claims.ClaimStatusChanged: status_changed,
    claims.ClaimIssued: claim_issued,
    claims.ClaimDenied: claim_denied,
}
