"""What an owner *does* through the portal, for the JSON API and the web pages alike.

Each command is forwarded to the service that owns it (`gateway.py`) and then waits until the
portal's own read model shows the effect, so the next page or query reads what was written.
A refusal by the owning service is raised as `CommandRefused`, carrying its status, message
and the fields at fault: the API answers it as JSON, the pages show it next to the fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.portal import queries
from services.portal.auth import token_digest
from services.portal.gateway import CommandGateway, read_your_write
from services.portal.queries.privacy import privacy_request
from services.portal.readmodels import (
    DeliveryPreferenceView,
    DocumentView,
    OwnerProfileView,
    PortalSessionView,
    PortalUserView,
)
from shared.sqldb import in_thread


@dataclass
class CommandRefused(Exception):
    """The owning service said no: its HTTP status, message and `{field: message}`."""

    status: int
    detail: str
    errors: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def __str__(self) -> str:
        return self.detail

    @classmethod
    def from_answer(cls, answer: httpx.Response) -> CommandRefused:
        try:
            body = answer.json()
        except ValueError:
            body = {"detail": answer.text or f"HTTP {answer.status_code}"}
        if not isinstance(body, dict):
            body = {"detail": str(body)}
        errors = {
            str(e.get("field")): str(e.get("message"))
            for e in body.get("errors") or []
            if isinstance(e, dict) and e.get("field")
        }
        return cls(answer.status_code, str(body.get("detail", "")), errors, body)


def _accepted(answer: httpx.Response, *ok: int) -> httpx.Response:
    if answer.status_code not in ok:
        raise CommandRefused.from_answer(answer)
    return answer


async def forward(
    gateway: CommandGateway, service: str, method: str, path: str, body: Any = None, *ok: int
) -> dict:
    """A command with nothing to wait for (registration steps, recovery): its answer body."""
    answer = _accepted(await gateway.send(service, method, path, body), *(ok or (200, 201, 202)))
    return answer.json() if answer.content else {}


@dataclass(frozen=True)
class StartedSession:
    token: str
    expires_at: str | None


async def log_in(
    engine: Engine,
    gateway: CommandGateway,
    user_id: str,
    password: str,
    previous_token: str | None = None,
) -> StartedSession:
    """Identity checks the password; the new session is usable as soon as this returns."""
    body: dict[str, Any] = {"user_id": user_id, "password": password}
    if previous_token:
        body["previous_token"] = previous_token  # rotated: the old session ends
    answer = _accepted(await gateway.send("identity", "POST", "/sessions", body), 201).json()
    digest = token_digest(answer["token"])

    def visible() -> bool:
        with Session(engine) as s:
            return s.get(PortalSessionView, digest) is not None

    await read_your_write(visible)
    return StartedSession(answer["token"], answer.get("expires_at"))


async def log_out(engine: Engine, gateway: CommandGateway, token: str | None) -> None:
    if not token:
        return
    await gateway.send("identity", "POST", "/sessions/end", {"token": token})
    digest = token_digest(token)

    def ended() -> bool:
        with Session(engine) as s:
            row = s.get(PortalSessionView, digest)
            return row is None or row.ended

    await read_your_write(ended)


async def change_account_preferences(
    engine: Engine,
    gateway: CommandGateway,
    token: str,
    account_id: str,
    preferred_language: str,
    preferred_date_format: str,
) -> None:
    """Language and date format of the signed-in owner's account (identity's command)."""
    wanted = {
        "preferred_language": preferred_language,
        "preferred_date_format": preferred_date_format,
    }
    answer = await gateway.send(
        "identity", "PUT", "/preferences", wanted, headers={"Authorization": f"Bearer {token}"}
    )
    _accepted(answer, 200)

    def shown() -> bool:
        with Session(engine) as s:
            user = s.get(PortalUserView, account_id)
            return (
                user is not None
                and user.preferred_language == preferred_language
                and user.preferred_date_format == preferred_date_format
            )

    await read_your_write(shown)


async def update_contact(
    engine: Engine, gateway: CommandGateway, party_id: str, contact: dict
) -> None:
    """Policy records the new contact information; wait until the profile shows it."""
    _accepted(await gateway.send("policy", "PUT", f"/parties/{party_id}/contact", contact), 200)

    def shown() -> bool:
        with Session(engine) as s:
            row = s.get(OwnerProfileView, party_id)
            return row is not None and row.contact == contact

    await read_your_write(shown)


async def set_delivery_preferences(
    engine: Engine,
    gateway: CommandGateway,
    party_id: str,
    wanted: Iterable[tuple[str, str, str, list[str]]],
) -> None:
    """(certificate_number, document_type or "all", method, emails) per preference; every
    certificate must be the owner's (404 otherwise, before anything is sent)."""
    by_certificate: dict[str, list[dict]] = {}
    for number, document_type, method, emails in wanted:
        by_certificate.setdefault(number, []).append(
            {"document_type": document_type, "method": method, "emails": list(emails)}
        )

    def owned(s: Session) -> None:
        for number in by_certificate:
            queries.owned_certificate(s, number, party_id)

    await in_thread(engine, owned)
    for number, preferences in by_certificate.items():
        answer = await gateway.send(
            "documents",
            "PUT",
            f"/certificates/{number}/preferences",
            {"owner_party_id": party_id, "preferences": preferences},
        )
        saved = _accepted(answer, 200).json()["preferences"]
        expected = {(p["document_type"], p["method"]) for p in saved}

        def shown(number: str = number, expected: set = expected) -> bool:
            with Session(engine) as s:
                rows = s.query(DeliveryPreferenceView).filter_by(certificate_number=number)
                return {(r.document_type, r.method) for r in rows} == expected

        await read_your_write(shown)


