"""Dependencies every route module shares: the database session, the signed-in owner, the
certificate number of a path, and relaying another service's answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.portal import queries
from services.portal.auth import SignedInOwner, owner_for_token, presented_token
from shared.contracts.types import pad_certificate_number

P = ParamSpec("P")
T = TypeVar("T")


class Reads:
    """Runs a query function in a database session of its own, opened and closed within the
    call, on the thread that calls it (a sync route runs on one of the worker threads).

    The connection is back in the pool before the route returns. A session that outlived the
    route — closed by a yield dependency's teardown — held its connection while FastAPI
    waited for a worker thread to validate the response: with every worker thread waiting
    for a pooled connection (50 owners at once, `make chaos` and `make bench`'s figure 7),
    nothing could finish and every request stalled until the pool's 30 s timeout."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(
        self, query: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with Session(self.engine) as s:
            return query(s, *args, **kwargs)

    def session(self) -> Session:
        """A session for several queries: use it as `with db.session() as s:`."""
        return Session(self.engine)


async def reads(request: Request) -> Reads:  # async: no worker thread just to build it
    return Reads(request.app.state.engine)


def signed_in(request: Request) -> SignedInOwner:
    """The owner of the request's token, read in a session of its own that is closed at once:
    a route that then waits on another service holds no database connection meanwhile."""
    with Session(request.app.state.engine) as s:
        return owner_for_token(s, presented_token(request))


async def certificate_number(number: Annotated[str, Path(description="up to 10 digits")]) -> str:
    try:
        return pad_certificate_number(number)
    except ValueError as exc:
        raise queries.NotFound(f"certificate {number} not found") from exc


Db = Annotated[Reads, Depends(reads)]
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
