"""Which upstream facts make which documents: one `Trigger` line per (event, document type).

A trigger names the contract it reacts to, the document type (whose template is in
`pdf.TEMPLATES`), a `compose` function that turns the event and what is on file about the
certificate into the template's input, the inbox description (letters only: the domain drops
it for other types, see `domain.description_for`), when one contract makes different
documents, `when`: which of its events make this one, and `dated`: the document's date when
the event carries its own business date (a statement's issue date, a default's date) — else
the event's `occurred_at` date. Billing's documents are dated by billing's dates so that the
inbox, the PDF and "the most recent statement" agree even when cycles run late or catch up.
Claims' issue adds EOBs and denial letters with one line here and one template each
(subscribing `consumers.SUBSCRIBED_TOPICS` to their topic if it is new).

| contract (topic)                      | document          | template                   |
|---------------------------------------|-------------------|----------------------------|
| CertificateIssued (policy)            | certificate       | pdf/certificate.py         |
| ContactInformationUpdated (policy)    | letter            | pdf/letter.py              |
| StatementIssued "billing" (billing)   | bill              | pdf/statement.py           |
| StatementIssued "annual" (billing)    | annual_statement  | pdf/statement.py           |
| PremiumDefaulted (billing)            | notice            | pdf/notice.py              |
| ClaimIssued (claims)                  | eob               | pdf/claims.py              |
| ClaimDenied (claims)                  | denial_letter     | pdf/claims.py              |

EOBs are always mailed (`preferences.MAIL_ONLY`; a copy is in the portal inbox). Claims'
documents are dated by the claim's issue / denial date. The portal relates a claim to its EOB /
denial letter by the deterministic document id (`domain.document_id_for` of the claims
event's `<aggregate id>:<version>` and the type), so neither document needs the claim number
in a contract field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.documents.certificates import CertificateOnFile
from services.documents.pdf import (
    BenefitLine,
    CertificateContent,
    DenialContent,
    EobContent,
    EobLine,
    LetterContent,
    PremiumDefaultContent,
    StatementContent,
    StatementLine,
)
from shared.contracts import billing, claims, policy
from shared.contracts.envelope import IntegrationEvent

Compose = Callable[[Any, CertificateOnFile, date], Any]


@dataclass(frozen=True)
class Trigger:
    contract: type[IntegrationEvent]
    document_type: str
    compose: Compose
    description: str | None = None
    when: Callable[[Any], bool] | None = None
    dated: Callable[[Any], date] | None = None

    def applies_to(self, event: Any) -> bool:
        return self.when is None or self.when(event)


def certificate_at_issue(
    event: policy.CertificateIssued, on_file: CertificateOnFile, created_on: date
) -> CertificateContent:
    return CertificateContent(
        certificate_number=event.certificate_number,
        product_name=event.product_name,
        owner_name=f"{event.owner.first_name} {event.owner.last_name}".strip(),
        effective_date=event.effective_date,
        premium=event.premium,
        payment_frequency=event.payment_frequency.value,
        payment_method=event.payment_method.value,
        status=event.status,
        issued_on=created_on,
        benefits=tuple(
            BenefitLine(
                product_name=b.product_name,
                status=b.status,
                effective_date=b.effective_date,
                coverage_amount=b.coverage_amount,
                insureds=tuple(f"{i.first_name} {i.last_name}".strip() for i in b.insureds),
            )
            for b in event.benefits
        ),
    )


CONTACT_CHANGE = "Contact information change confirmation"


def contact_change_confirmation(
    event: policy.ContactInformationUpdated, on_file: CertificateOnFile, created_on: date
) -> Any:
    address = event.contact.address
    place = ", ".join(p for p in (address.city, address.state) if p)  # "" once erased
    first = "We have updated the contact information on file for your certificate. " + (
        f"Your mailing address is now in {place}. Correspondence we mail to you will go to "
        "this address."
        if place
        else "Correspondence we mail to you will go to the address on file."
    )
    return LetterContent(
        certificate_number=event.certificate_number,
        owner_name=on_file.owner_name,
        created_on=created_on,
        description=CONTACT_CHANGE,
        title="Confirmation of your contact information change",
        paragraphs=(
            first,
            "If you did not make this change, please call Harborview Mutual Customer Service "
            "right away.",
        ),
    )


def statement(
    event: billing.StatementIssued, on_file: CertificateOnFile, created_on: date
) -> StatementContent:
    """A billing statement or an annual statement (the document is dated its issue date)."""
    return StatementContent(
        certificate_number=event.certificate_number,
        owner_name=on_file.owner_name,
        statement_id=event.statement_id,
        issued_on=event.issued_on,
        period_start=event.period_start,
        period_end=event.period_end,
        premium=event.premium,
        payment_frequency=event.payment_frequency.value,
        amount_due=event.amount_due,
        due_date=event.due_date,
        paid_to_date=event.paid_to_date,
        billed_to_date=event.billed_to_date,
        total_paid=event.total_paid,
        lines=tuple(
            StatementLine(
                transaction_date=line.transaction_date,
                apply_date=line.apply_date,
                description=line.description,
                amount=line.amount,
            )
            for line in event.lines
        ),
    )


def premium_default_notice(
    event: billing.PremiumDefaulted, on_file: CertificateOnFile, created_on: date
) -> PremiumDefaultContent:
    return PremiumDefaultContent(
        certificate_number=event.certificate_number,
        owner_name=on_file.owner_name,
        created_on=created_on,
        amount_due=event.amount_due,
        due_date=event.due_date,
        grace_ended_on=event.grace_ended_on,
        paid_to_date=event.paid_to_date,
    )


def _patient_name(patient: claims.Patient) -> str:
    return f"{patient.first_name} {patient.last_name}".strip()


def explanation_of_benefits(
    event: claims.ClaimIssued, on_file: CertificateOnFile, created_on: date
) -> EobContent:
    totals = event.totals
    return EobContent(
        certificate_number=event.certificate_number,
        owner_name=on_file.owner_name,
        claim_number=event.claim_number,
        issued_on=event.issued_on,
        patient_name=_patient_name(event.patient),
        provider=event.provider,
        service_date=event.service_date,
        paid_to=event.paid_to,
        amount_claimed=totals.amount_claimed,
        excluded_amount=totals.excluded_amount,
        deductible_applied=totals.deductible_applied,
        coinsurance_copay=totals.coinsurance_copay,
        other_carrier_paid=totals.other_carrier_paid,
        patient_responsibility=totals.patient_responsibility,
        total_amount_paid=totals.total_amount_paid,
        lines=tuple(
            EobLine(
                date_of_service=line.date_of_service,
                type_of_service=line.type_of_service,
                amount_claimed=line.amount_claimed,
                excluded_amount=line.excluded_amount,
                benefit_amount=line.benefit_amount,
            )
            for line in event.lines
        ),
    )


CLAIM_DENIAL = "Claim denial"


def claim_denial_letter(
    event: claims.ClaimDenied, on_file: CertificateOnFile, created_on: date
) -> DenialContent:
    return DenialContent(
        certificate_number=event.certificate_number,
        owner_name=on_file.owner_name,
        claim_number=event.claim_number,
        denied_on=event.denied_on,
        status=event.status,
        reason=event.reason,
        patient_name=_patient_name(event.patient),
        provider=event.provider,
        service_date=event.service_date,
        submitted_amount=event.submitted_amount,
        description=CLAIM_DENIAL,
    )


def _statement_type(kind: str) -> Callable[[Any], bool]:
    return lambda event: event.statement_type == kind


TRIGGERS: list[Trigger] = [
    Trigger(policy.CertificateIssued, "certificate", certificate_at_issue),
    Trigger(
        policy.ContactInformationUpdated, "letter", contact_change_confirmation, CONTACT_CHANGE
    ),
    Trigger(
        billing.StatementIssued,
        "bill",
        statement,
        when=_statement_type("billing"),
        dated=lambda event: event.issued_on,
    ),
    Trigger(
        billing.StatementIssued,
        "annual_statement",
        statement,
        when=_statement_type("annual"),
        dated=lambda event: event.issued_on,
    ),
    Trigger(
        billing.PremiumDefaulted,
        "notice",
        premium_default_notice,
        dated=lambda event: event.defaulted_on,
    ),
    Trigger(
        claims.ClaimIssued, "eob", explanation_of_benefits, dated=lambda event: event.issued_on
    ),
    Trigger(
        claims.ClaimDenied,
        "denial_letter",
        claim_denial_letter,
        CLAIM_DENIAL,
        dated=lambda event: event.denied_on,
    ),
]
