"""Dependencies every route module shares: the database session, the signed-in owner, the
certificate number of a path, and relaying another service's answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from services.portal import queries
from services.portal.auth import SignedInOwner, owner_for_token, presented_token
from shared.contracts.types import pad_certificate_number


def session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as s:
        yield s


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
