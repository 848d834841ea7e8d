"""My Documents (the eDelivery inbox) and the User Preferences page."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.portal.queries.claims import CLAIM_DOCUMENT_TYPES
from services.portal.queries.common import NotFound, Out
from services.portal.readmodels import CertificateView, DeliveryPreferenceView, DocumentView
from shared.contracts.documents import DOCUMENT_TYPES

DOCUMENT_TYPE_NAMES = {
    "certificate": "Certificate/Policy",
    "bill": "Bill",
    "notice": "Notice",
    "annual_statement": "Annual Statement",
    "letter": "Letter",
    "eob": "Explanation of Benefits",
    "denial_letter": "Claim Denial Letter",
}


class InboxDocument(Out):
    document_id: str
    certificate_number: str
    document_type: str
    document_type_name: str
    description: str | None
    created_on: date
    delivery_method: str
    unopened: bool
    opened_at: datetime | None
    href: str


class Inbox(Out):
    page: int
    size: int
    total: int
    unopened: int
    items: list[InboxDocument]


def inbox(
    session: Session,
    owner_party_id: str,
    *,
    certificate_number: str | None = None,
    document_type: str | None = None,
    from_date: date | None = None,
    through_date: date | None = None,
    page: int = 1,
    size: int = 10,
    claim_documents: set[str] = frozenset(),  # type: ignore[assignment]
) -> Inbox:
    """`claim_documents`: the EOBs and denial letters the owner may see (see
    `queries.claims.visible_claim_documents`); every other claim document is left out."""
    conditions = [
        DocumentView.owner_party_id == owner_party_id,
        or_(
            DocumentView.document_type.not_in(CLAIM_DOCUMENT_TYPES),
            DocumentView.document_id.in_(claim_documents),
        ),
    ]
    if certificate_number:
        conditions.append(DocumentView.certificate_number == certificate_number)
    if document_type:
        conditions.append(DocumentView.document_type == document_type)
    if from_date:
        conditions.append(DocumentView.created_on >= from_date)
    if through_date:
        conditions.append(DocumentView.created_on <= through_date)
    total = session.scalar(select(func.count()).select_from(DocumentView).where(*conditions))
    unopened = session.scalar(
        select(func.count())
        .select_from(DocumentView)
        .where(*conditions, DocumentView.opened_at.is_(None))
    )
    rows = session.scalars(
        select(DocumentView)
        .where(*conditions)
        .order_by(DocumentView.created_on.desc(), DocumentView.document_id)
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return Inbox(
        page=page,
        size=size,
        total=total or 0,
        unopened=unopened or 0,
        items=[
            InboxDocument(
                document_id=r.document_id,
                certificate_number=r.certificate_number,
                document_type=r.document_type,
                document_type_name=DOCUMENT_TYPE_NAMES.get(r.document_type, r.document_type),
                description=r.description,
                created_on=r.created_on,
                delivery_method=r.delivery_method,
                unopened=r.opened_at is None,
                opened_at=utc(r.opened_at),
                href=f"/api/documents/{r.document_id}",
            )
            for r in rows
        ],
    )


def owned_document(
    session: Session,
    document_id: str,
    owner_party_id: str,
    claim_documents: set[str] = frozenset(),  # type: ignore[assignment]
) -> DocumentView:
    row = session.get(DocumentView, document_id)
    if (
        row is None
        or row.owner_party_id != owner_party_id
        or (row.document_type in CLAIM_DOCUMENT_TYPES and document_id not in claim_documents)
    ):
        raise NotFound(f"document {document_id} not found")
    return row


class PreferenceRow(Out):
    document_type: str
    document_type_name: str
    method: str
    emails: list[str]


class CertificatePreferences(Out):
    certificate_number: str
    product_name: str | None
    preferences: list[PreferenceRow]


class Preferences(Out):
    certificates: list[CertificatePreferences]


def preferences(session: Session, owner_party_id: str) -> Preferences:
    """Every certificate of the owner with a row per document type (Mail until chosen)."""
    certificates = session.scalars(
        select(CertificateView)
        .where(CertificateView.owner_party_id == owner_party_id)
        .order_by(CertificateView.certificate_number)
    ).all()
    answer = []
    for c in certificates:
        chosen = {
            row.document_type: row
            for row in session.scalars(
                select(DeliveryPreferenceView).where(
                    DeliveryPreferenceView.certificate_number == c.certificate_number
                )
            )
        }
        answer.append(
            CertificatePreferences(
                certificate_number=c.certificate_number,
                product_name=c.product_name,
                preferences=[
                    PreferenceRow(
                        document_type=t,
                        document_type_name=DOCUMENT_TYPE_NAMES[t],
                        method=chosen[t].method if t in chosen else "Mail",
                        emails=chosen[t].emails if t in chosen else [],
                    )
                    for t in DOCUMENT_TYPES
                ],
            )
        )
    return Preferences(certificates=answer)


def utc(moment: datetime | None) -> datetime | None:
    """SQLite gives back the stored UTC instant without its offset: put it back, so the
    API answers an RFC 3339 date-time as its document says."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment
