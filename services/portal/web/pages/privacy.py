"""Your Privacy Rights (California): the rights of the privacy page, the signed-in owner's
requests with their respond-by dates, a request to know (then the JSON download) and a
request to delete (confirmed explicitly; the account is closed and the owner logged out).

And the public form, `/privacy/request`, for people without an account and for authorized
agents: name, date of birth, email, cell number and address are matched against the records
by identity's privacy office, which answers what it could verify. The form is POST only; its
answer is rendered, never redirected, so nothing typed reaches a URL; the date of birth is
never written back into the form.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from services.portal import owner_commands
from services.portal.auth import SignedInOwner, clear_session_cookie, presented_token
from services.portal.owner_commands import CommandRefused
from services.portal.queries.privacy import answered_request_to_know, privacy_requests
from services.portal.routes.privacy import EXPORT_PATH
from services.portal.web.context import WebContext
from services.portal.web.deps import Db, Form, MaybeOwner, PageOwner, text
from services.portal.web.formatting import BadDate, parse_date
from services.portal.web.rendering import render
from shared.privacy_catalog import categories_answer

TITLE = "Your Privacy Rights (California)"
PUBLIC_TITLE = "Make a California Privacy Request"
OUTCOME_TITLE = "Your Privacy Request"
KNOW_DONE = "Your request to know was answered. Download your personal information below."
CONFIRM_DELETE = "Tick the box to confirm that you want your personal information deleted."
REQUEST_TYPES = (
    ("know_categories", "Request to know: the categories of personal information"),
    ("know_specific", "Request to know: the specific pieces of personal information"),
    ("delete", "Request to delete my personal information"),
)
WHO = (("self", "I am the consumer"), ("agent", "I am an authorized agent"))
_TEXT_FIELDS = {
    "first_name": ("First Name", 120),
    "last_name": ("Last Name", 120),
    "email": ("Email Address", 200),
    "cell": ("Cell Phone Number", 20),
    "street": ("Street Address", 120),
    "city": ("City", 80),
    "state": ("State", 40),
    "zip_code": ("Zip Code", 10),
}
_AGENT_FIELDS = {
    "agent_name": ("Agent's Name", 200),
    "agent_email": ("Agent's Email Address", 200),
    "agent_permission": ("Written permission", 1000),
}
# The inputs in the order of the form (the error summary lists them so).
FORM_ORDER = (
    "request_type",
    "first_name",
    "last_name",
    "date_of_birth",
    *list(_TEXT_FIELDS)[2:],
    "who",
    *_AGENT_FIELDS,
    "agent_attested",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9 ()+.-]{7,20}$")
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
NOT_VERIFIED = (
    "We could not verify your identity from the information given, so we cannot act on this "
    "request. Check what you entered and try again, or call us."
)


def public_values(form: FormData) -> dict[str, str]:
    """What was typed, to show again — everything but the date of birth."""
    names = {**_TEXT_FIELDS, **_AGENT_FIELDS}
    values = {name: text(form, name, limit) for name, (_, limit) in names.items()}
    values["request_type"] = text(form, "request_type", 40)
    values["who"] = text(form, "who", 10) or "self"
    values["agent_attested"] = "yes" if text(form, "agent_attested", 10) == "yes" else ""
    return values


def local_errors(values: dict[str, str], born_text: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, (label, _) in _TEXT_FIELDS.items():
        if not values[name]:
            errors[name] = f"Enter the {label.lower()}."
    if not born_text:
        errors["date_of_birth"] = "Enter the date of birth as mm/dd/yyyy."
    else:
        try:
            parse_date(born_text, None)
        except BadDate:
            errors["date_of_birth"] = "Enter the date of birth as mm/dd/yyyy."
    if values["email"] and not _EMAIL.match(values["email"]):
        errors["email"] = "Enter a valid email address."
    if values["cell"] and not _PHONE.match(values["cell"]):
        errors["cell"] = "Enter the cell phone number as digits, for example 860-555-0101."
    if values["zip_code"] and not _ZIP.match(values["zip_code"]):
        errors["zip_code"] = "Enter a 5-digit zip code, or ZIP+4 as 12345-6789."
    if values["request_type"] not in dict(REQUEST_TYPES):
        errors["request_type"] = "Choose what you are asking for."
    if values["who"] not in dict(WHO):
        errors["who"] = "Say who is making the request."
    if values["who"] == "agent":
        for name, (label, _) in _AGENT_FIELDS.items():
            if not values[name]:
                errors[name] = f"Enter the {label[0].lower() + label[1:]}."
        if values["agent_email"] and not _EMAIL.match(values["agent_email"]):
            errors["agent_email"] = "Enter a valid email address."
        if not values["agent_attested"]:
            errors["agent_attested"] = (
                "Confirm that the consumer gave you signed written permission to make this "
                "request for them."
            )
    return {name: errors[name] for name in FORM_ORDER if name in errors}


def request_body(values: dict[str, str], born_text: str) -> dict[str, Any]:
    """Identity's `POST /privacy/requests` body."""
    born = parse_date(born_text, None)
    kind = "delete" if values["request_type"] == "delete" else "know"
    # A request to delete needs the higher degree of certainty (3 matching points).
    detail = "categories" if values["request_type"] == "know_categories" else "specific"
    agent = None
    if values["who"] == "agent":
        agent = {
            "name": values["agent_name"],
            "email": values["agent_email"],
            "permission": values["agent_permission"],
            "attested": values["agent_attested"] == "yes",
        }
    return {
        "kind": kind,
        "detail": detail,
        "requester": {
            "first_name": values["first_name"],
            "last_name": values["last_name"],
            "date_of_birth": born.isoformat() if born else None,
            "email": values["email"],
            "cell": values["cell"],
            "address": {
                "street": values["street"],
                "city": values["city"],
                "state": values["state"],
                "zip_code": values["zip_code"],
            },
        },
        "agent": agent,
    }


