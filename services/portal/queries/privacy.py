"""Your Privacy Rights: the owner's requests to know and to delete, from the `privacy_requests`
read model (projected from identity's PrivacyRequestUpdated).

Identity publishes one PrivacyRequestUpdated per certificate the person owns, so the read
model may hold a row per (request, certificate): the owner sees one line per request. The
table is looked up by name in the read models' metadata, so these queries do not depend on
the model class's name; when it is not there (an older read store) the owner has no requests.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from services.portal.queries.common import Out
from services.portal.readmodels import ReadModel

TABLE = "privacy_requests"
ANSWERED = ("verified", "completed")  # a request to know answered: the export may be taken
# The further a request has gone, the later its status (rows of one request may lag).
_PROGRESS = {"received": 0, "verified": 1, "denied": 2, "completed": 3}
KIND_NAMES = {"know": "Request to know", "delete": "Request to delete"}
STATUS_NAMES = {
    "received": "Received",
    "verified": "Identity verified",
    "completed": "Completed",
    "denied": "Denied",
}


class PrivacyRequestRow(Out):
    request_id: str
    kind: str
    kind_name: str
    status: str
    status_name: str
    by_agent: bool
    received_at: datetime
    due_by: date  # "Respond by": 45 days after receipt
    completed_at: datetime | None
    outcome: str | None
    certificate_numbers: list[str]


class PrivacyRequests(Out):
    requests: list[PrivacyRequestRow]


def _table() -> Table | None:
    return ReadModel.metadata.tables.get(TABLE)


def _rows(session: Session, **where: str) -> list[PrivacyRequestRow]:
    table = _table()
    if table is None:
        return []
    query = select(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    merged: dict[str, PrivacyRequestRow] = {}
    for row in session.execute(query).mappings():
        request_id = str(row["request_id"])
        current = merged.get(request_id)
        number = row.get("certificate_number")
        if current is None or _PROGRESS.get(row["status"], 0) > _PROGRESS.get(current.status, 0):
            numbers = current.certificate_numbers if current else []
            current = PrivacyRequestRow(
                request_id=request_id,
                kind=row["kind"],
                kind_name=KIND_NAMES.get(row["kind"], row["kind"]),
                status=row["status"],
                status_name=STATUS_NAMES.get(row["status"], row["status"]),
                by_agent=bool(row.get("by_agent")),
                received_at=row["received_at"],
                due_by=row["due_by"],
                completed_at=row.get("completed_at"),
                outcome=row.get("outcome"),
                certificate_numbers=numbers,
            )
            merged[request_id] = current
        if number and number not in current.certificate_numbers:
            current.certificate_numbers.append(number)
    for request in merged.values():
        request.certificate_numbers.sort()
    return sorted(
        merged.values(), key=lambda r: (r.received_at.isoformat(), r.request_id), reverse=True
    )


def privacy_requests(session: Session, owner_party_id: str) -> PrivacyRequests:
    """The owner's requests, newest first, each with its status and respond-by date."""
    return PrivacyRequests(requests=_rows(session, party_id=owner_party_id))


def privacy_request(session: Session, request_id: str) -> PrivacyRequestRow | None:
    rows = _rows(session, request_id=request_id)
    return rows[0] if rows else None


def answered_request_to_know(session: Session, owner_party_id: str) -> PrivacyRequestRow | None:
    """The owner's newest request to know that was answered (what an export answers)."""
    for request in _rows(session, party_id=owner_party_id):
        if request.kind == "know" and request.status in ANSWERED:
            return request
    return None
