"""Contracts published by the documents service on `documents.events`.

Document types (DESIGN.md §5): certificate, bill, notice, annual_statement, letter, eob,
denial_letter. Delivery methods: Portal (eDelivery: an email notification, never with the
document attached) or Mail (printed and mailed). Notification addresses travel only in the
owner's preferences (as policy's contact information does), never with a document — and
sealed with the owner's `personal` key (DeliveryPreferencesChanged v2; [] once shredded).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.types import CertificateNumber
from shared.contracts.upcasting import upcaster
from shared.personal_data import PERSONAL
from shared.sealing import Rule, owner

TOPIC = "documents.events"

DocumentType = Literal[
    "certificate", "bill", "notice", "annual_statement", "letter", "eob", "denial_letter"
]
DOCUMENT_TYPES: tuple[str, ...] = DocumentType.__args__  # type: ignore[attr-defined]
DeliveryMethod = Literal["Portal", "Mail"]


class _DocumentsEvent(IntegrationEvent):
    producer: ClassVar[str] = "documents"


class DocumentGenerated(_DocumentsEvent):
    event_type: ClassVar[str] = "DocumentGenerated"
    certificate_number: CertificateNumber
    document_id: UUID
    owner_party_id: UUID
    document_type: DocumentType
    description: str | None = None
    created_on: date
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=1)
    delivery_method: DeliveryMethod


class DocumentOpened(_DocumentsEvent):
    event_type: ClassVar[str] = "DocumentOpened"
    certificate_number: CertificateNumber
    document_id: UUID
    opened_at: AwareDatetime


class NotificationSent(_DocumentsEvent):
    event_type: ClassVar[str] = "NotificationSent"
    certificate_number: CertificateNumber
    document_id: UUID
    sent_at: datetime
    recipients: int = Field(ge=1)


class DocumentMailed(_DocumentsEvent):
    """For the print vendor's feed: this document goes to the address on file."""

    event_type: ClassVar[str] = "DocumentMailed"
    certificate_number: CertificateNumber
    document_id: UUID
    document_type: DocumentType
    mailed_on: date


class Preference(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    document_type: DocumentType
    method: DeliveryMethod
    emails: list[EmailStr] = Field(default_factory=list, max_length=5)


class DeliveryPreferencesChanged(_DocumentsEvent):
    """v2: each preference's `emails` travel sealed with the owner's `personal` key (the
    same fields as v1, whose payloads upcast unchanged)."""

    event_type: ClassVar[str] = "DeliveryPreferencesChanged"
    schema_version: ClassVar[int] = 2
    personal: ClassVar[tuple[Rule, ...]] = (
        Rule("preferences[].emails", owner("owner_party_id"), PERSONAL, []),
    )
    certificate_number: CertificateNumber
    owner_party_id: UUID
    preferences: list[Preference]


@upcaster("DeliveryPreferencesChanged", from_version=1)
def _preferences_changed_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data)  # the emails of a v1 payload are not sealed: opened as they are


EVENTS: tuple[type[IntegrationEvent], ...] = (
    DocumentGenerated,
    DocumentOpened,
    NotificationSent,
    DocumentMailed,
    DeliveryPreferencesChanged,
)
