"""Contracts published by the documents service on `documents.events`.

Document types (DESIGN.md §5): certificate, bill, notice, annual_statement, letter, eob,
denial_letter. Delivery methods: Portal (eDelivery: an email notification, never with the
document attached) or Mail (printed and mailed). Notification addresses travel only in the
owner's preferences (as policy's contact information does), never with a document.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.types import CertificateNumber

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
    event_type: ClassVar[str] = "DeliveryPreferencesChanged"
    certificate_number: CertificateNumber
    owner_party_id: UUID
    preferences: list[Preference]


EVENTS: tuple[type[IntegrationEvent], ...] = (
    DocumentGenerated,
    DocumentOpened,
    NotificationSent,
    DocumentMailed,
    DeliveryPreferencesChanged,
)
