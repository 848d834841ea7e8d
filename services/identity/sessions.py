"""Sessions: one short-lived aggregate per log-in, known by the SHA-256 digest of its token.

- The token is `secrets.token_urlsafe(32)` (256 bits), handed to the caller once and never
  stored: the session's id is derived from the token's digest, so log-out and authentication
  find the session from a presented token without any lookup table.
- Sessions expire 8 hours after log-in (absolute; no event is recorded at expiry: readers
  compare `expires_at`). An idle timeout would need a write on every request.
- Each account has a session log (an `EventSourcedLog` of `SessionLogged` entries), so a
  password change can end every live session without the account itself recording log-ins.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, DomainEvent, event

SESSION_NAMESPACE = UUID("5b2f6c1e-9a4d-4e7b-8c3a-0d1e2f3a4b65")
SESSION_LOG_NAMESPACE = UUID("7c3e8d2f-1b5a-4f6c-9d4e-2a3b4c5d6e76")
SESSION_LIFETIME = timedelta(hours=8)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_id_for(digest: str) -> UUID:
    return uuid5(SESSION_NAMESPACE, digest)


def session_log_id(account_id: UUID) -> UUID:
    return uuid5(SESSION_LOG_NAMESPACE, str(account_id))


class Session(Aggregate):
    @staticmethod
    def create_id(token_digest: str, **_: Any) -> UUID:
        return session_id_for(token_digest)

    @event("Started")
    def __init__(
        self,
        token_digest: str,
        account_id: UUID,
        party_id: UUID,
        certificate_number: str,
        expires_at: datetime,
    ) -> None:
        self.token_digest = token_digest
        self.account_id = account_id
        self.party_id = party_id
        self.certificate_number = certificate_number
        self.expires_at = expires_at
        self.ended_reason: str | None = None

    @property
    def ended(self) -> bool:
        return self.ended_reason is not None

    def is_live(self, now: datetime) -> bool:
        return not self.ended and now < self.expires_at

    def end(self, reason: str) -> None:
        if not self.ended:
            self._ended(self.account_id, self.certificate_number, reason)

    @event("Ended")
    def _ended(self, account_id: UUID, certificate_number: str, reason: str) -> None:
        self.ended_reason = reason


class SessionLogged(DomainEvent):
    """An entry in an account's session log."""

    session_id: UUID
    expires_at: datetime
