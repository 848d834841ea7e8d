"""Registration, log-in and log-out, forgotten user ID and password: identity's commands."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from services.portal import owner_commands
from services.portal.auth import clear_session_cookie, presented_token, set_session_cookie
from services.portal.gateway import CommandGateway
from services.portal.routes.common import relay


class LogIn(BaseModel):
    """What `POST /api/session` takes; identity checks the rest."""

    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    previous_token: str | None = Field(None, max_length=200)


def account_routes(engine: Engine, gateway: CommandGateway) -> APIRouter:
    router = APIRouter()

    @router.get("/registration/security-questions")
    async def security_questions() -> Any:
        return relay(await gateway.send("identity", "GET", "/registration/security-questions"))

    def forward_to_identity(path: str):
        """A route that forwards its body to identity's `path` — fixed here: a default
        argument would be a query parameter a caller could set to any identity path."""

        async def forward(body: Annotated[dict, Body()]) -> Any:
            return relay(await gateway.send("identity", "POST", path, body))

        return forward

    for path in (
        "/registration/personal",
        "/registration/credentials",
        "/registration/preferences",
        "/recovery/user-id",
        "/recovery/password",
        "/recovery/password/reset",
    ):
        router.add_api_route(path, forward_to_identity(path), methods=["POST"])

    @router.post("/session")
    async def log_in(request: Request, credentials: LogIn) -> Any:
        started = await owner_commands.log_in(
            engine,
            gateway,
            credentials.user_id,
            credentials.password,
            credentials.previous_token or presented_token(request),
        )
        response = JSONResponse(
            status_code=201, content={"token": started.token, "expires_at": started.expires_at}
        )
        set_session_cookie(response, started.token)
        return response

    @router.delete("/session", status_code=204)
    async def log_out(request: Request) -> Response:
        await owner_commands.log_out(engine, gateway, presented_token(request))
        response = Response(status_code=204)
        clear_session_cookie(response)
        return response

    return router
