"""Who is asking: the signed-in owner, from a bearer token or the session cookie.

Only the SHA-256 digest of a token is ever stored (projected from identity's SessionStarted);
a token is valid while its session has not ended and has not expired.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request, Response
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from services.portal.readmodels import PortalSessionView, PortalUserView

COOKIE_NAME = "portal_session"
SESSION_SECONDS = 8 * 3600


class NotSignedIn(Exception):
    """No valid session: 401."""


@dataclass(frozen=True)
class SignedInOwner:
    party_id: str
    account_id: str
    user_id: str
    session_id: str
    preferred_language: str
    preferred_date_format: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE_NAME) or None


# The session and its user in one round trip (every signed-in request asks this first).
_SESSION_AND_USER = (
    select(PortalSessionView, PortalUserView)
    .outerjoin(PortalUserView, PortalUserView.account_id == PortalSessionView.account_id)
    .where(PortalSessionView.token_digest == bindparam("digest"))
)


def owner_for_token(session: Session, token: str | None) -> SignedInOwner:
    if not token:
        raise NotSignedIn("sign in to continue")
    found = session.execute(_SESSION_AND_USER, {"digest": token_digest(token)}).first()
    row, user = found if found is not None else (None, None)
    if row is None or row.ended or _aware(row.expires_at) <= datetime.now(UTC):
        raise NotSignedIn("your session has ended; sign in again")
    return SignedInOwner(
        party_id=row.party_id,
        account_id=row.account_id,
        user_id=user.user_id if user else "",
        session_id=row.session_id,
        preferred_language=user.preferred_language if user else "English",
        preferred_date_format=user.preferred_date_format if user else "mm/dd/yyyy",
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def set_session_cookie(response: Response, token: str) -> None:
    """HttpOnly, Secure, SameSite=Strict: never readable by scripts nor sent cross-site
    (browsers accept Secure cookies from http://localhost and 127.0.0.1 too)."""
    response.set_cookie(
        COOKIE_NAME, token, max_age=SESSION_SECONDS, httponly=True, secure=True, samesite="strict"
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, httponly=True, secure=True, samesite="strict")
