"""Log-in, log-out, and what a session token allows (changing the preferences).

Against abuse: an unknown user ID, a wrong password and a locked account get the same answer
(`LoginRefused`, HTTP 401 with one message), each after one argon2 verification (a dummy hash
when there is no account or it is locked), so neither the answer nor its time tells whether a
user ID exists (a closed account answers the same). 5 wrong passwords in a row lock the
account for 15 minutes (`AccountLocked`; the owner gets an email); a success ends the streak.
A new 256-bit token at every log-in (`previous_token`, when the caller presents the one it
had, is ended as "rotated").
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from services.identity import mails
from services.identity.core import IdentityCore
from services.identity.domain import UserAccount
from services.identity.errors import LoginRefused, NotAuthenticated
from services.identity.registration import check_preferences
from services.identity.sessions import SESSION_LIFETIME, Session, new_token, token_digest


@dataclass(frozen=True)
class StartedSession:
    token: str
    session_id: UUID
    account_id: UUID
    party_id: UUID
    certificate_number: str
    expires_at: datetime


class SessionCommands(IdentityCore):
    def log_in(
        self, user_id: str, password: str, previous_token: str | None = None
    ) -> StartedSession:
        now = self.clock()
        account = self.find_account(user_id.strip())
        if account is None or account.closed or account.is_locked(now):
            self.credentials.waste_time(password)
            raise LoginRefused()
        if not self.credentials.verify_password(account.password_hash, password):
            self._count_failure(account.id, now)
            raise LoginRefused()
        return self._start_session(account.id, password, previous_token, now)

    def log_out(self, token: str) -> None:
        """End the session the token opened; unknown, ended or expired tokens: nothing."""
        session = self.session_for(token)
        if session is None or not session.is_live(self.clock()):
            return
        session.end("logout")
        with contextlib.suppress(IntegrityError):  # ended concurrently
            self.save(session)

    def authenticate(self, token: str | None) -> tuple[Session, UserAccount]:
        session = self.session_for(token)
        if session is None or not session.is_live(self.clock()):
            raise NotAuthenticated()
        account = self.get_account(session.account_id)
        if account.closed:
            raise NotAuthenticated()
        return session, account

    def change_preferences(
        self, token: str | None, *, preferred_language: str, preferred_date_format: str
    ) -> UserAccount:
        _, account = self.authenticate(token)
        check_preferences(preferred_language, preferred_date_format)

        def change(account: UserAccount) -> None:
            if (account.preferred_language, account.preferred_date_format) != (
                preferred_language,
                preferred_date_format,
            ):
                account.change_preferences(preferred_language, preferred_date_format)

        return self.update_account(account.id, change)

    def _count_failure(self, account_id: UUID, now: datetime) -> None:
        locked = []

        def change(account: UserAccount) -> None:
            locked.clear()
            if not account.is_locked(now) and account.fail_login(now):
                locked.append(account.locked_until)

        account = self.update_account(account_id, change)
        if locked:
            self.send(account, mails.account_locked(account.first_name, locked[0]))

    def _start_session(
        self, account_id: UUID, password: str, previous_token: str | None, now: datetime
    ) -> StartedSession:
        started = []

        def change(account: UserAccount) -> list:
            previous = self.session_for(previous_token)
            account.clear_failures()
            if self.credentials.needs_rehash(account.password_hash):
                account.rehash_password(self.credentials.hash_password(password))
            token = new_token()
            session = Session(
                token_digest=token_digest(token),
                account_id=account.id,
                party_id=account.party_id,
                certificate_number=account.certificate_number,
                expires_at=now + SESSION_LIFETIME,
            )
            entry = self.session_log(account.id).trigger_event(
                session_id=session.id, expires_at=session.expires_at
            )
            started[:] = [token, session]
            ended = []
            if previous and previous.account_id == account.id and previous.is_live(now):
                previous.end("rotated")
                ended.append(previous)
            return [session, entry, *ended]

        account = self.update_account(account_id, change)
        token, session = started
        return StartedSession(
            token=token,
            session_id=session.id,
            account_id=account.id,
            party_id=account.party_id,
            certificate_number=account.certificate_number,
            expires_at=session.expires_at,
        )
