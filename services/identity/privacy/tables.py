"""The privacy office's tables, in identity's database (the same metadata as `tables.py`).

- `privacy_request_log`: every request (to know, to delete) with its dates, status, outcome and
  the number of matching points: the record the CCPA regulations ask to keep for 24 months,
  and what lists the requests of a person. No personal data: the person is their party id
  (the requester's details rest sealed in the request's events only).
- `privacy_verification_failures`: failed verifications per keyed hash of what was entered
  and per person matched, for the lock-out (`throttle.py`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.identity.tables import IdentityTable, UtcDateTime


class PrivacyRecord(IdentityTable):
    __tablename__ = "privacy_request_log"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(12))
    by_agent: Mapped[bool] = mapped_column(Boolean)
    party_id: Mapped[str | None] = mapped_column(String(36), index=True, nullable=True)
    account_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    certificate_numbers: Mapped[list] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    due_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), index=True)
    level: Mapped[str] = mapped_column(String(10))
    matched_points: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)


class VerificationFailure(IdentityTable):
    __tablename__ = "privacy_verification_failures"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    failures: Mapped[int] = mapped_column(Integer)
