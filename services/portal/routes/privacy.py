"""Your Privacy Rights (California): the signed-in owner's requests to know and to delete,
and the answer to a request to know as a JSON download.

- `GET /api/privacy/requests`: the owner's requests, each with its status and the date it is
  due ("respond by", 45 days after receipt), from the read model.
- `POST /api/privacy/requests` `{"kind": "know"}`: answered at once; the export is then at
  `GET /api/privacy/export`. `{"kind": "delete", "confirm": true}`: carried out at once (the
  account is closed), so the session ends and its cookie is cleared.
- `GET /api/privacy/export`: the answer to the owner's latest request to know (an attachment,
  never cached); 409 until there is one, so every disclosure is on the privacy record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine

from services.portal import owner_commands
from services.portal.auth import clear_session_cookie, presented_token
from services.portal.gateway import CommandGateway
from services.portal.privacy_export import build_export
from services.portal.queries.privacy import (
    PrivacyRequests,
    answered_request_to_know,
    privacy_request,
    privacy_requests,
)
from services.portal.routes.common import Db, Owner, unprocessable
from shared.clock import Clock
from shared.sqldb import in_thread

EXPORT_PATH = "/api/privacy/export"
CONFIRM_DELETE = (
    "confirm the request to delete: your account will be closed and you will be logged out"
)
KNOW_FIRST = 'Make a request to know first (POST /api/privacy/requests {"kind": "know"}).'


class PrivacyRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["know", "delete"]
    confirm: bool = False


def export_file_name(today: object) -> str:
    return f"personal-information-{today}.json"


def privacy_routes(
    engine: Engine,
    gateway: CommandGateway,
    open_sealed: Callable[[str], str | None],
    clock: Clock,
) -> APIRouter:
    router = APIRouter()

    @router.get("/privacy/requests", response_model=PrivacyRequests)
    def list_requests(db: Db, owner: Owner) -> PrivacyRequests:
        return db(privacy_requests, owner.party_id)

    @router.post("/privacy/requests", status_code=201)
    async def make_request(request: Request, owner: Owner, body: PrivacyRequestIn) -> JSONResponse:
        if body.kind == "delete" and not body.confirm:
            return unprocessable("confirm", CONFIRM_DELETE)
        token = presented_token(request) or ""
        answer = await owner_commands.request_privacy(
            engine, gateway, token, owner.account_id, body.kind
        )
        if body.kind == "delete":
            response = JSONResponse(
                status_code=201, content={"request": answer, "signed_out": True}
            )
            clear_session_cookie(response)
            return response
        listed = await in_thread(engine, privacy_request, str(answer.get("request_id", "")))
        content = {
            "request": listed.model_dump(mode="json") if listed else answer,
            "export": EXPORT_PATH,
        }
        return JSONResponse(status_code=201, content=content)

    @router.get(EXPORT_PATH.removeprefix("/api"))
    async def export(request: Request, owner: Owner) -> JSONResponse:
        answered = await in_thread(engine, answered_request_to_know, owner.party_id)
        if answered is None:
            return JSONResponse(status_code=409, content={"detail": KNOW_FIRST})
        content = await build_export(
            engine,
            gateway,
            owner.party_id,
            open_sealed,
            today=clock.today(),
            now=clock.now(),
            token=presented_token(request),
            request_id=answered.request_id,
        )
        name = export_file_name(clock.today())
        return JSONResponse(
            content=content,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    return router
