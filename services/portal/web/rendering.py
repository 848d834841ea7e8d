"""Jinja2 over the same query results as the JSON API: one `render` for every page.

Every page gets the signed-in owner (or None), the CSRF token for its forms, the `lang` of
the owner's preferred language, and the `date` and `money` filters, which format in the owner's
preferred date format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from services.portal.auth import SignedInOwner
from services.portal.web.formatting import (
    DEFAULT_DATE_FORMAT,
    format_date,
    format_money,
    language_tag,
)
from services.portal.web.security import CsrfGuard

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.trim_blocks = True
TEMPLATES.env.lstrip_blocks = True

INSURER = "Harborview Mutual"
CUSTOMER_SERVICE_PHONE = "1-800-555-0142"  # fictional (555-01xx numbers are reserved)
CUSTOMER_SERVICE_HOURS = "Monday to Friday, 8 a.m. to 8 p.m. Eastern"


@pass_context
def _date(context: Any, value: Any) -> str:
    return format_date(value, context.get("date_format"))


TEMPLATES.env.filters["date"] = _date
TEMPLATES.env.filters["money"] = format_money
TEMPLATES.env.globals.update(
    insurer=INSURER,
    customer_service_phone=CUSTOMER_SERVICE_PHONE,
    customer_service_hours=CUSTOMER_SERVICE_HOURS,
)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    owner: SignedInOwner | None = None,
    status: int = 200,
) -> HTMLResponse:
    guard: CsrfGuard = request.app.state.csrf
    token, new_cookie = guard.token(request)
    date_format = owner.preferred_date_format if owner else DEFAULT_DATE_FORMAT
    page = {
        "owner": owner,
        "csrf_token": token,
        "date_format": date_format,
        "lang": language_tag(owner.preferred_language if owner else None),
        "errors": {},
        **(context or {}),
    }
    response = TEMPLATES.TemplateResponse(request, template, page, status_code=status)
    if new_cookie:
        guard.set_cookie(response, new_cookie)
    return response
