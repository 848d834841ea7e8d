"""Register Now, in the guide's three steps: Personal Information, Login & Security
Information, Preference Information; then the Congratulations page.

Every step is one POST form whose buttons are `name="action"` (next/submit, previous,
cancel); the registration id identity answers after step 1 travels in a hidden field, never
in the URL. Identity checks everything; its refusals are shown next to the fields (their keys
are identity's JSON field names, which are also the input ids) or, without a field, in the
error summary. The date of birth, government ID, passwords and security answers are never
written back into a form.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from services.portal import owner_commands
from services.portal.gateway import ServiceUnavailable
from services.portal.owner_commands import CommandRefused
from services.portal.web.context import WebContext
from services.portal.web.deps import Form, MaybeOwner, text
from services.portal.web.rendering import render

TITLE = "Register Now"
STEPS = ("Personal Information", "Login & Security Information", "Preference Information")
LANGUAGES = ("English", "Spanish")
DATE_FORMATS = ("mm/dd/yyyy", "dd/mm/yyyy", "yyyy-mm-dd")
EXPIRED = "This registration has expired or does not exist. Please start again."
CANCELLED = "/register/cancelled"
PASSWORD_RULES = (
    "Must be at least 8 characters",
    "Must contain a mix of letters, numbers and at least one special character",
    "For password resets only, must not have been used within the last 5 passwords",
)
PERSONAL_REQUIRED = {
    "certificate_number": "Enter your certificate/policy number.",
    "first_name": "Enter your first name.",
    "last_name": "Enter your last name.",
    "email": "Enter your email address.",
    "date_of_birth": "Enter your date of birth as mm/dd/yyyy.",
    "government_id": "Enter your government ID as xxx-xx-xxxx.",
}
# Identity's input-validation messages for these are technical (pydantic's); the owner reads
# these instead. Identity's own refusals (e.g. "This user ID is already taken.") are kept.
FRIENDLIER = {
    "user_id": (
        "A user ID is 4 to 50 characters: letters, numbers and . _ @ - (starting with a "
        "letter or a number)."
    ),
    "certificate_number": "A certificate/policy number is up to 10 digits.",
    "email": "Enter an email address like jsmith@abc.com.",
    "code": "Enter the 8-digit code from the email.",
}
_NESTED = re.compile(r"^security_questions\.(\d)\.(question|answer)$")


def sentence(message: str) -> str:
    """'Value error, a thing is wrong' → 'A thing is wrong.'"""
    message = message.removeprefix("Value error, ").strip() or "This is not valid."
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def field_errors(refused: CommandRefused) -> dict[str, str]:
    """Identity's `{field: message}` keyed by the page's input ids."""
    errors: dict[str, str] = {}
    # A refusal of identity's own carries its message as the detail too; input validation
    # (pydantic) answers a summary of every field instead.
    validation = len(refused.errors) > 1 or refused.detail not in refused.errors.values()
    for name, message in refused.errors.items():
        if nested := _NESTED.match(name):
            index, part = nested.groups()
            name = f"{part}_{int(index) + 1}"
        elif name.startswith("security_questions"):
            name = "security_questions"
        friendlier = FRIENDLIER.get(name) if validation else None
        errors.setdefault(name, friendlier or sentence(message))
    return errors


def step_context(step: int, **context: Any) -> dict[str, Any]:
    return {"title": f"{TITLE} – {STEPS[step - 1]}", "steps": STEPS, "step": step, **context}


def routes(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def questions() -> list[str]:
        answer = await web.gateway.send("identity", "GET", "/registration/security-questions")
        if answer.status_code != 200:
            raise ServiceUnavailable("identity did not list the security questions")
        return list(answer.json()["questions"])

    def personal_page(
        request: Request, values: dict | None = None, status: int = 200, **context: Any
    ) -> Response:
        page = step_context(1, values=values or {}, **context)
        return render(request, "register_personal.html", page, status=status)

    async def credentials_page(
        request: Request, registration_id: str, status: int = 200, **context: Any
    ) -> Response:
        listed = await questions()
        chosen = context.pop("chosen", None) or listed[:3]
        page = step_context(
            2,
            registration_id=registration_id,
            questions=listed,
            chosen=chosen,
            password_rules=PASSWORD_RULES,
            **context,
        )
        return render(request, "register_credentials.html", page, status=status)

    def preferences_page(
        request: Request, registration_id: str, user_id: str, status: int = 200, **context: Any
    ) -> Response:
        page = step_context(
            3,
            registration_id=registration_id,
            user_id=user_id,
            languages=LANGUAGES,
            date_formats=DATE_FORMATS,
            **context,
        )
        return render(request, "register_preferences.html", page, status=status)

    def expired(request: Request) -> Response:
        return personal_page(request, message=EXPIRED, status=404)

    def cancel() -> Response:
        return RedirectResponse(CANCELLED, status_code=303)

    @router.get("/register")
    def start(request: Request, owner: MaybeOwner) -> Response:
        if owner:
            return RedirectResponse("/my-insurance", status_code=303)
        return personal_page(request)

    @router.get("/register/credentials")
    @router.get("/register/preferences")
    def step_by_address() -> Response:
        """A later step is only reached through the form (the draft travels in it)."""
        return RedirectResponse("/register", status_code=303)

    @router.post("/register")
    async def personal_information(request: Request, form: Form) -> Response:
        if text(form, "action") == "cancel":
            return cancel()
        values = {name: text(form, name, 100) for name in PERSONAL_REQUIRED}
        kept = {k: values[k] for k in ("certificate_number", "first_name", "last_name", "email")}
        errors = {name: msg for name, msg in PERSONAL_REQUIRED.items() if not values[name]}
        if errors:
            return personal_page(request, kept, 422, errors=errors)
        body = {"user_type": "Certificate Owner", "name_type": "Person", **values}
        try:
            draft = await owner_commands.forward(
                web.gateway, "identity", "POST", "/registration/personal", body
            )
        except CommandRefused as refused:
            errors = field_errors(refused)
            message = None if errors else refused.detail
            return personal_page(request, kept, refused.status, errors=errors, message=message)
        return await credentials_page(request, draft["registration_id"])

    @router.post("/register/credentials")
    async def login_and_security(request: Request, form: Form) -> Response:
        action = text(form, "action")
        registration_id = text(form, "registration_id", 100)
        if action == "cancel":
            return cancel()
        if action == "previous":
            return personal_page(request)
        if not registration_id:
            return expired(request)
        user_id = text(form, "user_id", 50)
        chosen = [text(form, f"question_{n}", 200) for n in (1, 2, 3)]
        errors = credential_errors(form, user_id, chosen, await questions())
        if errors:
            return await credentials_page(
                request, registration_id, 422, user_id=user_id, chosen=chosen, errors=errors
            )
        body = {
            "registration_id": registration_id,
            "user_id": user_id,
            "password": secret_field(form, "password"),
            "security_questions": [
                {"question": q, "answer": text(form, f"answer_{n}", 100)}
                for n, q in enumerate(chosen, start=1)
            ],
        }
        try:
            await owner_commands.forward(
                web.gateway, "identity", "POST", "/registration/credentials", body
            )
        except CommandRefused as refused:
            if refused.status == 404 or "registration_id" in refused.errors:
                return expired(request)
            errors = field_errors(refused)
            return await credentials_page(
                request,
                registration_id,
                refused.status,
                user_id=user_id,
                chosen=chosen,
                errors=errors,
                message=None if errors else refused.detail,
            )
        return preferences_page(request, registration_id, user_id)

    @router.post("/register/preferences")
    async def preference_information(request: Request, form: Form) -> Response:
        action = text(form, "action")
        registration_id = text(form, "registration_id", 100)
        user_id = text(form, "user_id", 50)
        if action == "cancel":
            return cancel()
        if not registration_id:
            return expired(request)
        if action == "previous":
            return await credentials_page(request, registration_id, user_id=user_id)
        language = text(form, "preferred_language", 20)
        date_format = text(form, "preferred_date_format", 20)
        body = {
            "registration_id": registration_id,
            "preferred_language": language,
            "preferred_date_format": date_format,
        }
        try:
            account = await owner_commands.forward(
                web.gateway, "identity", "POST", "/registration/preferences", body
            )
        except CommandRefused as refused:
            if refused.status == 404 or "registration_id" in refused.errors:
                return expired(request)
            if refused.status == 409 and not refused.errors:
                return personal_page(request, message=refused.detail, status=409)
            errors = field_errors(refused)
            return preferences_page(
                request,
                registration_id,
                user_id,
                refused.status,
                language=language,
                date_format=date_format,
                errors=errors,
                message=None if errors else refused.detail,
            )
        congratulations = {"title": "Congratulations!", "message": account.get("message", "")}
        return render(request, "register_done.html", congratulations)

    @router.get(CANCELLED)
    def cancelled(request: Request) -> Response:
        return render(request, "register_cancelled.html", {"title": "Registration Cancelled"})

    return router


def secret_field(form: FormData, name: str) -> str:
    """A password as typed (not stripped: spaces may be part of it), at most 128 characters."""
    value = form.get(name)
    return value[:128] if isinstance(value, str) else ""


def credential_errors(
    form: FormData, user_id: str, chosen: list[str], listed: list[str]
) -> dict[str, str]:
    """What the page can tell before asking identity (which checks the rest)."""
    errors: dict[str, str] = {}
    if not user_id:
        errors["user_id"] = "Enter a user ID."
    password = secret_field(form, "password")
    if not password:
        errors["password"] = "Enter a password."
    if secret_field(form, "confirm_password") != password:
        errors["confirm_password"] = "The passwords do not match."
    for n, question in enumerate(chosen, start=1):
        if question not in listed:
            errors[f"question_{n}"] = f"Choose security question {n}."
        if not text(form, f"answer_{n}", 100):
            errors[f"answer_{n}"] = f"Enter answer {n}."
    return errors
