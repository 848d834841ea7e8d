"""Billing's events → Billing/Payment Detail (payor, billing information, payment history).

A payment's row in the history is "In Suspense" until it goes into whole premiums
("Applied"), or "Reversed" when billing takes it back (a returned item or NSF): a reversed
payment stays in the history. The last payment date is the latest apply date of the payments
not reversed (so a back-dated payment does not move it back either). PremiumDefaulted and
StatementIssued change nothing here: the certificate's status comes from policy's events, and
the most recent statement is the owner's newest bill or annual statement in the documents
inbox (`queries/billing.py`).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.portal.readmodels import BillingView, PaymentView
from shared.contracts import billing
from shared.contracts.envelope import Envelope

IN_SUSPENSE, APPLIED, REVERSED = "In Suspense", "Applied", "Reversed"
KEY = ("certificate_number", "payment_id")


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
    number = event.certificate_number
    sequence = session.scalar(select(func.count()).where(PaymentView.certificate_number == number))
    row = {
        "certificate_number": number,
        "payment_id": event.payment_id,
        "transaction_date": event.transaction_date,
        "apply_date": event.apply_date,
        "payment_method": event.payment_method.value,
        "payment_frequency": event.payment_frequency.value,
        "amount": event.amount,
        "state": IN_SUSPENSE,
        "sequence": sequence or 0,
    }
    # One statement where `merge` took two (a SELECT by key, then the INSERT at flush).
    insert = _insert_for(session)(PaymentView).values(**row)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["certificate_number", "payment_id"],
            set_={name: insert.excluded[name] for name in row if name not in KEY},
        )
    )
    _recompute_last_payment_date(session, number, suspense_balance=event.suspense_balance)


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
            PaymentView.state == IN_SUSPENSE,
        )
        .values(state=APPLIED)
    )


def payment_reversed(session: Session, _: Envelope, event: billing.PaymentReversed) -> None:
    number = event.certificate_number
    session.execute(
        update(PaymentView)
        .where(PaymentView.certificate_number == number, PaymentView.payment_id == event.payment_id)
        .values(state=REVERSED)
    )
    _recompute_last_payment_date(
        session, number, paid_to_date=event.paid_to_date, suspense_balance=event.suspense_balance
    )


def _recompute_last_payment_date(session: Session, number: str, **also: object) -> None:
    """The latest apply date of the payments not reversed (None when there is none), set in
    one UPDATE with `also` (the other columns the event changes)."""
    latest = (
        select(func.max(PaymentView.apply_date))
        .where(PaymentView.certificate_number == number, PaymentView.state != REVERSED)
        .scalar_subquery()
    )
    session.execute(
        update(BillingView)
        .where(BillingView.certificate_number == number)
        .values(last_payment_date=latest, **also)
    )


def _insert_for(session: Session):
    """The dialect's INSERT (PostgreSQL's or SQLite's: both have ON CONFLICT)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def premium_billed(session: Session, _: Envelope, event: billing.PremiumBilled) -> None:
    session.execute(
        update(BillingView)
        .where(BillingView.certificate_number == event.certificate_number)
        .values(billed_to_date=event.billed_to_date)
    )


PROJECTORS = {
    billing.BillingAccountOpened: billing_account_opened,
    billing.PaymentReceived: payment_received,
    billing.PaymentApplied: payment_applied,
    billing.PremiumBilled: premium_billed,
    billing.PaymentReversed: payment_reversed,
}
