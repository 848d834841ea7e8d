"""Contracts published by the identity service on `identity.events`.

Never here: passwords, their hashes, security answers, one-time codes, session tokens (only a
SHA-256 digest of a token travels, so the portal can recognise a presented token).
The envelope's certificate number is the one the account was registered with.

The user ID is personal: it travels sealed under the owner's personal key (`personal`, v2 of
UserRegistered; v1 payloads, with the user ID in clear, are upcast as they are and still
parse). Once that key is shredded, it reads as "".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.contracts import privacy
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.types import CertificateNumber
from shared.contracts.upcasting import upcaster
from shared.personal_data import PERSONAL
from shared.sealing import Rule, owner

TOPIC = "identity.events"

DateFormat = Literal["mm/dd/yyyy", "dd/mm/yyyy", "yyyy-mm-dd"]
Language = Literal["English", "Spanish"]


class _IdentityEvent(IntegrationEvent):
    producer: ClassVar[str] = "identity"


class UserRegistered(_IdentityEvent):
    event_type: ClassVar[str] = "UserRegistered"
    schema_version: ClassVar[int] = 2
    personal: ClassVar[tuple[Rule, ...]] = (
        Rule("user_id", owner("party_id"), PERSONAL, erased=""),
    )
    certificate_number: CertificateNumber
    account_id: UUID
    user_id: str
    party_id: UUID
    preferred_language: Language
    preferred_date_format: DateFormat


class PreferencesChanged(_IdentityEvent):
    event_type: ClassVar[str] = "PreferencesChanged"
    certificate_number: CertificateNumber
    account_id: UUID
    preferred_language: Language
    preferred_date_format: DateFormat


class SessionStarted(_IdentityEvent):
    event_type: ClassVar[str] = "SessionStarted"
    certificate_number: CertificateNumber
    account_id: UUID
    party_id: UUID
    session_id: UUID
    token_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    expires_at: AwareDatetime


class SessionEnded(_IdentityEvent):
    event_type: ClassVar[str] = "SessionEnded"
    certificate_number: CertificateNumber
    account_id: UUID
    session_id: UUID
    # account_closed: a request to delete closed the account.
    reason: Literal["logout", "rotated", "password_changed", "locked", "expired", "account_closed"]


@upcaster("UserRegistered", from_version=1)
def _user_registered_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v2 only seals the user ID on the wire: a v1 payload (clear user ID) is the same."""
    return dict(data)


class AccountLocked(_IdentityEvent):
    event_type: ClassVar[str] = "AccountLocked"
    certificate_number: CertificateNumber
    account_id: UUID
    locked_until: datetime


class PasswordChanged(_IdentityEvent):
    event_type: ClassVar[str] = "PasswordChanged"
    certificate_number: CertificateNumber
    account_id: UUID


EVENTS: tuple[type[IntegrationEvent], ...] = (
    UserRegistered,
    PreferencesChanged,
    SessionStarted,
    SessionEnded,
    AccountLocked,
    PasswordChanged,
    # The privacy office's events travel on the same topic (`privacy.py`).
    *privacy.EVENTS,
)
