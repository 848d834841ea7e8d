"""Registration, log-in and log-out, forgotten user ID and password: identity's commands."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.portal.auth import COOKIE_NAME, presented_token, token_digest
from services.portal.gateway import CommandGateway, read_your_write
from services.portal.readmodels import PortalSessionView
from services.portal.routes.common import relay

SESSION_SECONDS = 8 * 3600


def account_routes(engine: Engine, gateway: CommandGateway) -> APIRouter:
    router = APIRouter()

    @router.get("/registration/security-questions")
    async def security_questions() -> Any:
        return relay(await gateway.send("identity", "GET", "/registration/security-questions"))

    for step in ("personal", "credentials", "preferences"):

        async def register(body: Annotated[dict, Body()], _step: str = step) -> Any:
            return relay(await gateway.send("identity", "POST", f"/registration/{_step}", body))

        router.add_api_route(f"/registration/{step}", register, methods=["POST"])

    for path in ("/recovery/user-id", "/recovery/password", "/recovery/password/reset"):

        async def recover(body: Annotated[dict, Body()], _path: str = path) -> Any:
            return relay(await gateway.send("identity", "POST", _path, body))

        router.add_api_route(path, recover, methods=["POST"])

    @router.post("/session")
    async def log_in(request: Request, body: Annotated[dict, Body()]) -> Any:
        previous = presented_token(request)
        if previous and "previous_token" not in body:
            body = {**body, "previous_token": previous}  # rotated: the old session ends
        answer = await gateway.send("identity", "POST", "/sessions", body)
        if answer.status_code != 201:
            return relay(answer)
        token = answer.json()["token"]
        digest = token_digest(token)

        def visible() -> bool:
            with Session(engine) as s:
                return s.get(PortalSessionView, digest) is not None

        await read_your_write(visible)
        response = JSONResponse(
            status_code=201,
            content={"token": token, "expires_at": answer.json().get("expires_at")},
        )
        response.set_cookie(
            COOKIE_NAME,
            token,
            max_age=SESSION_SECONDS,
            httponly=True,
            secure=True,
            samesite="strict",
        )
        return response

    @router.delete("/session", status_code=204)
    async def log_out(request: Request) -> Response:
        token = presented_token(request)
        if token:
            await gateway.send("identity", "POST", "/sessions/end", {"token": token})
            digest = token_digest(token)

            def ended() -> bool:
                with Session(engine) as s:
                    row = s.get(PortalSessionView, digest)
                    return row is None or row.ended

            await read_your_write(ended)
        response = Response(status_code=204)
        response.delete_cookie(COOKIE_NAME, httponly=True, secure=True, samesite="strict")
        return response

    return router
