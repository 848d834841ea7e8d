"""The owner-facing API (DESIGN.md §5). Queries read only the read models, scoped to the
signed-in owner (another owner's record answers 404 like a missing one); owner commands are
forwarded to the owning service (`gateway.py`). Routes live in `routes/`, one module per area."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from services.portal import queries
from services.portal.auth import NotSignedIn
from services.portal.gateway import CommandGateway, ServiceUnavailable
from services.portal.owner_commands import CommandRefused
from services.portal.routes.account import account_routes
from services.portal.routes.claims import claim_routes
from services.portal.routes.documents import document_routes
from services.portal.routes.insurance import insurance_routes
from services.portal.routes.privacy import privacy_routes
from services.portal.web import install_web
from services.portal.web.context import WebContext
from shared.clock import Clock
from shared.http import install_error_handlers
from shared.telemetry import instrument_http


def create_portal_app(
    engine: Engine,
    gateway: CommandGateway,
    open_sealed: Callable[[str], str | None],
    clock: Clock | None = None,
    is_ready: Callable[[], bool] = lambda: True,
    csrf_secret: bytes | None = None,
) -> FastAPI:
    app = FastAPI(title="Certificate Owner Portal API", version="1")
    app.state.engine = engine
    clock = clock or Clock()
    install_error_handlers(app, not_found=(queries.NotFound,))
    instrument_http(app, "portal")

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(_: Request, exc: NotSignedIn) -> JSONResponse:
        return JSONResponse(status_code=401, content={"detail": str(exc)})

    @app.exception_handler(CommandRefused)
    async def _refused(_: Request, exc: CommandRefused) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content=exc.body or {"detail": exc.detail})

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(_: Request, exc: ServiceUnavailable) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    api = APIRouter(prefix="/api")
    api.include_router(account_routes(engine, gateway))
    api.include_router(insurance_routes(engine, gateway, open_sealed, clock))
    api.include_router(document_routes(engine, gateway, open_sealed, clock))
    api.include_router(claim_routes(open_sealed, clock))
    api.include_router(privacy_routes(engine, gateway, open_sealed, clock))
    app.include_router(api)
    install_web(
        app,
        WebContext(engine, gateway, open_sealed, clock),
        csrf_secret or secrets.token_bytes(32),
    )

    @app.get("/health")
    def health() -> JSONResponse:
        ready = is_ready()
        return JSONResponse(
            status_code=200 if ready else 503, content={"status": "ok" if ready else "starting"}
        )

    return app
