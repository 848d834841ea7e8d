"""The answer to a request to know, as JSON: the categories of personal information
(`shared/privacy_catalog.py`) and the specific pieces held about one person (data
portability), built from the portal's read models — every service's events projected — and
identity's own record of the person's account (`GET /accounts/{id}/personal-data`).

The same export is downloaded by a signed-in owner (`GET /api/privacy/export`) and written by
the back office (`portal privacy export --party …`) for a request verified by mail.

What it never holds: the full government ID (only its last 4 digits are anywhere in the read
models), a sealed value, a password or a security answer, a document's content (only its
metadata), and other people's dates of birth (only the person's own, opened from the sealed
value; a shredded key leaves it out).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.portal import queries
from services.portal.gateway import CommandGateway, ServiceUnavailable
from services.portal.queries.claims import visible_claim_documents, visible_claims
from services.portal.queries.privacy import privacy_requests
from services.portal.readmodels import (
    CertificateView,
    InsuredView,
    OwnerProfileView,
    PortalSessionView,
    PortalUserView,
)
from shared.privacy_catalog import categories_answer
from shared.sqldb import in_thread

OpenSealed = Callable[[str], str | None]
EVERYTHING = 1_000_000  # a page size that holds every row of one person

SOURCES = {
    "identifiers": "policy service: the certificate owner's record and contact information",
    "certificates": "policy service: certificates, benefits, insureds, loans and agents",
    "billing": "billing service: payor, billing information and payment history",
    "claims": "claims service: claims where you, or a dependent under 18, are the patient",
    "documents": "documents service: letters, statements and explanations of benefits",
    "delivery_preferences": "documents service: eDelivery preferences",
    "account": "identity service: your portal account",
    "sessions": "identity service: portal sign-ins",
    "privacy_requests": "identity service (privacy office): your privacy requests",
}


class PersonNotFound(LookupError):
    """Nothing is held about this party id."""


def _opened_date(open_sealed: OpenSealed, sealed: str | None) -> date | None:
    if not sealed:
        return None
    opened = open_sealed(sealed)
    try:
        return date.fromisoformat(opened) if opened else None
    except ValueError:
        return None


def identifiers(session: Session, party_id: str, open_sealed: OpenSealed) -> dict[str, Any]:
    profile = session.get(OwnerProfileView, party_id)
    if profile is None:
        return {"names": [], "addresses": [], "emails": [], "phones": []}
    contact = profile.contact or {}
    address = contact.get("address") or {}
    phones = contact.get("phones") or {}
    name = f"{profile.first_name} {profile.last_name}".strip()
    emails = list(contact.get("emails") or [])
    return {
        "names": [{"name": name, "name_type": profile.name_type}] if name else [],
        "addresses": [address] if address else [],
        "emails": emails,
        "phones": [{"type": kind, "number": n} for kind, n in phones.items() if n],
        "preferred_contact_method": contact.get("preferred_contact_method"),
        "date_of_birth": _opened_date(open_sealed, profile.date_of_birth_sealed),
        "gender": profile.gender,
        "government_id": (
            f"***-**-{profile.government_id_last4}" if profile.government_id_last4 else None
        ),
    }


def _owned_numbers(session: Session, party_id: str) -> list[str]:
    return list(
        session.scalars(
            select(CertificateView.certificate_number)
            .where(CertificateView.owner_party_id == party_id)
            .order_by(CertificateView.certificate_number)
        )
    )


def _own_birth_dates(
    session: Session, number: str, open_sealed: OpenSealed
) -> dict[tuple[str, str], date | None]:
    """(benefit, insured) → date of birth, for the owner's own entries only."""
    rows = session.scalars(
        select(InsuredView).where(
            InsuredView.certificate_number == number, InsuredView.relationship == "Owner"
        )
    )
    return {
        (r.benefit_id, r.insured_id): _opened_date(open_sealed, r.date_of_birth_sealed)
        for r in rows
    }


def certificates(
    session: Session, party_id: str, open_sealed: OpenSealed, today: date
) -> list[dict[str, Any]]:
    answer = []
    for number in _owned_numbers(session, party_id):
        try:
            detail = queries.certificate_detail(session, number, party_id, today)
        except (queries.NotFound, TypeError, ValueError):
            continue  # not fully projected yet
        own = _own_birth_dates(session, number, open_sealed)
        found = session.get(CertificateView, number)
        piece = detail.model_dump(mode="json", exclude={"current_as_of"})
        piece["product_name"] = found.product_name if found else None
        piece["payor_name"] = found.payor_name if found else None
        for benefit in piece["benefits"]:
            for insured in benefit["insureds"]:
                if insured["relationship"] == "Owner":
                    born = own.get((benefit["benefit_id"], insured["insured_id"]))
                    insured["date_of_birth"] = born.isoformat() if born else None
            try:
                loans = queries.benefit_detail(
                    session, number, benefit["benefit_id"], party_id, lambda _: None
                ).loans
            except queries.NotFound:
                loans = []
            benefit["loans"] = [loan.model_dump(mode="json") for loan in loans]
        answer.append(piece)
    return answer


def billing(session: Session, party_id: str) -> list[dict[str, Any]]:
    answer = []
    for number in _owned_numbers(session, party_id):
        try:
            detail = queries.billing_detail(
                session, number, owner_party_id=party_id, size=EVERYTHING
            )
        except queries.NotFound:
            continue  # no billing account yet
        answer.append(
            {
                "certificate_number": number,
                "payor": detail.payor.model_dump(mode="json"),
                "billing": detail.billing.model_dump(mode="json"),
                "payments": [p.model_dump(mode="json") for p in detail.payment_history.items],
            }
        )
    return answer