@dataclass(frozen=True)
class OpenedDocument:
    content: bytes
    file_name: str


async def open_document(
    engine: Engine,
    gateway: CommandGateway,
    party_id: str,
    document_id: str,
    claim_documents: set[str],
) -> OpenedDocument:
    """The document's PDF; opening it records DocumentOpened (bold → normal in My Documents).
    A document that is not the owner's, or belongs to a claim they may not see, is 404."""
    row = await in_thread(engine, queries.owned_document, document_id, party_id, claim_documents)
    file_name = f"{row.document_type}-{row.certificate_number}-{row.created_on}.pdf"
    path = f"/documents/{document_id}/content?owner_party_id={party_id}"
    content = _accepted(await gateway.send("documents", "GET", path), 200)
    # Opening is a command: if documents cannot record it, the owner gets the error and tries
    # again, rather than a PDF whose opening is lost (the document would stay "unopened").
    _accepted(
        await gateway.send(
            "documents", "POST", f"/documents/{document_id}/opened", {"owner_party_id": party_id}
        ),
        204,
    )

    def marked() -> bool:
        with Session(engine) as s:
            view = s.get(DocumentView, document_id)
            return view is not None and view.opened_at is not None

    await read_your_write(marked)
    return OpenedDocument(content.content, file_name)


async def request_privacy(
    engine: Engine, gateway: CommandGateway, token: str, account_id: str, kind: str
) -> dict:
    """The signed-in owner's request to know or to delete (identity's privacy office).

    Identity answers a request to know at once ("completed"): wait until the owner's request
    list shows it. A request to delete is carried out at once too — keys shredded, the account
    closed, its sessions ended — so there is nothing of the owner's left to wait for but the
    end of the session (`log_out` waits for that; ending it again is harmless)."""
    answer = _accepted(
        await gateway.send(
            "identity",
            "POST",
            "/privacy/requests/account",
            {"account_id": account_id, "kind": kind},
            headers={"Authorization": f"Bearer {token}"},
        ),
        200,
        201,
    ).json()
    if kind == "delete":
        await log_out(engine, gateway, token)
        return answer
    request_id, status = str(answer.get("request_id", "")), answer.get("status")

    def listed() -> bool:
        with Session(engine) as s:
            row = privacy_request(s, request_id)
            return row is not None and row.status == status

    await read_your_write(listed)
    return answer


async def public_privacy_request(gateway: CommandGateway, body: dict) -> dict:
    """A request from someone without an account, or their authorized agent: identity
    verifies who they are by matching what they give against its records."""
    answer = await gateway.send("identity", "POST", "/privacy/requests", body)
    return _accepted(answer, 200, 201).json()
