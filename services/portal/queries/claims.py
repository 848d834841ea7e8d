"""Claim Inquiry and Claim Details, with the guide's visibility rule.

Visibility (the guide, My Insurance – Claim Inquiry: "Member can only view claims where the
member is the patient or any dependents under the age of 18 are the patient"), evaluated at
query time with the portal's clock: the signed-in owner sees a claim only when its certificate
is the owner's AND the patient is the owner (relationship "Owner") or a dependent ("Child" or
"Other") under 18 today. A spouse's claim, or an adult dependent's, is never shown. The
dependent's age comes from the sealed date of birth of the insured on the certificate
(`InsuredView`, any benefit row); if it cannot be opened (shredded) the claim is hidden. Under
18 ⇔ today < the 18th birthday; a 29 February birthday's 18th birthday in a common year is
1 March (the day the person has lived 18 full years; the same rule as most US statutes).
A hidden claim answers 404 like a missing one.

Filters: `patient` is the patient's insured id, or their full name "First Last" (case
insensitive); `status` exact; `service_date` exact; `certificate` a certificate number of the
owner's. Newest service date first (then the claim number, descending); previous/next claim
in Claim Details follow the same order over every visible claim of the owner.

EOB / claim correspondence links: the claim's EOB (ClaimIssued) or denial letter (ClaimDenied)
by its deterministic document id (`projections/claims.py`), available once it is in the
owner's inbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.portal.queries.common import NotFound, Out, owned_certificate
from services.portal.readmodels import (
    CertificateView,
    ClaimLineView,
    ClaimStatusView,
    ClaimView,
    DocumentView,
    InsuredView,
)
from shared.contracts.types import Money

OpenSealed = Callable[[str], str | None]
ADULT_AGE = 18
DEPENDENTS = ("Child", "Other")
CURRENCY_NAMES = {"USD": "DOLLAR (US)"}
EOB_NOT_AVAILABLE = "The Explanation of Benefits is not available for this claim."
CORRESPONDENCE_NOT_AVAILABLE = "Claim correspondence is not available for this claim."
ZERO = Decimal("0.00")


def eighteenth_birthday(born: date) -> date:
    """The day one turns 18; for 29 February in a common year, 1 March."""
    try:
        return born.replace(year=born.year + ADULT_AGE)
    except ValueError:  # 29 February, and the 18th year is a common year
        return date(born.year + ADULT_AGE, 3, 1)


def is_minor(born: date, today: date) -> bool:
    return today < eighteenth_birthday(born)


class _Visibility:
    """Which of the owner's claims the owner may see today (DOBs opened once per patient)."""

    def __init__(self, session: Session, today: date, open_sealed: OpenSealed) -> None:
        self.session, self.today, self.open_sealed = session, today, open_sealed
        self.minors: dict[tuple[str, str], bool] = {}

    def visible(self, claim: ClaimView) -> bool:
        if claim.service_date is None or claim.patient_insured_id is None:
            return False  # not fully projected yet
        if claim.relationship == "Owner":
            return True
        if claim.relationship not in DEPENDENTS:
            return False  # a spouse's claim is never shown
        key = (claim.certificate_number, claim.patient_insured_id)
        if key not in self.minors:
            self.minors[key] = self._minor(*key)
        return self.minors[key]

    def _minor(self, certificate_number: str, insured_id: str) -> bool:
        insured = self.session.scalars(
            select(InsuredView)
            .where(
                InsuredView.certificate_number == certificate_number,
                InsuredView.insured_id == insured_id,
            )
            .order_by(InsuredView.benefit_id)
            .limit(1)
        ).first()
        if insured is None:
            return False
        opened = self.open_sealed(insured.date_of_birth_sealed)
        if not opened:
            return False  # shredded: the age cannot be known
        return is_minor(date.fromisoformat(opened), self.today)


