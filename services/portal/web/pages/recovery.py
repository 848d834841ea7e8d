"""Forgot User ID and Forgot Your Password (identity's recovery commands).

Identity's answers never tell whether an account exists: the page shows them as they are.
The user ID travels between the two password steps in the form body; the date of birth,
security answer and passwords are never written back into a form.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.portal import owner_commands
from services.portal.owner_commands import CommandRefused
from services.portal.web.context import WebContext
from services.portal.web.deps import Form, MaybeOwner, text
from services.portal.web.pages.registration import PASSWORD_RULES, field_errors, secret_field
from services.portal.web.rendering import render

FORGOT_USER_ID = "Forgot User ID"
FORGOT_PASSWORD = "Forgot Your Password"
_CODE = re.compile(r"^\d{8}$")


def routes(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def signed_in() -> Response:
        return RedirectResponse("/my-insurance", status_code=303)

    # --- Forgot User ID -----------------------------------------------------------------

    def user_id_page(request: Request, status: int = 200, **context: Any) -> Response:
        page = {"title": FORGOT_USER_ID, "values": {}, **context}
        return render(request, "recovery_user_id.html", page, status=status)

    @router.get("/recovery/user-id")
    def forgot_user_id(request: Request, owner: MaybeOwner) -> Response:
        return signed_in() if owner else user_id_page(request)

    @router.post("/recovery/user-id")
    async def recover_user_id(request: Request, form: Form) -> Response:
        values = {
            name: text(form, name, 100)
            for name in ("first_name", "last_name", "date_of_birth", "email", "certificate_number")
        }
        kept = {k: v for k, v in values.items() if k != "date_of_birth"}
        errors: dict[str, str] = {}
        for name, message in (
            ("first_name", "Enter your first name."),
            ("last_name", "Enter your last name."),
            ("date_of_birth", "Enter your date of birth as mm/dd/yyyy."),
        ):
            if not values[name]:
                errors[name] = message
        if not (values["email"] or values["certificate_number"]):
            errors["email"] = "Enter your email address or a certificate/policy number."
        if errors:
            return user_id_page(request, 422, values=kept, errors=errors)
        body = {name: value for name, value in values.items() if value}
        try:
            answer = await owner_commands.forward(
                web.gateway, "identity", "POST", "/recovery/user-id", body
            )
        except CommandRefused as refused:
            errors = field_errors(refused)
            return user_id_page(
                request,
                refused.status,
                values=kept,
                errors=errors,
                message=None if errors else refused.detail,
            )
        page = {"title": FORGOT_USER_ID, "notice": answer.get("detail", "")}
        return render(request, "recovery_user_id_sent.html", page)

    # --- Forgot Your Password -----------------------------------------------------------

    def password_page(request: Request, status: int = 200, **context: Any) -> Response:
        page = {"title": FORGOT_PASSWORD, "user_id": "", **context}
        return render(request, "recovery_password.html", page, status=status)

    def reset_page(request: Request, status: int = 200, **context: Any) -> Response:
        page = {"title": FORGOT_PASSWORD, "password_rules": PASSWORD_RULES, **context}
        return render(request, "recovery_password_reset.html", page, status=status)

    @router.get("/recovery/password")
    def forgot_password(request: Request, owner: MaybeOwner) -> Response:
        return signed_in() if owner else password_page(request)

    @router.get("/recovery/password/reset")
    def reset_by_address() -> Response:
        return RedirectResponse("/recovery/password", status_code=303)

    @router.post("/recovery/password")
    async def request_code(request: Request, form: Form) -> Response:
        user_id = text(form, "user_id")
        if not user_id:
            return password_page(request, 422, errors={"user_id": "Enter your user ID."})
        try:
            answer = await owner_commands.forward(
                web.gateway, "identity", "POST", "/recovery/password", {"user_id": user_id}
            )
        except CommandRefused as refused:
            errors = field_errors(refused)
            message = None if errors else refused.detail
            return password_page(
                request, refused.status, user_id=user_id, errors=errors, message=message
            )
        return reset_page(
            request, user_id=user_id, question=answer.get("question", ""), info=answer["detail"]
        )

    @router.post("/recovery/password/reset")
    async def reset_password(request: Request, form: Form) -> Response:
        user_id = text(form, "user_id")
        if not user_id:
            return RedirectResponse("/recovery/password", status_code=303)
        question = text(form, "question", 200)
        code = text(form, "code", 20).replace(" ", "")
        answer = text(form, "answer", 100)
        new_password = secret_field(form, "new_password")
        errors: dict[str, str] = {}
        if not _CODE.match(code):
            errors["code"] = "Enter the 8-digit code from the email."
        if not answer:
            errors["answer"] = "Enter the answer to your security question."
        if not new_password:
            errors["new_password"] = "Enter a new password."
        if secret_field(form, "confirm_new_password") != new_password:
            errors["confirm_new_password"] = "The passwords do not match."
        context = {"user_id": user_id, "question": question, "code": code}
        if errors:
            return reset_page(request, 422, errors=errors, **context)
        body = {"user_id": user_id, "answer": answer, "code": code, "new_password": new_password}
        try:
            done = await owner_commands.forward(
                web.gateway, "identity", "POST", "/recovery/password/reset", body
            )
        except CommandRefused as refused:
            errors = field_errors(refused)
            message = None if errors else refused.detail
            return reset_page(request, refused.status, errors=errors, message=message, **context)
        page = {"title": "Password Changed", "notice": done.get("detail", "")}
        return render(request, "recovery_password_done.html", page)

    return router
