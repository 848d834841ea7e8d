"""The user account of a certificate owner, and the claim that makes an owner register once.

`UserAccount` is identified by its user ID (case-insensitively): two registrations choosing
the same user ID collide in the event store itself. `OwnerClaim` is identified by the owner
party: one account per owner party (the portal shows every certificate of the party, so a
second account for another certificate of the same owner would only duplicate the first).

What the account keeps: the argon2id hashes of its last 5 passwords (the current one last),
its security questions with argon2id hashes of the normalised answers, the consecutive failed
log-ins and the lock, and the password-reset code (hashed) with its expiry and attempts.
Successful log-ins are *not* recorded on the account (a `Session` aggregate each, see
`sessions.py`); only a failure streak, its clearing and locks are, so an account's history
grows with credential changes and attacks, not with use — and the application snapshots it
every 50 events in case of a long attack.

A request to delete closes the account (`Closed`): no log-in, no recovery, no session from
then on. Its personal fields (user ID, names, email, security questions) are sealed at rest
under the owner's personal key (`IdentityApplication.personal_fields`), which the request
shreds: they read as "" (and no questions) afterwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

ACCOUNT_NAMESPACE = UUID("3d0a54a2-8f57-4b6e-9a5c-1c2f0e8b7d41")
CLAIM_NAMESPACE = UUID("a4e1b9c7-2d3f-4c55-8e6a-7b9d0c1e2f53")

MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=15)
PASSWORD_HISTORY = 5
CODE_LIFETIME = timedelta(minutes=15)
MAX_CODE_ATTEMPTS = 5
# A new reset code (or user-ID mail) is not issued sooner than this after the previous one.
RESEND_INTERVAL = timedelta(seconds=60)


def account_id_for(user_id: str) -> UUID:
    return uuid5(ACCOUNT_NAMESPACE, user_id.strip().casefold())


def claim_id_for(party_id: UUID) -> UUID:
    return uuid5(CLAIM_NAMESPACE, str(party_id))


class UserAccount(Aggregate):
    # Accounts recorded before closing existed have no attribute of their own.
    closed_at: datetime | None = None

    @staticmethod
    def create_id(user_id: str, **_: Any) -> UUID:
        return account_id_for(user_id)

    @event("Registered")
    def __init__(
        self,
        user_id: str,
        party_id: UUID,
        certificate_number: str,
        first_name: str,
        last_name: str,
        email: str,
        password_hash: str,
        security_questions: list[dict[str, str]],
        preferred_language: str,
        preferred_date_format: str,
    ) -> None:
        self.user_id = user_id
        self.party_id = party_id
        self.certificate_number = certificate_number
        self.first_name = first_name
        self.last_name = last_name
        self.email = email
        self.password_hashes = [password_hash]
        self.security_questions = security_questions
        self.preferred_language = preferred_language
        self.preferred_date_format = preferred_date_format
        self.failed_logins = 0
        self.locked_until: datetime | None = None
        self.code_hash: str | None = None
        self.code_issued_at: datetime | None = None
        self.code_expires_at: datetime | None = None
        self.code_attempts = 0
        self.user_id_sent_at: datetime | None = None

    # --- state --------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def password_hash(self) -> str:
        return self.password_hashes[-1]

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def has_live_code(self, now: datetime) -> bool:
        return (
            self.code_hash is not None
            and self.code_expires_at is not None
            and now < self.code_expires_at
            and self.code_attempts < MAX_CODE_ATTEMPTS
        )

    def may_issue_code(self, now: datetime) -> bool:
        return self.code_issued_at is None or now >= self.code_issued_at + RESEND_INTERVAL

    def may_send_user_id(self, now: datetime) -> bool:
        return self.user_id_sent_at is None or now >= self.user_id_sent_at + RESEND_INTERVAL

    # --- commands -----------------------------------------------------------------------

    def fail_login(self, now: datetime) -> bool:
        """Count a wrong password; answers True when this failure locks the account."""
        self._login_failed(self.certificate_number, now)
        if self.failed_logins >= MAX_FAILED_LOGINS:
            self._locked(self.certificate_number, now + LOCK_DURATION)
            return True
        return False

    def clear_failures(self) -> None:
        if self.failed_logins or self.locked_until is not None:
            self._failures_cleared()

    def change_password(self, password_hash: str, reason: str) -> None:
        self._password_changed(self.certificate_number, password_hash, reason)

    def issue_recovery_code(self, code_hash: str, now: datetime) -> None:
        self._recovery_code_issued(code_hash, now, now + CODE_LIFETIME)

    def reject_recovery_attempt(self) -> None:
        self._recovery_attempt_rejected()

    def record_user_id_sent(self, now: datetime) -> None:
        self._user_id_recovered(now)

    def change_preferences(self, preferred_language: str, preferred_date_format: str) -> None:
        self._preferences_changed(
            self.certificate_number, preferred_language, preferred_date_format
        )

    def close(self, now: datetime, reason: str) -> None:
        """Close the account for good (a request to delete its owner's personal data)."""
        if not self.closed:
            self._closed(self.certificate_number, now, reason)

    def rehash_password(self, password_hash: str) -> None:
        """The same password under stronger hashing parameters (not a password change)."""
        self._password_rehashed(password_hash)

    # --- events -------------------------------------------------------------------------

    @event("LoginFailed")
    def _login_failed(self, certificate_number: str, at: datetime) -> None:
        self.failed_logins += 1

    @event("AccountLocked")
    def _locked(self, certificate_number: str, locked_until: datetime) -> None:
        # The streak starts again once the lock is over.
        self.locked_until = locked_until
        self.failed_logins = 0

    @event("FailuresCleared")
    def _failures_cleared(self) -> None:
        self.failed_logins = 0
        self.locked_until = None

    @event("PasswordChanged")
    def _password_changed(self, certificate_number: str, password_hash: str, reason: str) -> None:
        self.password_hashes = [*self.password_hashes, password_hash][-PASSWORD_HISTORY:]
        self.failed_logins = 0
        self.locked_until = None
        self.code_hash = None
        self.code_expires_at = None
        self.code_attempts = 0

    @event("PasswordRehashed")
    def _password_rehashed(self, password_hash: str) -> None:
        self.password_hashes = [*self.password_hashes[:-1], password_hash]

    @event("RecoveryCodeIssued")
    def _recovery_code_issued(self, code_hash: str, issued_at: datetime, expires_at: datetime):
        self.code_hash = code_hash
        self.code_issued_at = issued_at
        self.code_expires_at = expires_at
        self.code_attempts = 0

    @event("RecoveryAttemptRejected")
    def _recovery_attempt_rejected(self) -> None:
        self.code_attempts += 1

    @event("UserIdRecovered")
    def _user_id_recovered(self, at: datetime) -> None:
        self.user_id_sent_at = at

    @event("Closed")
    def _closed(self, certificate_number: str, at: datetime, reason: str) -> None:
        self.closed_at = at
        self.failed_logins = 0
        self.locked_until = None
        self.code_hash = None
        self.code_expires_at = None
        self.code_attempts = 0

    @event("PreferencesChanged")
    def _preferences_changed(
        self, certificate_number: str, preferred_language: str, preferred_date_format: str
    ) -> None:
        self.preferred_language = preferred_language
        self.preferred_date_format = preferred_date_format


class OwnerClaim(Aggregate):
    """Owner party → its one account. Saved with the account, so only one can exist."""

    @staticmethod
    def create_id(party_id: UUID, **_: Any) -> UUID:
        return claim_id_for(party_id)

    @event("Claimed")
    def __init__(self, party_id: UUID, account_id: UUID, certificate_number: str) -> None:
        self.party_id = party_id
        self.account_id = account_id
        self.certificate_number = certificate_number
