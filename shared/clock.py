"""The clock: today's date and now, optionally frozen "as of" a date for demos and tests."""

from __future__ import annotations

from datetime import UTC, date, datetime


class Clock:
    def __init__(self, as_of: date | None = None) -> None:
        self._as_of = as_of

    def today(self) -> date:
        return self._as_of or datetime.now(UTC).date()

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
