"""The identity service's application: every command, one method each.

| command                                  | module            |
|------------------------------------------|-------------------|
| start_registration / choose_credentials / complete_registration | `registration.py` |
| log_in / log_out / authenticate / change_preferences             | `logins.py`       |
| recover_user_id / request_password_reset / reset_password        | `recovery.py`     |

Constructed with the keyed hash (to match policy's digests), an SQLAlchemy engine on
identity's own database (owners registry, drafts, mail outbox; in memory when omitted), the
argon2 `Credentials` (lighter ones in tests) and a clock (tests move it).
"""

from __future__ import annotations

from services.identity.domain import UserAccount
from services.identity.logins import SessionCommands, StartedSession
from services.identity.recovery import RecoveryCommands
from services.identity.registration import RegistrationCommands

__all__ = ["IdentityApplication", "StartedSession"]


class IdentityApplication(RegistrationCommands, SessionCommands, RecoveryCommands):
    name = "identity"
    # An account's history grows with failures and credential changes, not with log-ins
    # (sessions are their own aggregates); snapshots bound it even under a long attack.
    snapshotting_intervals = {UserAccount: 50}  # noqa: RUF012