def visible_claims(
    session: Session, owner_party_id: str, today: date, open_sealed: OpenSealed
) -> list[ClaimView]:
    """Every claim the owner may see today, newest service date first."""
    numbers = select(CertificateView.certificate_number).where(
        CertificateView.owner_party_id == owner_party_id
    )
    claims = session.scalars(
        select(ClaimView)
        .where(ClaimView.certificate_number.in_(numbers))
        .order_by(ClaimView.service_date.desc(), ClaimView.claim_number.desc())
    ).all()
    rule = _Visibility(session, today, open_sealed)
    return [c for c in claims if rule.visible(c)]


CLAIM_DOCUMENT_TYPES = ("eob", "denial_letter")


def visible_claim_documents(
    session: Session, owner_party_id: str, today: date, open_sealed: OpenSealed
) -> set[str]:
    """The EOBs and denial letters the owner may see: those of claims the owner may see.

    Deny by default: claims' and documents' events travel on different topics, so an EOB can
    reach the portal before its claim does; until the claim is known (and visible) the
    document stays out of the inbox and opening it answers 404."""
    ids: set[str] = set()
    for claim in visible_claims(session, owner_party_id, today, open_sealed):
        ids.update(d for d in (claim.eob_document_id, claim.correspondence_document_id) if d)
    return ids


class DocumentLink(Out):
    available: bool
    document_id: str | None = None
    href: str | None = None
    message: str | None = None


def _link(
    session: Session, document_id: str | None, owner_party_id: str, missing: str
) -> DocumentLink:
    document = session.get(DocumentView, document_id) if document_id else None
    if document is None or document.owner_party_id != owner_party_id:
        return DocumentLink(available=False, message=missing)
    return DocumentLink(
        available=True,
        document_id=document.document_id,
        href=f"/api/documents/{document.document_id}",
    )


def _links(session: Session, claim: ClaimView, owner: str) -> tuple[DocumentLink, DocumentLink]:
    return (
        _link(session, claim.eob_document_id, owner, EOB_NOT_AVAILABLE),
        _link(session, claim.correspondence_document_id, owner, CORRESPONDENCE_NOT_AVAILABLE),
    )


def _name(claim: ClaimView) -> str:
    return f"{claim.patient_first_name or ''} {claim.patient_last_name or ''}".strip()


class ClaimRow(Out):
    claim_number: str
    patient_insured_id: str
    patient_name: str
    relationship: str
    certificate_number: str
    member_id: str | None
    provider: str | None
    service_date: date
    submitted_amount: Money | None
    check_total: Money
    status: str | None
    status_date: date | None
    href: str
    eob: DocumentLink
    correspondence: DocumentLink


class PatientOption(Out):
    insured_id: str
    name: str


class ClaimInquiry(Out):
    claims: list[ClaimRow]
    page: int
    size: int
    total: int
    patients: list[PatientOption]
    statuses: list[str]


def _row(session: Session, claim: ClaimView, owner: str) -> ClaimRow:
    eob, correspondence = _links(session, claim, owner)
    assert claim.service_date is not None and claim.patient_insured_id is not None
    return ClaimRow(
        claim_number=claim.claim_number,
        patient_insured_id=claim.patient_insured_id,
        patient_name=_name(claim),
        relationship=claim.relationship or "",
        certificate_number=claim.certificate_number,
        member_id=claim.member_id,
        provider=claim.provider,
        service_date=claim.service_date,
        submitted_amount=claim.submitted_amount,
        # The guide: a claim paid but not issued shows check totals of 0.00 — no check yet.
        check_total=(
            claim.total_amount_paid
            if claim.status == "Issued" and claim.total_amount_paid is not None
            else ZERO
        ),
        status=claim.status,
        status_date=claim.status_date,
        href=f"/api/claims/{claim.claim_number}",
        eob=eob,
        correspondence=correspondence,
    )


def _matches_patient(claim: ClaimView, patient: str) -> bool:
    wanted = patient.strip().casefold()
    return wanted in ((claim.patient_insured_id or "").casefold(), _name(claim).casefold())


