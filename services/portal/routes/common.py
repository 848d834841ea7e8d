"""Dependencies every route module shares: the database session, the signed-in owner, the
certificate number of a path, and relaying another service's answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from services.portal import queries
from services.portal.auth import SignedInOwner, owner_for_token, presented_token
from shared.contracts.types import pad_certificate_number

# Closing a session only gives its connection back: it never waits for the pool, so threads of
# its own can always run it (see `session`).
_CLOSER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="session-close")


async def session(request: Request) -> AsyncIterator[Session]:
    """The request's session, closed (its connection back in the pool) on threads kept for
    that alone. Closed on the worker threads the sync handlers run on (or asyncio's default
    executor, where `read_your_write` and `in_thread` open sessions), it would deadlock once
    every such thread waits for a pooled connection: the sessions holding the connections
    could never be closed, and every request stalled until the pool's 30 s timeout (50 owners
    at once did that under `make chaos`'s load test)."""
    s = Session(request.app.state.engine)
    try:
        yield s
    finally:
        await asyncio.get_running_loop().run_in_executor(_CLOSER, s.close)


def signed_in(request: Request) -> SignedInOwner:
    """The owner of the request's token, read in a session of its own that is closed at once:
    a route that then waits on another service holds no database connection meanwhile."""
    with Session(request.app.state.engine) as s:
        return owner_for_token(s, presented_token(request))


def certificate_number(number: Annotated[str, Path(description="up to 10 digits")]) -> str:
    try:
        return pad_certificate_number(number)
    except ValueError as exc:
        raise queries.NotFound(f"certificate {number} not found") from exc


Db = Annotated[Session, Depends(session)]
Owner = Annotated[SignedInOwner, Depends(signed_in)]
Number = Annotated[str, Depends(certificate_number)]


def relay(response: Any) -> JSONResponse | Response:
    """Answer with what the owning service answered."""
    if response.status_code == 204 or not response.content:
        return Response(status_code=response.status_code)
    return JSONResponse(status_code=response.status_code, content=response.json())


def unprocessable(field: str, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={"detail": f"{field}: {message}", "errors": [{"field": field, "message": message}]},
    )
