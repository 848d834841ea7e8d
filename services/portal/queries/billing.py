"""Billing/Payment Detail: payor, billing information, payment history and the most recent
statement.

The guide: "A PDF of your most recent statement can be viewed". The most recent statement is
the owner's newest document of type `bill` or `annual_statement` for the certificate in the
documents inbox (the DocumentView read model; on the same day a bill comes before an annual
statement); its `href` is the inbox's own link (`/api/documents/{id}`), so opening it goes
through the same route, owner check and "opened" marking as My Documents. None until the
first statement. Payment history rows carry their state: "Applied", "In Suspense" or
"Reversed" (a reversed payment stays in the history).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from services.portal.queries.common import NotFound, Out, owned_certificate
from services.portal.readmodels import BillingView, DocumentView, PaymentView
from shared.contracts.types import Money


class Payor(Out):
    name: str
    effective_date: date
    paid_to_date: date
    status: str | None


class BillingInformation(Out):
    billed_to_date: date
    payment_frequency: str
    premium: Money
    payment_method: str
    suspense_balance: Money
    last_payment_date: date | None


class PaymentRow(Out):
    payment_id: str
    transaction_date: date
    apply_date: date
    payment_method: str
    payment_frequency: str
    payment_amount: Money
    state: str


class LatestStatement(Out):
    document_id: str
    document_type: str
    created_on: date
    href: str


class PaymentHistory(Out):
    from_date: date | None
    through_date: date | None
    page: int
    size: int
    total: int
    items: list[PaymentRow]


class BillingDetail(Out):
    certificate_number: str
    currency: str
    payor: Payor
    billing: BillingInformation
    payment_history: PaymentHistory
    latest_statement: LatestStatement | None


STATEMENT_TYPES = ("bill", "annual_statement")


def latest_statement(
    session: Session, certificate_number: str, owner_party_id: str
) -> LatestStatement | None:
    """The owner's newest bill or annual statement for the certificate, if any."""
    row = session.scalars(
        select(DocumentView)
        .where(
            DocumentView.owner_party_id == owner_party_id,
            DocumentView.certificate_number == certificate_number,
            DocumentView.document_type.in_(STATEMENT_TYPES),
        )
        .order_by(
            DocumentView.created_on.desc(),
            case((DocumentView.document_type == "bill", 0), else_=1),
            DocumentView.document_id,
        )
        .limit(1)
    ).first()
    if row is None:
        return None
    return LatestStatement(
        document_id=row.document_id,
        document_type=row.document_type,
        created_on=row.created_on,
        href=f"/api/documents/{row.document_id}",
    )


def billing_detail(
    session: Session,
    certificate_number: str,
    *,
    owner_party_id: str | None = None,
    from_date: date | None = None,
    through_date: date | None = None,
    page: int = 1,
    size: int = 10,
) -> BillingDetail:
    certificate = owned_certificate(session, certificate_number, owner_party_id)
    account = session.get(BillingView, certificate_number)
    if account is None:
        raise NotFound(f"certificate {certificate_number} not found")
    conditions = [PaymentView.certificate_number == certificate_number]
    if from_date:
        conditions.append(PaymentView.transaction_date >= from_date)
    if through_date:
        conditions.append(PaymentView.transaction_date <= through_date)
    total = session.scalar(select(func.count()).select_from(PaymentView).where(*conditions)) or 0
    rows = session.scalars(
        select(PaymentView)
        .where(*conditions)
        .order_by(PaymentView.transaction_date.desc(), PaymentView.sequence.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return BillingDetail(
        certificate_number=certificate_number,
        currency=(certificate.currency if certificate and certificate.currency else "USD"),
        payor=Payor(
            name=account.payor_name,
            effective_date=account.effective_date,
            paid_to_date=account.paid_to_date,
            status=certificate.status if certificate else None,
        ),
        billing=BillingInformation(
            billed_to_date=account.billed_to_date,
            payment_frequency=account.payment_frequency,
            premium=account.premium,
            payment_method=account.payment_method,
            suspense_balance=account.suspense_balance or Decimal("0.00"),
            last_payment_date=account.last_payment_date,
        ),
        payment_history=PaymentHistory(
            from_date=from_date,
            through_date=through_date,
            page=page,
            size=size,
            total=total,
            items=[
                PaymentRow(
                    payment_id=r.payment_id,
                    transaction_date=r.transaction_date,
                    apply_date=r.apply_date,
                    payment_method=r.payment_method,
                    payment_frequency=r.payment_frequency,
                    payment_amount=r.amount,
                    state=r.state,
                )
                for r in rows
            ],
        ),
        # `owned_certificate` answers only certificates with an owner.
        latest_statement=latest_statement(
            session, certificate_number, certificate.owner_party_id or ""
        ),
    )
