"""Privacy (CCPA) contracts, published by the identity service (the privacy office) on
`identity.events`.

- `PrivacyRequestUpdated`: a consumer request (to know, or to delete) about a person who holds
  a certificate, each time its status changes — what the portal shows the owner (status, the
  date it is due: 45 days after receipt). Requests that never matched a person stay in the
  identity service's own record (the 24-month log) and are not published.
- `PersonalDataErased`: a request to delete was carried out for a person. One event per
  certificate the person owns (the envelope's certificate number). Every service that keeps
  a copy of that person's data in clear (read models, documents, mail records) purges it on
  this event; the person's keys of the erased classes are already shredded in the key store,
  and those of the `retained` classes are kept until the date given, with the exemption.

Neither carries personal data: people are named by their party id only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.types import CertificateNumber

TOPIC = "identity.events"  # listed in `identity.EVENTS`, so registered with them

RequestKind = Literal["know", "delete"]
RequestStatus = Literal["received", "verified", "completed", "denied"]
KeyClass = Literal["personal", "servicing", "claims"]


class _PrivacyEvent(IntegrationEvent):
    producer: ClassVar[str] = "identity"


class Retained(BaseModel):
    """An exemption: the person's `key_class` data is kept until `until`, for `reason`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    key_class: KeyClass
    until: date
    reason: str = Field(min_length=1, max_length=400)


class PrivacyRequestUpdated(_PrivacyEvent):
    event_type: ClassVar[str] = "PrivacyRequestUpdated"
    certificate_number: CertificateNumber
    request_id: UUID
    party_id: UUID
    kind: RequestKind
    status: RequestStatus
    by_agent: bool = False
    received_at: AwareDatetime
    due_by: date
    completed_at: AwareDatetime | None = None
    # What the owner is told: the outcome in a sentence (no personal data).
    outcome: str | None = Field(default=None, max_length=400)


class PersonalDataErased(_PrivacyEvent):
    event_type: ClassVar[str] = "PersonalDataErased"
    certificate_number: CertificateNumber
    request_id: UUID
    party_id: UUID
    erased_at: datetime
    erased: list[KeyClass]
    retained: list[Retained] = Field(default_factory=list)


EVENTS: tuple[type[IntegrationEvent], ...] = (PrivacyRequestUpdated, PersonalDataErased)
