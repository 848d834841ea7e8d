"""Projections: integration events → read models. The same code in both modes.

Order between topics is not guaranteed (policy's and billing's events travel separately), so
every projector upserts only the columns its event knows about.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.portal.readmodels import BillingView, CertificateView, PaymentView
from shared.contracts import billing, policy
from shared.contracts.envelope import Envelope
from shared.messaging.sql_sink import Projector, SqlSink

CONSUMER_NAME = "portal"
SUBSCRIBED_TOPICS = [policy.TOPIC, billing.TOPIC]


def _certificate(session: Session, number: str) -> CertificateView:
    row = session.get(CertificateView, number)
    if row is None:
        row = CertificateView(certificate_number=number)
        session.add(row)
    return row


def certificate_issued(session: Session, _: Envelope, event: policy.CertificateIssued) -> None:
    row = _certificate(session, event.certificate_number)
    row.owner_party_id = str(event.owner_party_id)
    row.product_code = event.product_code
    row.product_name = event.product_name
    row.status = event.status
    row.status_date = event.effective_date
    row.currency = event.currency
    row.application_date = event.application_date
    row.effective_date = event.effective_date
    row.premium = event.premium
    row.payment_frequency = event.payment_frequency.value
    row.payment_method = event.payment_method.value


def certificate_status_changed(
    session: Session, _: Envelope, event: policy.CertificateStatusChanged
) -> None:
    row = _certificate(session, event.certificate_number)
    row.status = event.status
    row.status_date = event.status_date


def billing_account_opened(
    session: Session, _: Envelope, event: billing.BillingAccountOpened
) -> None:
    session.merge(
        BillingView(
            certificate_number=event.certificate_number,
            payor_name=event.payor_name,
            effective_date=event.effective_date,
            paid_to_date=event.paid_to_date,
            billed_to_date=event.billed_to_date,
            payment_frequency=event.payment_frequency.value,
            premium=event.premium,
            payment_method=event.payment_method.value,
            suspense_balance=Decimal("0.00"),
            last_payment_date=None,
        )
    )


def payment_received(session: Session, _: Envelope, event: billing.PaymentReceived) -> None:
    sequence = session.scalar(
        select(func.count()).where(PaymentView.certificate_number == event.certificate_number)
    )
    session.merge(
        PaymentView(
            certificate_number=event.certificate_number,
            payment_id=event.payment_id,
            transaction_date=event.transaction_date,
            apply_date=event.apply_date,
            payment_method=event.payment_method.value,
            payment_frequency=event.payment_frequency.value,
            amount=event.amount,
            state="In Suspense",
            sequence=sequence or 0,
        )
    )
    session.execute(
        update(BillingView)
        .where(BillingView.certificate_number == event.certificate_number)
        .values(suspense_balance=event.suspense_balance, last_payment_date=event.apply_date)
    )


def payment_applied(session: Session, _: Envelope, event: billing.PaymentApplied) -> None:
    session.execute(
        update(BillingView)
        .where(BillingView.certificate_number == event.certificate_number)
        .values(paid_to_date=event.paid_to_date, suspense_balance=event.suspense_balance)
    )
    # Every payment still in suspense on this account has now gone into whole premiums
    # (suspense is applied oldest first), except what remains as the new suspense balance.
    session.execute(
        update(PaymentView)
        .where(
            PaymentView.certificate_number == event.certificate_number,
            PaymentView.state == "In Suspense",
        )
        .values(state="Applied")
    )


def premium_billed(session: Session, _: Envelope, event: billing.PremiumBilled) -> None:
    session.execute(
        update(BillingView)
        .where(BillingView.certificate_number == event.certificate_number)
        .values(billed_to_date=event.billed_to_date)
    )


PROJECTORS: dict[type, Projector] = {
    policy.CertificateIssued: certificate_issued,
    policy.CertificateStatusChanged: certificate_status_changed,
    billing.BillingAccountOpened: billing_account_opened,
    billing.PaymentReceived: payment_received,
    billing.PaymentApplied: payment_applied,
    billing.PremiumBilled: premium_billed,
}


def portal_sink(engine) -> SqlSink:
    return SqlSink(engine, CONSUMER_NAME, PROJECTORS)
