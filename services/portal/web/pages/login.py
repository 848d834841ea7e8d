"""Log-In (user ID, Next, then password, Log In) and Log Out; the site root.

The user ID travels from the first step to the second in the form body, never in the URL.
Every failed log-in shows identity's one message, so a page never tells whether a user ID
exists.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.portal import owner_commands
from services.portal.auth import clear_session_cookie, presented_token, set_session_cookie
from services.portal.web.context import WebContext
from services.portal.web.deps import Form, MaybeOwner, safe_next, text
from services.portal.web.rendering import render

LOGGED_OUT = "You have logged out."
ACCOUNT_DELETED = (
    "Your request to delete was carried out: your personal information was deleted, your "
    "account is closed and you have been logged out. Information needed to service a "
    "certificate in force, and claims files, are kept under an exemption until they may be "
    "deleted."
)
NOTICES = {"logged-out": LOGGED_OUT, "deleted": ACCOUNT_DELETED}


def routes(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def root(owner: MaybeOwner) -> Response:
        return RedirectResponse("/my-insurance" if owner else "/login", status_code=303)

    @router.get("/login")
    def user_id_step(
        request: Request, owner: MaybeOwner, next: str = "", done: str = ""
    ) -> Response:
        if owner:
            return RedirectResponse(safe_next(next), status_code=303)
        notice = NOTICES.get(done)
        return render(
            request, "login.html", {"title": "Log In", "next": safe_next(next), "notice": notice}
        )

    @router.post("/login")
    def password_step(request: Request, form: Form) -> Response:
        user_id = text(form, "user_id")
        next_path = safe_next(text(form, "next", 500))
        if not user_id:
            return render(
                request,
                "login.html",
                {
                    "title": "Log In",
                    "next": next_path,
                    "errors": {"user_id": "Enter your user ID."},
                },
                status=422,
            )
        return render(
            request,
            "login_password.html",
            {"title": "Log In", "user_id": user_id, "next": next_path},
        )

    @router.post("/login/password")
    async def log_in(request: Request, form: Form) -> Response:
        user_id = text(form, "user_id")
        password = form.get("password")
        next_path = safe_next(text(form, "next", 500))
        context = {"title": "Log In", "user_id": user_id, "next": next_path}
        if not user_id:
            return RedirectResponse("/login", status_code=303)
        if not isinstance(password, str) or not password:
            context["errors"] = {"password": "Enter your password."}
            return render(request, "login_password.html", context, status=422)
        try:
            started = await owner_commands.log_in(
                web.engine, web.gateway, user_id, password[:1024], presented_token(request)
            )
        except owner_commands.CommandRefused as refused:
            context["message"] = refused.detail or "The user ID or password is incorrect."
            return render(request, "login_password.html", context, status=refused.status)
        response = RedirectResponse(next_path, status_code=303)
        set_session_cookie(response, started.token)
        return response

    @router.post("/logout")
    async def log_out(request: Request, _: Form) -> Response:
        await owner_commands.log_out(web.engine, web.gateway, presented_token(request))
        response = RedirectResponse("/login?done=logged-out", status_code=303)
        clear_session_cookie(response)
        return response

    return router
