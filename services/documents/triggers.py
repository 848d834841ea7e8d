"""Which upstream facts make which documents: one `Trigger` line per (event, document type).

A trigger names the contract it reacts to, the document type (whose template is in
`pdf.TEMPLATES`), a `compose` function that turns the event and what is on file about the
certificate into the template's input, and the inbox description (letters only). Billing and
claims issues add bills, statements, EOBs and denial letters with one line here and one
template each (subscribing `consumers.SUBSCRIBED_TOPICS` to their topic if it is new).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.documents.certificates import CertificateOnFile
from services.documents.pdf import BenefitLine, CertificateContent, LetterContent
from shared.contracts import policy
from shared.contracts.envelope import IntegrationEvent

Compose = Callable[[Any, CertificateOnFile, date], Any]


@dataclass(frozen=True)
class Trigger:
    contract: type[IntegrationEvent]
    document_type: str
    compose: Compose
    description: str | None = None


def certificate_at_issue(
    event: policy.CertificateIssued, on_file: CertificateOnFile, created_on: date
) -> CertificateContent:
    return CertificateContent(
        certificate_number=event.certificate_number,
        product_name=event.product_name,
        owner_name=f"{event.owner.first_name} {event.owner.last_name}",
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
                insureds=tuple(f"{i.first_name} {i.last_name}" for i in b.insureds),
            )
            for b in event.benefits
        ),
    )


CONTACT_CHANGE = "Contact information change confirmation"


def contact_change_confirmation(
    event: policy.ContactInformationUpdated, on_file: CertificateOnFile, created_on: date
) -> Any:
    address = event.contact.address
    return LetterContent(
        certificate_number=event.certificate_number,
        owner_name=on_file.owner_name,
        created_on=created_on,
        description=CONTACT_CHANGE,
        title="Confirmation of your contact information change",
        paragraphs=(
            "We have updated the contact information on file for your certificate. Your "
            f"mailing address is now in {address.city}, {address.state}. Correspondence we "
            "mail to you will go to this address.",
            "If you did not make this change, please call Harborview Mutual Customer Service "
            "right away.",
        ),
    )


TRIGGERS: list[Trigger] = [
    Trigger(policy.CertificateIssued, "certificate", certificate_at_issue),
    Trigger(
        policy.ContactInformationUpdated, "letter", contact_change_confirmation, CONTACT_CHANGE
    ),
]
