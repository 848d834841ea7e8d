"""Registration drafts (steps 1 and 2, server side) and the step-1 throttle.

A draft is identified by an unguessable registration id (`secrets.token_urlsafe(32)`) that
only the browser holds; the table keeps its SHA-256. A draft expires 30 minutes after step 1
(expired drafts are refused and deleted when met, and purged at every new step 1). It holds
what step 1 established (the owner party, the names on record, the email entered) and, after
step 2, the user ID and the argon2id hashes of the password and the answers. Nothing here is
an event: a registration is recorded only when step 3 submits it. The names, the email and
the user ID rest sealed under the owner's personal key (`shared.personal_data`); a request to
delete removes the owner's drafts (`purge`).

Throttle: after 5 failed step-1 matches for one certificate within 15 minutes, step 1 for that
certificate is refused until the window is over (guessing a date of birth takes thousands of
tries).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.identity.errors import RegistrationNotFound, TooManyAttempts
from services.identity.registry import opened
from services.identity.tables import RegistrationDraft, RegistrationFailure
from shared import personal_data

DRAFT_LIFETIME = timedelta(minutes=30)
MAX_MATCH_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


def _digest(registration_id: str) -> str:
    return hashlib.sha256(registration_id.encode()).hexdigest()


def _seal(party_id: UUID | str, value: str) -> str:
    return personal_data.installed().seal(str(party_id), value)


@dataclass(frozen=True)
class Draft:
    registration_id: str
    expires_at: datetime
    certificate_number: str
    party_id: UUID
    first_name: str
    last_name: str
    email: str
    user_id: str | None
    password_hash: str | None
    security_questions: list[dict[str, str]] | None

    @classmethod
    def of(cls, registration_id: str, row: RegistrationDraft) -> Draft:
        return cls(
            registration_id=registration_id,
            expires_at=row.expires_at,
            certificate_number=row.certificate_number,
            party_id=UUID(row.party_id),
            first_name=opened(row.first_name),
            last_name=opened(row.last_name),
            email=opened(row.email),
            user_id=opened(row.user_id) or None,
            password_hash=row.password_hash,
            security_questions=row.security_questions,
        )


class RegistrationDrafts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(
        self,
        now: datetime,
        *,
        certificate_number: str,
        party_id: UUID,
        first_name: str,
        last_name: str,
        email: str,
    ) -> Draft:
        registration_id = secrets.token_urlsafe(32)
        with Session(self.engine) as session, session.begin():
            session.execute(delete(RegistrationDraft).where(RegistrationDraft.expires_at <= now))
            row = RegistrationDraft(
                id_digest=_digest(registration_id),
                created_at=now,
                expires_at=now + DRAFT_LIFETIME,
                certificate_number=certificate_number,
                party_id=str(party_id),
                first_name=_seal(party_id, first_name),
                last_name=_seal(party_id, last_name),
                email=_seal(party_id, email),
            )
            session.add(row)
            session.flush()
            return Draft.of(registration_id, row)

    def get(self, registration_id: str, now: datetime) -> Draft:
        draft = None
        with Session(self.engine) as session, session.begin():
            row = session.get(RegistrationDraft, _digest(registration_id))
            if row is not None and row.expires_at <= now:
                session.delete(row)
            elif row is not None:
                draft = Draft.of(registration_id, row)
        if draft is None:
            raise RegistrationNotFound(field="registration_id")
        return draft

    def set_credentials(
        self,
        registration_id: str,
        *,
        user_id: str,
        password_hash: str,
        security_questions: list[dict[str, str]],
    ) -> Draft:
        with Session(self.engine) as session, session.begin():
            row = session.get(RegistrationDraft, _digest(registration_id))
            if row is None:
                raise RegistrationNotFound(field="registration_id")
            row.user_id = _seal(row.party_id, user_id)
            row.password_hash = password_hash
            row.security_questions = security_questions
            session.flush()
            return Draft.of(registration_id, row)

    def finish(self, registration_id: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(RegistrationDraft).where(
                    RegistrationDraft.id_digest == _digest(registration_id)
                )
            )

    def purge(self, party_id: UUID | str) -> int:
        """Delete every draft of the party (a request to delete)."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                delete(RegistrationDraft).where(RegistrationDraft.party_id == str(party_id))
            )
            return result.rowcount or 0

    # --- throttle -----------------------------------------------------------------------

    def check_throttle(self, certificate_number: str, now: datetime) -> None:
        with Session(self.engine) as session:
            row = session.get(RegistrationFailure, certificate_number)
            if (
                row is not None
                and now < row.window_started_at + FAILURE_WINDOW
                and row.failures >= MAX_MATCH_FAILURES
            ):
                raise TooManyAttempts()

    def record_failure(self, certificate_number: str, now: datetime) -> None:
        for _ in range(3):
            try:
                with Session(self.engine) as session, session.begin():
                    session.execute(
                        delete(RegistrationFailure).where(
                            RegistrationFailure.window_started_at <= now - FAILURE_WINDOW
                        )
                    )
                    row = session.get(RegistrationFailure, certificate_number)
                    if row is None:
                        session.add(
                            RegistrationFailure(
                                certificate_number=certificate_number,
                                window_started_at=now,
                                failures=1,
                            )
                        )
                    else:
                        row.failures += 1
                return
            except IntegrityError:  # a concurrent first failure: count again
                continue

    def clear_failures(self, certificate_number: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(RegistrationFailure).where(
                    RegistrationFailure.certificate_number == certificate_number
                )
            )
