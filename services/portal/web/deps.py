"""What every page handler needs: the signed-in owner (or a redirect to log in), the owner
when there is one, and a CSRF-checked form."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from services.portal.auth import NotSignedIn, SignedInOwner, owner_for_token, presented_token
from services.portal.routes.common import Db as Db
from services.portal.web.security import CSRF_FIELD, CsrfGuard


class LoginRequired(Exception):
    """A page that needs a signed-in owner was asked for without one: 303 to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def safe_next(path: str | None, default: str = "/my-insurance") -> str:
    """Only a path of this site (no scheme, no host, no //) may be a redirect target."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path


def login_url(next_path: str | None = None) -> str:
    if not next_path or next_path == "/my-insurance":
        return "/login"
    return f"/login?next={quote(next_path, safe='/')}"


def _owner(request: Request) -> SignedInOwner:
    with Session(request.app.state.engine) as s:  # closed at once (see routes.common)
        return owner_for_token(s, presented_token(request))


def page_owner(request: Request) -> SignedInOwner:
    try:
        return _owner(request)
    except NotSignedIn:
        path = request.url.path
        if request.method == "GET" and request.url.query:
            path += f"?{request.url.query}"
        raise LoginRequired(path) from None


def optional_owner(request: Request) -> SignedInOwner | None:
    try:
        return _owner(request)
    except NotSignedIn:
        return None


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token is checked (CsrfRejected → 403 otherwise)."""
    form = await request.form()
    guard: CsrfGuard = request.app.state.csrf
    token = form.get(CSRF_FIELD)
    guard.check(request, token if isinstance(token, str) else None)
    return form


PageOwner = Annotated[SignedInOwner, Depends(page_owner)]
MaybeOwner = Annotated[SignedInOwner | None, Depends(optional_owner)]
Form = Annotated[FormData, Depends(checked_form)]


def text(form: FormData, name: str, limit: int = 200) -> str:
    """A form field as stripped text, cut at `limit` characters (files are ignored)."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""
