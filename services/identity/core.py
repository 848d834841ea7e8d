"""What every identity command shares: collaborators, look-ups, retried updates, mail.

The command methods live in `registration.py`, `logins.py`, `recovery.py` and the privacy
office's `privacy/commands.py` (one method per command) and are assembled into
`IdentityApplication` in `application.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, EventSourcedLog
from eventsourcing.persistence import IntegrityError
from sqlalchemy.engine import Engine

from services.identity.credentials import Credentials
from services.identity.domain import OwnerClaim, UserAccount, account_id_for, claim_id_for
from services.identity.drafts import RegistrationDrafts
from services.identity.mails import Letter
from services.identity.privacy.records import PrivacyLog
from services.identity.privacy.throttle import VerificationThrottle
from services.identity.registry import OwnerRegistry
from services.identity.sessions import Session, SessionLogged, session_id_for, session_log_id
from services.identity.sessions import token_digest as digest_of
from services.identity.tables import IdentityTable, identity_engine
from services.identity.upgrade import upgrade
from shared.eventstore import ServiceApplication
from shared.mail import MailOutbox
from shared.personal_data import KeyedHash
from shared.sqldb import create_tables

Clock = Callable[[], datetime]
MAX_CONFLICT_RETRIES = 5
MAX_PRESENTED_LENGTH = 200  # user IDs and tokens longer than this are not looked up


def utc_now() -> datetime:
    return datetime.now(UTC)


class IdentityCore(ServiceApplication):
    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        keyed_hash: KeyedHash,
        engine: Engine | None = None,
        credentials: Credentials | None = None,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(env)
        self.engine = engine or identity_engine()
        create_tables(IdentityTable.metadata, self.engine)
        upgrade(self.engine, keyed_hash)
        self.keyed_hash = keyed_hash
        self.credentials = credentials or Credentials()
        self.clock = clock
        self.registry = OwnerRegistry(self.engine)
        self.drafts = RegistrationDrafts(self.engine)
        self.mail = MailOutbox(self.engine, clock)
        self.privacy_log = PrivacyLog(self.engine)
        self.verification_throttle = VerificationThrottle(self.engine)

    # --- look-ups -----------------------------------------------------------------------

    def find_account(self, user_id: str) -> UserAccount | None:
        if not user_id or len(user_id) > MAX_PRESENTED_LENGTH:
            return None
        return self._get(account_id_for(user_id), UserAccount)

    def get_account(self, account_id: UUID) -> UserAccount:
        return self.repository.get(account_id)

    def claim_of(self, party_id: UUID) -> OwnerClaim | None:
        return self._get(claim_id_for(party_id), OwnerClaim)

    def session_for(self, token: str | None) -> Session | None:
        """The session a presented token opened, if any (ended and expired ones included)."""
        if not token or len(token) > MAX_PRESENTED_LENGTH:
            return None
        return self._get(session_id_for(digest_of(token)), Session)

    def session_log(self, account_id: UUID) -> EventSourcedLog[SessionLogged]:
        return EventSourcedLog(self.events, session_log_id(account_id), SessionLogged)

    def live_sessions(self, account_id: UUID, now: datetime) -> list[Session]:
        """Sessions not ended nor expired: the session log read back to the first expired
        entry (every session lives as long, so older entries have expired too)."""
        sessions = []
        for entry in self.session_log(account_id).get(desc=True):
            if entry.expires_at <= now:
                break
            session = self.repository.get(entry.session_id)
            if session.is_live(now):
                sessions.append(session)
        return sessions

    def _get(self, aggregate_id: UUID, kind: type) -> Any:
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    # --- writing ------------------------------------------------------------------------

    def update_account(
        self, account_id: UUID, change: Callable[[UserAccount], Sequence[Any] | None]
    ) -> UserAccount:
        """Load, change, save with whatever `change` returns (other aggregates, log entries)
        in one transaction; on a concurrent write, again from a fresh load."""
        for _ in range(MAX_CONFLICT_RETRIES):
            account = self.repository.get(account_id)
            others = change(account) or ()
            try:
                self.save(account, *others)
            except IntegrityError:
                continue
            return account
        raise RuntimeError("the account kept changing concurrently; try again")

    def send(self, account: UserAccount, letter: Letter) -> None:
        """Queue an email to the account's address, right after the events that caused it
        were stored (keyed by the account's version: a retried command queues it once)."""
        self.mail.enqueue(
            dedup_key=f"identity:{account.id}:{account.version}",
            recipient=account.email,
            subject=letter.subject,
            body=letter.body,
        )
