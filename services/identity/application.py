"""The identity service's application: every command, one method each.

| command                                                          | module            |
|------------------------------------------------------------------|-------------------|
| start_registration / choose_credentials / complete_registration | `registration.py` |
| log_in / log_out / authenticate / change_preferences             | `logins.py`       |
| recover_user_id / request_password_reset / reset_password        | `recovery.py`     |
| submit_request / submit_account_request / complete_request,      | `privacy/`        |
| carry_out_deletion / privacy_sweep / personal_data_of            | `commands.py`     |

Constructed with the keyed hash (to match policy's digests), an SQLAlchemy engine on
identity's own database (owners registry, drafts, mail outbox, the privacy office's record; in
memory when omitted), the argon2 `Credentials` (lighter ones in tests) and a clock (tests move
it).

Personal fields at rest (`personal_fields`, sealed by the event store's mapper under the
owner's personal key): the account's user ID, names, email and security questions (with the
answers' hashes: an answer's hash could be tested against guesses); the privacy requests'
requester and agent details, under the request's own key. Password hashes are hashes of a
secret, not personal data about the owner, and stay as they are; so do the preferences.
"""

from __future__ import annotations

from typing import ClassVar

from services.identity.domain import UserAccount
from services.identity.logins import SessionCommands, StartedSession
from services.identity.privacy.commands import PrivacyCommands
from services.identity.privacy.domain import PERSONAL_FIELDS as PRIVACY_FIELDS
from services.identity.recovery import RecoveryCommands
from services.identity.registration import RegistrationCommands
from shared.eventstore import PersonalFields
from shared.personal_data import PERSONAL
from shared.sealing import Rule, owner

__all__ = ["IdentityApplication", "StartedSession"]

_ACCOUNT_FIELDS = (
    ("user_id", ""),
    ("first_name", ""),
    ("last_name", ""),
    ("email", ""),
    ("security_questions", []),
)


def _account_rules(prefix: str) -> tuple[Rule, ...]:
    party = owner(f"{prefix}party_id")
    return tuple(
        Rule(f"{prefix}{name}", party, PERSONAL, erased) for name, erased in _ACCOUNT_FIELDS
    )


class IdentityApplication(RegistrationCommands, SessionCommands, RecoveryCommands, PrivacyCommands):
    name = "identity"
    # An account's history grows with failures and credential changes, not with log-ins
    # (sessions are their own aggregates); snapshots bound it even under a long attack.
    snapshotting_intervals = {UserAccount: 50}  # noqa: RUF012
    personal_fields: ClassVar[PersonalFields] = {
        "UserAccount.Registered": _account_rules(""),
        "Snapshot:UserAccount": _account_rules("state."),
        **PRIVACY_FIELDS,
    }
