"""My Account → Language and Date Format: the signed-in owner's preferred language and date
format (identity's account preferences). Every page shows dates in the chosen format."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.portal import owner_commands
from services.portal.auth import SignedInOwner, presented_token
from services.portal.owner_commands import CommandRefused
from services.portal.web.context import WebContext
from services.portal.web.deps import Form, PageOwner, text
from services.portal.web.pages.registration import DATE_FORMATS, LANGUAGES, field_errors
from services.portal.web.rendering import render

TITLE = "Language and Date Format"
NOTICES = {"saved": "Your preferences were saved."}


def routes(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request, owner: SignedInOwner, status: int = 200, **context: Any) -> Response:
        values = {
            "title": TITLE,
            "breadcrumbs": [("My Workspace", "/my-insurance"), (TITLE, None)],
            "languages": LANGUAGES,
            "date_formats": DATE_FORMATS,
            "language": owner.preferred_language,
            "date_format_choice": owner.preferred_date_format,
            "today": web.clock.today(),
            **context,
        }
        return render(request, "account_preferences.html", values, owner=owner, status=status)

    @router.get("/account/preferences")
    def preferences(request: Request, owner: PageOwner, done: str = "") -> Response:
        return page(request, owner, notice=NOTICES.get(done))

    @router.post("/account/preferences")
    async def save(request: Request, owner: PageOwner, form: Form) -> Response:
        language = text(form, "preferred_language", 20)
        date_format = text(form, "preferred_date_format", 20)
        errors: dict[str, str] = {}
        if language not in LANGUAGES:
            errors["preferred_language"] = "Choose English or Spanish."
        if date_format not in DATE_FORMATS:
            errors["preferred_date_format"] = "Choose one of the date formats listed."
        chosen = {"language": language, "date_format_choice": date_format}
        if errors:
            return page(request, owner, 422, errors=errors, **chosen)
        try:
            await owner_commands.change_account_preferences(
                web.engine,
                web.gateway,
                presented_token(request) or "",
                owner.account_id,
                language,
                date_format,
            )
        except CommandRefused as refused:
            errors = field_errors(refused)
            message = None if errors else refused.detail
            return page(request, owner, refused.status, errors=errors, message=message, **chosen)
        return RedirectResponse("/account/preferences?done=saved", status_code=303)

    return router
