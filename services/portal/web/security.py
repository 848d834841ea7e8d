"""The browser-facing defences of the pages: CSRF tokens on every form and the response
headers a portal with personal data needs.

CSRF: a random `portal_csrf` cookie (HttpOnly, Secure, SameSite=Strict) and, in each form, a
token that is the HMAC of that cookie under the portal's secret; a POST is accepted only when
the two match and any Origin header is our own. A forged form from another site can neither
read the cookie nor compute the token.

Headers: a strict Content-Security-Policy (no inline script or style, nothing from other
origins, no framing), nosniff, a same-origin referrer policy, and `Cache-Control: no-store`
on everything but the static files, so no personal page stays in a cache or in the back-forward
history after log-out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response

CSRF_COOKIE = "portal_csrf"
CSRF_FIELD = "csrf_token"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class CsrfRejected(Exception):
    """A form post without a valid CSRF token, or from another origin: 403."""


class CsrfGuard:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _token_for(self, cookie: str) -> str:
        return hmac.new(self._secret, cookie.encode(), hashlib.sha256).hexdigest()

    def token(self, request: Request) -> tuple[str, str | None]:
        """(the form token, a new cookie value to set — or None when the browser has one)."""
        cookie = request.cookies.get(CSRF_COOKIE)
        if cookie and 20 <= len(cookie) <= 100:
            return self._token_for(cookie), None
        cookie = request.state.__dict__.get("csrf_cookie") or secrets.token_urlsafe(32)
        request.state.csrf_cookie = cookie
        return self._token_for(cookie), cookie

    @staticmethod
    def set_cookie(response: Response, cookie: str) -> None:
        response.set_cookie(CSRF_COOKIE, cookie, httponly=True, secure=True, samesite="strict")

    def check(self, request: Request, presented: str | None) -> None:
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
            raise CsrfRejected("the form came from another site")
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not presented:
            raise CsrfRejected("the form has expired")
        if not hmac.compare_digest(self._token_for(cookie), presented):
            raise CsrfRejected("the form has expired")


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class SecurityHeaders:
    """Pure ASGI middleware (cheap on the API's hot path): adds the headers above."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith("/static/")

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in _COMMON_HEADERS if h[0] not in present]
                content_type = dict(headers).get(b"content-type", b"")
                if b"content-security-policy" not in present:
                    policy = (
                        b"frame-ancestors 'none'"  # the browser's PDF viewer needs the rest
                        if content_type.startswith(b"application/pdf")
                        else CONTENT_SECURITY_POLICY.encode()
                    )
                    headers.append((b"content-security-policy", policy))
                if not cacheable and b"cache-control" not in present:
                    headers += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
