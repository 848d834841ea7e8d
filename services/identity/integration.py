"""Domain events → public contracts (`shared/contracts/identity.py`, topic identity.events).

Published: UserRegistered, PreferencesChanged, SessionStarted, SessionEnded, AccountLocked,
PasswordChanged, and the privacy office's PrivacyRequestUpdated and PersonalDataErased
(`privacy/integration.py`). Private (no contract, the relay skips them): LoginFailed,
FailuresCleared, PasswordRehashed, RecoveryCodeIssued, RecoveryAttemptRejected,
UserIdRecovered, Closed, the owner claims, the session-log entries and the privacy requests'
own steps. No hash, code or token ever reaches a contract: only the fields each contract
names are copied; the user ID travels sealed (`UserRegistered.personal`).
"""

from __future__ import annotations

from typing import Any

from services.identity.domain import UserAccount
from services.identity.privacy.integration import to_integration as privacy_contract
from services.identity.sessions import Session
from shared.contracts import identity as contracts
from shared.contracts.envelope import IntegrationEvent


def to_integration(domain_event: Any) -> IntegrationEvent | None:
    e = domain_event
    if isinstance(e, UserAccount.Registered):
        return contracts.UserRegistered(
            certificate_number=e.certificate_number,
            account_id=e.originator_id,
            user_id=e.user_id,
            party_id=e.party_id,
            preferred_language=e.preferred_language,
            preferred_date_format=e.preferred_date_format,
        )
    if isinstance(e, UserAccount.PreferencesChanged):
        return contracts.PreferencesChanged(
            certificate_number=e.certificate_number,
            account_id=e.originator_id,
            preferred_language=e.preferred_language,
            preferred_date_format=e.preferred_date_format,
        )
    if isinstance(e, UserAccount.AccountLocked):
        return contracts.AccountLocked(
            certificate_number=e.certificate_number,
            account_id=e.originator_id,
            locked_until=e.locked_until,
        )
    if isinstance(e, UserAccount.PasswordChanged):
        return contracts.PasswordChanged(
            certificate_number=e.certificate_number, account_id=e.originator_id
        )
    if isinstance(e, Session.Started):
        return contracts.SessionStarted(
            certificate_number=e.certificate_number,
            account_id=e.account_id,
            party_id=e.party_id,
            session_id=e.originator_id,
            token_digest=e.token_digest,
            expires_at=e.expires_at,
        )
    if isinstance(e, Session.Ended):
        return contracts.SessionEnded(
            certificate_number=e.certificate_number,
            account_id=e.account_id,
            session_id=e.originator_id,
            reason=e.reason,
        )
    return privacy_contract(e)
