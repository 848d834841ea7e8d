"""What `portal replay --as-of … [--owner …]` writes: the read models as they were at an
instant, from a shadow rebuilt with the envelopes that had occurred by then.

Two parts: `read_models`, every row (of one owner: the rows of the owner's party, certificates
and claims) as stored — sealed values stay sealed, sessions are digests; and, for an owner,
`views`: the portal's own query functions (`services/portal/queries`) run on the shadow, i.e.
what My Insurance, Billing/Payment Detail (every payment), My Documents and the eDelivery
preferences answered. Claims are in `read_models` only: their query opens sealed dates of
birth (minors' claims are hidden), which needs the key store and no export should do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from services.portal.queries import NotFound, billing_detail, inbox, my_insurance, preferences
from services.portal.readmodels import CertificateView, ClaimView, PortalUserView, ReadModel

PAGE = 10_000  # one page: the whole history


def resolve_owner(session: Session, owner: str) -> str:
    """A portal user id (`demo`) or an owner party id → the party id."""
    party = session.scalar(select(PortalUserView.party_id).where(PortalUserView.user_id == owner))
    return party or owner


def export(session: Session, instant: datetime, owner: str | None) -> dict[str, Any]:
    party = resolve_owner(session, owner) if owner else None
    certificates: list[str] = []
    claims: list[str] = []
    if party is not None:
        certificates = list(
            session.scalars(
                select(CertificateView.certificate_number)
                .where(CertificateView.owner_party_id == party)
                .order_by(CertificateView.certificate_number)
            )
        )
        claims = list(
            session.scalars(
                select(ClaimView.claim_number).where(ClaimView.certificate_number.in_(certificates))
            )
        )
    read_models = {
        table.name: _rows(session, table, party, certificates, claims)
        for table in ReadModel.metadata.sorted_tables
    }
    document: dict[str, Any] = {
        "as_of": instant.isoformat(),
        "owner_party_id": party,
        "read_models": read_models,
    }
    if party is not None:
        document["views"] = _views(session, party, certificates)
    return document


def _rows(
    session: Session, table: Table, party: str | None, certificates: list[str], claims: list[str]
) -> list[dict[str, Any]]:
    query = select(table).order_by(*table.primary_key.columns)
    if party is not None:
        columns = table.columns
        if "owner_party_id" in columns:
            query = query.where(columns["owner_party_id"] == party)
        elif "party_id" in columns:
            query = query.where(columns["party_id"] == party)
        elif "certificate_number" in columns:
            query = query.where(columns["certificate_number"].in_(certificates))
        elif "claim_number" in columns:
            query = query.where(columns["claim_number"].in_(claims))
        else:  # nothing ties the table to an owner: leave it out of an owner's export
            return []
    return [dict(row._mapping) for row in session.execute(query)]


def _views(session: Session, party: str, certificates: list[str]) -> dict[str, Any]:
    billing: dict[str, Any] = {}
    for number in certificates:
        try:
            detail = billing_detail(session, number, owner_party_id=party, size=PAGE)
        except NotFound:  # no billing account yet at that instant
            continue
        billing[number] = detail.model_dump(mode="json")
    return {
        "my_insurance": my_insurance(session, party).model_dump(mode="json"),
        "billing": billing,
        "documents": inbox(session, party, size=PAGE).model_dump(mode="json"),
        "preferences": preferences(session, party).model_dump(mode="json"),
    }