def refusal_errors(refused: CommandRefused) -> dict[str, str]:
    """Identity's `{field: message}` keyed by the form's input ids (`requester.address.city`
    → `city`, `agent.attested` → `agent_attested`, `kind` → `request_type`)."""
    inputs = {*_TEXT_FIELDS, *_AGENT_FIELDS, "date_of_birth", "agent_attested", "request_type"}
    errors: dict[str, str] = {}
    for name, message in refused.errors.items():
        parts = [p for p in name.split(".") if p != "body"]
        if not parts:
            continue
        if parts[0] == "agent":
            field = f"agent_{parts[-1]}" if len(parts) > 1 else "agent_attested"
        elif parts[0] in ("kind", "detail"):
            field = "request_type"
        else:
            field = parts[-1]
        if field in inputs:
            errors.setdefault(field, message)
    return errors


def routes(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def account_page(
        request: Request, owner: SignedInOwner, db: Db, status: int = 200, **context: Any
    ) -> Response:
        values = {
            "title": TITLE,
            "breadcrumbs": [("My Workspace", "/my-insurance"), (TITLE, None)],
            "requests": db(privacy_requests, owner.party_id).requests,
            "answered": db(answered_request_to_know, owner.party_id),
            "export_href": EXPORT_PATH,
            "categories": categories_answer(),
            **context,
        }
        return render(request, "privacy.html", values, owner=owner, status=status)

    @router.get("/account/privacy")
    def show(request: Request, owner: PageOwner, db: Db, done: str = "") -> Response:
        return account_page(request, owner, db, notice=KNOW_DONE if done == "know" else None)

    async def send(request: Request, owner: SignedInOwner, db: Db, kind: str) -> Response | None:
        """The owner's request to know or to delete; None once identity took it, otherwise the
        page again with identity's reason (rendered off the event loop: it reads the database)."""
        try:
            await owner_commands.request_privacy(
                web.engine, web.gateway, presented_token(request) or "", owner.account_id, kind
            )
        except CommandRefused as refused:
            message = refused.detail or "Please try again."
            return await asyncio.to_thread(
                account_page, request, owner, db, refused.status, message=message
            )
        return None

    @router.post("/account/privacy/know")
    async def know(request: Request, owner: PageOwner, db: Db, _: Form) -> Response:
        refused = await send(request, owner, db, "know")
        return refused or RedirectResponse("/account/privacy?done=know", status_code=303)

    @router.post("/account/privacy/delete")
    async def delete(request: Request, owner: PageOwner, db: Db, form: Form) -> Response:
        if text(form, "confirm", 10) != "yes":
            errors = {"confirm": CONFIRM_DELETE}
            return await asyncio.to_thread(account_page, request, owner, db, 422, errors=errors)
        refused = await send(request, owner, db, "delete")
        if refused:
            return refused
        response = RedirectResponse("/login?done=deleted", status_code=303)
        clear_session_cookie(response)
        return response

    def public_page(
        request: Request,
        owner: SignedInOwner | None,
        values: dict[str, str] | None = None,
        status: int = 200,
        **context: Any,
    ) -> Response:
        crumbs = [("My Workspace", "/my-insurance" if owner else "/login"), (PUBLIC_TITLE, None)]
        page = {
            "title": PUBLIC_TITLE,
            "breadcrumbs": crumbs,
            "values": values or {"who": "self"},
            "request_types": [("", "Select"), *REQUEST_TYPES],
            "who_options": WHO,
            **context,
        }
        return render(request, "privacy_request.html", page, owner=owner, status=status)

    @router.get("/privacy/request")
    def public_form(request: Request, owner: MaybeOwner) -> Response:
        return public_page(request, owner)

    @router.post("/privacy/request")
    async def public_request(request: Request, owner: MaybeOwner, form: Form) -> Response:
        values = public_values(form)
        born_text = text(form, "date_of_birth", 10)
        errors = local_errors(values, born_text)
        if errors:
            message = "Please correct the fields below."
            return public_page(request, owner, values, 422, errors=errors, message=message)
        try:
            answer = await owner_commands.public_privacy_request(
                web.gateway, request_body(values, born_text)
            )
        except CommandRefused as refused:
            errors = refusal_errors(refused)
            message = refused.detail or "Your request could not be accepted."
            status = refused.status if 400 <= refused.status < 500 else 422
            return public_page(request, owner, values, status, errors=errors, message=message)
        return render(
            request,
            "privacy_request_outcome.html",
            {
                "title": OUTCOME_TITLE,
                "breadcrumbs": [(PUBLIC_TITLE, "/privacy/request"), (OUTCOME_TITLE, None)],
                "answer": answer,
                "outcome": outcome_of(answer),
                "categories": answer.get("categories") or categories_answer(),
                "not_verified": NOT_VERIFIED,
            },
            owner=owner,
        )

    return router


def outcome_of(answer: dict[str, Any]) -> str:
    """Which answer to show: "denied", "categories", "specific" or "deleted"."""
    status, level = answer.get("status"), answer.get("level") or "none"
    if status == "denied" or level == "none":
        return "denied"
    if answer.get("kind") == "delete":
        return "deleted"
    return "specific" if level == "specific" else "categories"
