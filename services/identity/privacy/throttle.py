"""The lock-out of repeated failed verifications (like registration's step-1 throttle).

Failures are counted per key: each keyed hash of what the requester entered (`value:<point>:
<digest>`), and each person who matched at least one point without being verified
(`party:<party id>`). After `MAX_FAILURES` failures of one key within `WINDOW`:
- a value key refuses the next requests that enter that value (HTTP 429, before anything is
  matched: it says nothing about the records);
- a person key denies the next requests that would match that person, whatever they enter
  (the same "We could not verify your identity", so it reveals nothing either), until the
  window is over: guessing one point after another is thereby limited to a few tries a day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.identity.privacy.tables import VerificationFailure

MAX_FAILURES = 5
WINDOW = timedelta(hours=24)


def value_key(point: str, digest: str) -> str:
    return f"value:{point}:{digest}"[:100]


def party_key(party_id: str) -> str:
    return f"party:{party_id}"


class VerificationThrottle:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def locked(self, keys: Iterable[str], now: datetime) -> bool:
        wanted = sorted(set(keys))
        if not wanted:
            return False
        with Session(self.engine) as session:
            rows = session.scalars(
                select(VerificationFailure).where(VerificationFailure.key.in_(wanted))
            )
            return any(
                now < row.window_started_at + WINDOW and row.failures >= MAX_FAILURES
                for row in rows
            )

    def record_failure(self, keys: Iterable[str], now: datetime) -> None:
        wanted = sorted(set(keys))
        for _ in range(3):
            try:
                with Session(self.engine) as session, session.begin():
                    session.execute(
                        delete(VerificationFailure).where(
                            VerificationFailure.window_started_at <= now - WINDOW
                        )
                    )
                    for key in wanted:
                        row = session.get(VerificationFailure, key)
                        if row is None:
                            session.add(
                                VerificationFailure(key=key, window_started_at=now, failures=1)
                            )
                        else:
                            row.failures += 1
                return
            except IntegrityError:  # a concurrent first failure: count again
                continue
