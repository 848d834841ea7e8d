"""The record of every privacy request (`privacy_request_log`): written after each change of a
`PrivacyRequest`, read to list a person's requests and the 24-month log, purged after that.

The request's aggregate is the authority (a crash between its save and this write leaves the
row one step behind until the request changes again); the table only serves look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.identity.privacy.domain import PrivacyRequest
from services.identity.privacy.tables import PrivacyRecord


@dataclass(frozen=True)
class RequestRecord:
    request_id: str
    kind: str
    detail: str
    channel: str
    by_agent: bool
    party_id: str | None
    account_id: str | None
    certificate_numbers: list[str]
    received_at: datetime
    due_by: date
    status: str
    level: str
    matched_points: int | None
    completed_at: datetime | None
    outcome: str | None

    @classmethod
    def of(cls, row: PrivacyRecord) -> RequestRecord:
        return cls(
            request_id=row.request_id,
            kind=row.kind,
            detail=row.detail,
            channel=row.channel,
            by_agent=row.by_agent,
            party_id=row.party_id,
            account_id=row.account_id,
            certificate_numbers=list(row.certificate_numbers or ()),
            received_at=row.received_at,
            due_by=row.due_by,
            status=row.status,
            level=row.level,
            matched_points=row.matched_points,
            completed_at=row.completed_at,
            outcome=row.outcome,
        )

    @classmethod
    def from_request(cls, request: PrivacyRequest) -> RequestRecord:
        return cls(
            request_id=str(request.id),
            kind=request.kind,
            detail=request.detail,
            channel=request.channel,
            by_agent=request.by_agent,
            party_id=str(request.party_id) if request.party_id else None,
            account_id=str(request.account_id) if request.account_id else None,
            certificate_numbers=list(request.certificate_numbers),
            received_at=request.received_at,
            due_by=request.due_by,
            status=request.status,
            level=request.level,
            matched_points=request.matched_points,
            completed_at=request.completed_at,
            outcome=request.outcome,
        )


class PrivacyLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, request: PrivacyRequest) -> None:
        values = RequestRecord.from_request(request).__dict__
        with Session(self.engine) as session, session.begin():
            if request.purged:
                session.execute(
                    delete(PrivacyRecord).where(PrivacyRecord.request_id == str(request.id))
                )
            else:
                session.merge(PrivacyRecord(**values))

    def get(self, request_id: str) -> RequestRecord | None:
        with Session(self.engine) as session:
            row = session.get(PrivacyRecord, request_id)
            return RequestRecord.of(row) if row is not None else None

    def of_party(self, party_id: str) -> list[RequestRecord]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(PrivacyRecord)
                .where(PrivacyRecord.party_id == party_id)
                .order_by(PrivacyRecord.received_at.desc(), PrivacyRecord.request_id)
            )
            return [RequestRecord.of(row) for row in rows]

    def since(self, since: datetime) -> list[RequestRecord]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(PrivacyRecord)
                .where(PrivacyRecord.received_at >= since)
                .order_by(PrivacyRecord.received_at, PrivacyRecord.request_id)
            )
            return [RequestRecord.of(row) for row in rows]

    def with_status(self, kind: str, status: str) -> list[RequestRecord]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(PrivacyRecord)
                .where(PrivacyRecord.kind == kind, PrivacyRecord.status == status)
                .order_by(PrivacyRecord.received_at)
            )
            return [RequestRecord.of(row) for row in rows]

    def received_before(self, before: datetime) -> list[str]:
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(PrivacyRecord.request_id).where(PrivacyRecord.received_at < before)
                )
            )

    def last_deletion_of(self, party_id: str) -> str | None:
        """The latest completed request to delete of the party (its retentions)."""
        with Session(self.engine) as session:
            return session.scalar(
                select(PrivacyRecord.request_id)
                .where(
                    PrivacyRecord.party_id == party_id,
                    PrivacyRecord.kind == "delete",
                    PrivacyRecord.status == "completed",
                )
                .order_by(PrivacyRecord.completed_at.desc())
                .limit(1)
            )

    def forget(self, request_id: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(PrivacyRecord).where(PrivacyRecord.request_id == request_id))