def claim_inquiry(
    session: Session,
    owner_party_id: str,
    today: date,
    open_sealed: OpenSealed,
    *,
    certificate_number: str | None = None,
    patient: str | None = None,
    status: str | None = None,
    service_date: date | None = None,
    page: int = 1,
    size: int = 10,
) -> ClaimInquiry:
    if certificate_number is not None:
        owned_certificate(session, certificate_number, owner_party_id)
    claims = visible_claims(session, owner_party_id, today, open_sealed)
    if certificate_number is not None:
        claims = [c for c in claims if c.certificate_number == certificate_number]
    patients = {c.patient_insured_id: _name(c) for c in claims}  # the filter's choices
    statuses = sorted({c.status for c in claims if c.status})
    if patient:
        claims = [c for c in claims if _matches_patient(c, patient)]
    if status:
        claims = [c for c in claims if c.status == status]
    if service_date:
        claims = [c for c in claims if c.service_date == service_date]
    shown = claims[(page - 1) * size : page * size]
    return ClaimInquiry(
        claims=[_row(session, c, owner_party_id) for c in shown],
        page=page,
        size=size,
        total=len(claims),
        patients=[PatientOption(insured_id=i, name=n) for i, n in patients.items() if i],
        statuses=statuses,
    )


class ClaimSummary(Out):
    status: str | None
    status_date: date | None
    other_carrier_paid: Money | None
    total_amount_paid: Money | None
    paid_to: str | None
    amount_claimed: Money | None
    excluded_amount: Money | None
    deductible_applied: Money | None
    coinsurance_copay: Money | None
    patient_responsibility: Money | None


class Patient(Out):
    insured_id: str
    name: str
    relationship: str


class StatusEntry(Out):
    status: str
    status_date: date


class ClaimLine(Out):
    line_id: str
    date_of_service: date
    type_of_service: str
    amount_claimed: Money
    excluded_amount: Money
    benefit_amount: Money
    reason: str | None


class ClaimDetail(Out):
    claim_number: str
    certificate_number: str
    group_number: str | None
    account_number: str | None
    member_id: str | None
    patient: Patient
    provider: str | None
    service_date: date
    submitted_amount: Money | None
    submitted_on: date | None
    currency: str
    currency_note: str
    summary: ClaimSummary
    status_history: list[StatusEntry]
    lines: list[ClaimLine]
    previous_claim: str | None
    next_claim: str | None
    eob: DocumentLink
    correspondence: DocumentLink


def claim_detail(
    session: Session,
    claim_number: str,
    owner_party_id: str,
    today: date,
    open_sealed: OpenSealed,
) -> ClaimDetail:
    claims = visible_claims(session, owner_party_id, today, open_sealed)
    numbers = [c.claim_number for c in claims]
    if claim_number not in numbers:
        raise NotFound(f"claim {claim_number} not found")
    at = numbers.index(claim_number)
    claim = claims[at]
    assert claim.service_date is not None and claim.patient_insured_id is not None
    history = session.scalars(
        select(ClaimStatusView)
        .where(ClaimStatusView.claim_number == claim_number)
        .order_by(ClaimStatusView.sequence)
    ).all()
    lines = session.scalars(
        select(ClaimLineView)
        .where(ClaimLineView.claim_number == claim_number)
        .order_by(ClaimLineView.date_of_service, ClaimLineView.line_id)
    ).all()
    eob, correspondence = _links(session, claim, owner_party_id)
    currency = claim.currency or "USD"
    return ClaimDetail(
        claim_number=claim.claim_number,
        certificate_number=claim.certificate_number,
        group_number=claim.group_number,
        account_number=claim.account_number,
        member_id=claim.member_id,
        patient=Patient(
            insured_id=claim.patient_insured_id,
            name=_name(claim),
            relationship=claim.relationship or "",
        ),
        provider=claim.provider,
        service_date=claim.service_date,
        submitted_amount=claim.submitted_amount,
        submitted_on=claim.submitted_on,
        currency=currency,
        currency_note=f"All currency values expressed in {CURRENCY_NAMES.get(currency, currency)}",
        summary=ClaimSummary.model_validate(claim),
        status_history=[StatusEntry.model_validate(h) for h in history],
        lines=[ClaimLine.model_validate(line) for line in lines],
        previous_claim=numbers[at - 1] if at > 0 else None,
        next_claim=numbers[at + 1] if at + 1 < len(numbers) else None,
        eob=eob,
        correspondence=correspondence,
    )
