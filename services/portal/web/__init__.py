"""The owner's web pages (server-rendered, Jinja2), over the same queries and owner commands
as the JSON API. `install_web` adds them to the portal app: pages, static files, the security
headers, CSRF, and HTML error pages for every path outside /api and /backoffice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.portal import queries
from services.portal.auth import NotSignedIn, SignedInOwner, owner_for_token, presented_token
from services.portal.gateway import ServiceUnavailable
from services.portal.owner_commands import CommandRefused
from services.portal.web.context import WebContext
from services.portal.web.deps import LoginRequired, login_url
from services.portal.web.pages import PAGE_MODULES
from services.portal.web.rendering import HERE, render
from services.portal.web.security import CsrfGuard, CsrfRejected, SecurityHeaders

_NOT_PAGES = ("/api/", "/backoffice/", "/health", "/docs", "/openapi.json", "/redoc")

_ERROR_PAGES: dict[int, tuple[str, str]] = {
    403: ("This form has expired", "Reload the page and try again."),
    404: ("Page not found", "The page you asked for does not exist or is not yours to see."),
    405: ("Page not found", "The page you asked for does not exist."),
    422: ("Something was not right", "Go back, check what you entered and try again."),
    503: (
        "Temporarily unavailable",
        "Part of the portal is not answering right now. Please try again in a few minutes.",
    ),
}


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(_NOT_PAGES)


def _owner_if_any(request: Request) -> SignedInOwner | None:
    try:
        with Session(request.app.state.engine) as s:
            return owner_for_token(s, presented_token(request))
    except (NotSignedIn, SQLAlchemyError):
        return None


async def error_page(request: Request, status: int) -> Response:
    title, message = _ERROR_PAGES.get(status, ("Something went wrong", "Please try again."))
    context = {"title": title, "message": message}
    owner = await asyncio.to_thread(_owner_if_any, request)  # never on the event loop
    return render(request, "error.html", context, owner=owner, status=status)


def install_web(app: FastAPI, context: WebContext, csrf_secret: bytes) -> None:
    app.state.csrf = CsrfGuard(csrf_secret)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in PAGE_MODULES:
        app.include_router(module.routes(context))
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _: CsrfRejected) -> Response:
        return await error_page(request, 403)

    def html_or(kind: type[Exception] | int, status: int) -> None:
        """Pages get an HTML error page; the API keeps its own (JSON) handler."""
        api_handler: Callable = app.exception_handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            if not is_page(request):
                return await api_handler(request, exc)
            code = getattr(exc, "status_code", None) or getattr(exc, "status", None) or status
            return await error_page(request, int(code))

        app.add_exception_handler(kind, handler)

    app.exception_handlers.setdefault(StarletteHTTPException, _starlette_default)
    for kind, status in (
        (queries.NotFound, 404),
        (NotSignedIn, 401),
        (ServiceUnavailable, 503),
        (CommandRefused, 422),
        (RequestValidationError, 422),
        (StarletteHTTPException, 404),
    ):
        html_or(kind, status)


async def _starlette_default(request: Request, exc: Exception) -> Response:
    from fastapi.exception_handlers import http_exception_handler

    return await http_exception_handler(request, exc)  # type: ignore[arg-type]