def claims(
    session: Session, party_id: str, open_sealed: OpenSealed, today: date
) -> list[dict[str, Any]]:
    answer = []
    for claim in visible_claims(session, party_id, today, open_sealed):
        detail = queries.claim_detail(session, claim.claim_number, party_id, today, open_sealed)
        piece = detail.model_dump(
            mode="json", exclude={"previous_claim", "next_claim", "eob", "correspondence"}
        )
        piece["eob_document_id"] = detail.eob.document_id
        piece["correspondence_document_id"] = detail.correspondence.document_id
        answer.append(piece)
    return answer


def documents(
    session: Session, party_id: str, open_sealed: OpenSealed, today: date
) -> list[dict[str, Any]]:
    inbox = queries.inbox(
        session,
        party_id,
        size=EVERYTHING,
        claim_documents=visible_claim_documents(session, party_id, today, open_sealed),
    )
    return [d.model_dump(mode="json", exclude={"href", "unopened"}) for d in inbox.items]


def delivery_preferences(session: Session, party_id: str) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in queries.preferences(session, party_id).certificates]


def accounts_of(session: Session, party_id: str) -> list[str]:
    return list(
        session.scalars(
            select(PortalUserView.account_id)
            .where(PortalUserView.party_id == party_id)
            .order_by(PortalUserView.account_id)
        )
    )


def sessions(session: Session, party_id: str, now: datetime) -> dict[str, Any]:
    rows = session.scalars(select(PortalSessionView).where(PortalSessionView.party_id == party_id))
    count = active = 0
    for row in rows:
        count += 1
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        active += not row.ended and expires > now
    return {"count": count, "active": active}


async def account(gateway: CommandGateway, account_id: str, token: str | None) -> dict | None:
    """Identity's record of the account (None when identity no longer has it)."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    answer = await gateway.send(
        "identity", "GET", f"/accounts/{account_id}/personal-data", headers=headers
    )
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise ServiceUnavailable(f"the identity service answered {answer.status_code}")
    body = answer.json()
    return body if isinstance(body, dict) else None


def read_model_pieces(
    session: Session, party_id: str, open_sealed: OpenSealed, today: date, now: datetime
) -> dict[str, Any]:
    """Every specific piece the portal's read models hold about the person."""
    return {
        "identifiers": identifiers(session, party_id, open_sealed),
        "certificates": certificates(session, party_id, open_sealed, today),
        "billing": billing(session, party_id),
        "claims": claims(session, party_id, open_sealed, today),
        "documents": documents(session, party_id, open_sealed, today),
        "delivery_preferences": delivery_preferences(session, party_id),
        "sessions": sessions(session, party_id, now),
        "privacy_requests": [
            r.model_dump(mode="json", exclude={"kind_name", "status_name"})
            for r in privacy_requests(session, party_id).requests
        ],
    }


async def build_export(
    engine: Engine,
    gateway: CommandGateway,
    party_id: str,
    open_sealed: OpenSealed,
    *,
    today: date,
    now: datetime,
    token: str | None = None,
    request_id: str | None = None,
    require_person: bool = False,
) -> dict[str, Any]:
    """The whole answer, JSON-ready. `token`: the signed-in owner's session (the portal);
    the back office asks identity without one. `require_person`: raise PersonNotFound when
    nothing at all is held about the party (the back office's typo guard)."""

    def read(s: Session) -> tuple[dict[str, Any], list[str], bool]:
        pieces = read_model_pieces(s, party_id, open_sealed, today, now)
        account_ids = accounts_of(s, party_id)
        return pieces, account_ids, s.get(OwnerProfileView, party_id) is not None

    pieces, account_ids, profiled = await in_thread(engine, read)
    known = profiled or bool(account_ids)
    if require_person and not known and not pieces["certificates"]:
        raise PersonNotFound(f"nothing is held about party {party_id}")
    found = [a for a in [await account(gateway, i, token) for i in account_ids] if a]
    if found:
        pieces["sessions"]["last_sign_in"] = max(
            (a.get("last_login_at") for a in found if a.get("last_login_at")), default=None
        )
        for a in found:  # identity's email on file is one more identifier
            email = a.get("email")
            if email and email not in pieces["identifiers"]["emails"]:
                pieces["identifiers"]["emails"].append(email)
    else:
        pieces["sessions"]["last_sign_in"] = None
    pieces["account"] = found[0] if len(found) == 1 else (found or None)
    ordered = {name: pieces[name] for name in SOURCES}
    return jsonable_encoder(
        {
            "generated_at": now,
            "party_id": party_id,
            "request_id": request_id,
            "categories": categories_answer(),
            "specific_pieces": ordered,
            "sources": [
                {"section": name, "source": where, "held_in": "portal read models"}
                if name != "account"
                else {"section": name, "source": where, "held_in": "identity service"}
                for name, where in SOURCES.items()
            ],
            "notes": [
                "The government ID is shown by its last 4 digits only.",
                "Document contents are not included; open them in My Documents.",
                "Claims of a spouse or of an adult dependent are not included: they are their "
                "personal information, not yours.",
            ],
        }
    )
