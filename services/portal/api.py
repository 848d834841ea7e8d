"""The owner-facing query API (DESIGN.md §5). Reads the read models only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.portal import queries
from shared.contracts.types import _pad_certificate_number
from shared.http import install_error_handlers
from shared.telemetry import instrument_http


def _certificate_number(number: Annotated[str, Path(description="up to 10 digits")]) -> str:
    try:
        return _pad_certificate_number(number)
    except ValueError as exc:
        raise queries.NotFound(f"certificate {number} not found") from exc


def session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as s:
        yield s


def create_portal_app(engine: Engine, is_ready: Callable[[], bool] = lambda: True) -> FastAPI:
    app = FastAPI(title="Certificate Owner Portal API", version="1")
    app.state.engine = engine
    install_error_handlers(app, not_found=(queries.NotFound,))
    instrument_http(app, "portal")
    router = APIRouter(prefix="/api")

    @router.get("/certificates/{number}/billing", response_model=queries.BillingDetail)
    def billing(
        s: Annotated[Session, Depends(session)],
        number: Annotated[str, Depends(_certificate_number)],
        from_: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD")] = None,
        through: Annotated[date | None, Query(description="YYYY-MM-DD")] = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        size: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> queries.BillingDetail:
        if from_ and through and from_ > through:
            return JSONResponse(  # type: ignore[return-value]
                status_code=422,
                content={
                    "detail": "from: must not be after through",
                    "errors": [{"field": "from", "message": "must not be after through"}],
                },
            )
        return queries.billing_detail(
            s, number, from_date=from_, through_date=through, page=page, size=size
        )

    app.include_router(router)

    @app.get("/health")
    def health() -> JSONResponse:
        ready = is_ready()
        return JSONResponse(
            status_code=200 if ready else 503, content={"status": "ok" if ready else "starting"}
        )

    return app
