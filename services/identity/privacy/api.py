"""The privacy office's HTTP routes, on identity's API (the portal's gateway calls them).

| route                                        | what                                        |
|----------------------------------------------|---------------------------------------------|
| POST /privacy/requests                       | a request from the privacy page (201)       |
| POST /privacy/requests/account               | a signed-in owner's request (201)           |
| GET  /privacy/requests/{request_id}          | one request (404 unknown or purged)         |
| POST /privacy/requests/{request_id}/complete | the back office answered a request to know  |
| GET  /privacy/requests?party_id=…            | a person's requests, newest first           |
| GET  /privacy/log?since=YYYY-MM-DD           | the 24-month record (no personal data)      |
| POST /privacy/sweep                          | retentions reviewed, keys shredded, purges  |
| GET  /accounts/{account_id}/personal-data    | identity's specific pieces about an account |

Errors: 422 with the field for bad input (fewer than two identifiers, an agent without
attestation), 429 when the values entered failed verification too often, 404 for unknown
requests and unknown or closed accounts.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

from fastapi import FastAPI, Header, Query

from services.identity.privacy.domain import DENIED, PrivacyRequest
from services.identity.privacy.records import RequestRecord
from services.identity.privacy.schemas import (
    AccountPersonalData,
    AccountRequestAnswer,
    AccountRequestBody,
    CompleteBody,
    LogEntry,
    PrivacyLogOut,
    PrivacyRequestBody,
    RequestAnswer,
    RequestList,
    RequestOut,
    SweepOut,
)
from shared.eventstore import caused_by
from shared.privacy_catalog import categories_answer

if TYPE_CHECKING:
    from services.identity.application import IdentityApplication


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _out(r: RequestRecord | PrivacyRequest) -> RequestOut:
    record = r if isinstance(r, RequestRecord) else RequestRecord.from_request(r)
    return RequestOut(
        request_id=UUID(record.request_id),
        kind=record.kind,  # type: ignore[arg-type]
        detail=record.detail,  # type: ignore[arg-type]
        channel=record.channel,  # type: ignore[arg-type]
        status=record.status,  # type: ignore[arg-type]
        level=record.level,  # type: ignore[arg-type]
        matched_points=0 if record.status == DENIED else record.matched_points,
        by_agent=record.by_agent,
        received_at=record.received_at,
        due_by=record.due_by,
        completed_at=record.completed_at,
        outcome=record.outcome,
        party_id=UUID(record.party_id) if record.party_id else None,
        certificate_numbers=record.certificate_numbers,
    )


def _log_entry(record: RequestRecord) -> LogEntry:
    answered = record.completed_at.date() <= record.due_by if record.completed_at else None
    return LogEntry(
        request_id=UUID(record.request_id),
        kind=record.kind,  # type: ignore[arg-type]
        detail=record.detail,  # type: ignore[arg-type]
        channel=record.channel,  # type: ignore[arg-type]
        by_agent=record.by_agent,
        received_at=record.received_at,
        due_by=record.due_by,
        status=record.status,  # type: ignore[arg-type]
        level=record.level,  # type: ignore[arg-type]
        matched_points=record.matched_points,
        completed_at=record.completed_at,
        outcome=record.outcome,
        answered_in_time=answered,
    )


def add_privacy_routes(app: FastAPI, identity: IdentityApplication) -> None:
    @app.post("/privacy/requests", status_code=201, response_model_exclude_none=True)
    def submit(body: PrivacyRequestBody) -> RequestAnswer:
        with caused_by("command", "SubmitPrivacyRequest"):
            answer = identity.submit_request(
                kind=body.kind,
                detail=body.detail,
                requester=body.requester.model_dump(mode="json"),
                agent=body.agent.model_dump(mode="json") if body.agent else None,
            )
        request = answer.request
        know = request.kind == "know" and request.level != "none"
        return RequestAnswer(
            request_id=request.id,
            kind=request.kind,  # type: ignore[arg-type]
            detail=request.detail,  # type: ignore[arg-type]
            status=request.status,  # type: ignore[arg-type]
            matched_points=answer.matched_points,
            level=request.level,  # type: ignore[arg-type]
            by_agent=request.by_agent,
            received_at=request.received_at,
            due_by=request.due_by,
            completed_at=request.completed_at,
            categories=categories_answer() if know else None,
            message=answer.message,
        )

    @app.post("/privacy/requests/account", status_code=201)
    def submit_for_account(
        body: AccountRequestBody, authorization: Annotated[str | None, Header()] = None
    ) -> AccountRequestAnswer:
        with caused_by("command", "SubmitAccountPrivacyRequest"):
            request = identity.submit_account_request(
                body.account_id, body.kind, _bearer(authorization)
            )
        assert request.party_id is not None
        return AccountRequestAnswer(
            request_id=request.id,
            kind=request.kind,  # type: ignore[arg-type]
            status=request.status,  # type: ignore[arg-type]
            received_at=request.received_at,
            due_by=request.due_by,
            completed_at=request.completed_at,
            outcome=request.outcome,
            party_id=request.party_id,
            certificate_numbers=request.certificate_numbers,
        )

    @app.get("/privacy/requests/{request_id}")
    def one(request_id: UUID) -> RequestOut:
        return _out(identity.privacy_request(request_id))

    @app.post("/privacy/requests/{request_id}/complete")
    def complete(request_id: UUID, body: CompleteBody) -> RequestOut:
        with caused_by("command", "CompletePrivacyRequest"):
            return _out(identity.complete_request(request_id, body.outcome))

    @app.get("/privacy/requests")
    def of_party(party_id: Annotated[UUID, Query()]) -> RequestList:
        return RequestList(requests=[_out(r) for r in identity.privacy_requests_of(party_id)])

    @app.get("/privacy/log")
    def log(since: Annotated[date | None, Query()] = None) -> PrivacyLogOut:
        records = identity.privacy_log_since(since)
        start = identity.privacy_log_start(since)
        return PrivacyLogOut(since=start, requests=[_log_entry(r) for r in records])

    @app.post("/privacy/sweep")
    def sweep() -> SweepOut:
        with caused_by("batch", "PrivacySweep"):
            report = identity.privacy_sweep()
        return SweepOut(
            swept_at=report.swept_at,
            deletions_resumed=report.deletions_resumed,
            servicing_extended=len(report.servicing_extended),
            keys_shredded=report.keys_shredded,
            requests_purged=report.requests_purged,
        )

    @app.get("/accounts/{account_id}/personal-data")
    def personal_data(
        account_id: UUID, authorization: Annotated[str | None, Header()] = None
    ) -> AccountPersonalData:
        pieces = identity.personal_data_of(account_id, _bearer(authorization))
        return AccountPersonalData(**pieces)
