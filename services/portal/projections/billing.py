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

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from services.portal.readmodels import BillingView, PaymentView
from shared.contracts import billing
from shared.contracts.envelope import Envelope
from shared.messaging.deferred_writes import defer, deferring

IN_SUSPENSE, APPLIED, REVERSED = "In Suspense", "Applied", "Reversed"
KEY = ("certificate_number", "payment_id")

# Billing's events are nine in ten of the stream: their statements are built once, as Core
# statements on the tables (no ORM unit of work, no statement built per event), and deferred
# with each event's parameters (`shared/messaging/deferred_writes.py`): the consumer sends a
# whole run's in one pipeline.
_accounts = BillingView.__table__
_payments = PaymentView.__table__
_PAYMENT_COLUMNS = (
    "certificate_number",
    "payment_id",
    "transaction_date",
    "apply_date",
    "payment_method",
    "payment_frequency",
    "amount",
    "state",
)


def _latest_apply_date():
    """The latest apply date of the account's payments not reversed (NULL when none)."""
    return (
        select(func.max(_payments.c.apply_date))
        .where(
            _payments.c.certificate_number == bindparam("number"),
            _payments.c.state != REVERSED,
        )
        .scalar_subquery()
    )


_ACCOUNT = _accounts.c.certificate_number == bindparam("number")
_RECEIVED_ON_ACCOUNT = (
    update(_accounts)
    .where(_ACCOUNT)
    .values(last_payment_date=_latest_apply_date(), suspense_balance=bindparam("suspense_balance"))
)
_REVERSED_ON_ACCOUNT = (
    update(_accounts)
    .where(_ACCOUNT)
    .values(
        last_payment_date=_latest_apply_date(),
        paid_to_date=bindparam("paid_to_date"),
        suspense_balance=bindparam("suspense_balance"),
    )
)
_APPLIED_ON_ACCOUNT = (
    update(_accounts)
    .where(_ACCOUNT)
    .values(paid_to_date=bindparam("paid_to_date"), suspense_balance=bindparam("suspense_balance"))
)
# Every payment still in suspense on this account has now gone into whole premiums
# (suspense is applied oldest first), except what remains as the new suspense balance.
_SUSPENSE_APPLIED = (
    update(_payments)
    .where(_payments.c.certificate_number == bindparam("number"))
    .where(_payments.c.state == IN_SUSPENSE)
    .values(state=APPLIED)
)
_PAYMENT_REVERSED = (
    update(_payments)
    .where(
        _payments.c.certificate_number == bindparam("number"),
        _payments.c.payment_id == bindparam("reversed_payment_id"),
    )
    .values(state=REVERSED)
)
_BILLED = update(_accounts).where(_ACCOUNT).values(billed_to_date=bindparam("billed_to_date"))
_payment_upserts: dict[tuple[str, str | None], TextClause] = {}


def _payment_upsert(session: Session) -> TextClause:
    """INSERT … ON CONFLICT DO UPDATE of a payment's row, its sequence (the account's count of
    payments before it) computed in the same statement: one round trip per payment.

    As text, which PostgreSQL and SQLite share: SQLAlchemy does not cache the compiled form of
    a dialect's own INSERT construct, and compiling it for every event cost more than running
    it. Text escapes `schema_translate_map`, so the table is qualified here with the schema
    the session's engine maps to (a replay's shadow), one statement per schema."""
    bind = session.get_bind()
    translate = bind.get_execution_options().get("schema_translate_map") or {}
    key = (bind.dialect.name, translate.get(None))
    if key not in _payment_upserts:
        quote = bind.dialect.identifier_preparer.quote
        table = quote(_payments.name)
        if key[1] is not None:
            table = f"{quote(key[1])}.{table}"
        updated = (name for name in (*_PAYMENT_COLUMNS, "sequence") if name not in KEY)
        _payment_upserts[key] = text(
            f"INSERT INTO {table} ({', '.join(_PAYMENT_COLUMNS)}, sequence) "
            f"VALUES ({', '.join(f':{name}' for name in _PAYMENT_COLUMNS)}, "
            f"(SELECT count(*) FROM {table} WHERE certificate_number = :certificate_number)) "
            f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in updated)
        ).bindparams(*(bindparam(name, type_=_payments.c[name].type) for name in _PAYMENT_COLUMNS))
    return _payment_upserts[key]


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


@deferring
def payment_received(session: Session, _: Envelope, event: billing.PaymentReceived) -> None:
    number = event.certificate_number
    defer(
        session,
        _payment_upsert(session),
        {
            "certificate_number": number,
            "payment_id": event.payment_id,
            "transaction_date": event.transaction_date,
            "apply_date": event.apply_date,
            "payment_method": event.payment_method.value,
            "payment_frequency": event.payment_frequency.value,
            "amount": event.amount,
            "state": IN_SUSPENSE,
        },
    )
    defer(
        session,
        _RECEIVED_ON_ACCOUNT,
        {"number": number, "suspense_balance": event.suspense_balance},
    )


@deferring
def payment_applied(session: Session, _: Envelope, event: billing.PaymentApplied) -> None:
    number = event.certificate_number
    defer(
        session,
        _APPLIED_ON_ACCOUNT,
        {
            "number": number,
            "paid_to_date": event.paid_to_date,
            "suspense_balance": event.suspense_balance,
        },
    )
    defer(session, _SUSPENSE_APPLIED, {"number": number})


@deferring
def payment_reversed(session: Session, _: Envelope, event: billing.PaymentReversed) -> None:
    number = event.certificate_number
    reversed_payment = {"number": number, "reversed_payment_id": event.payment_id}
    defer(session, _PAYMENT_REVERSED, reversed_payment)
    defer(
        session,
        _REVERSED_ON_ACCOUNT,
        {
            "number": number,
            "paid_to_date": event.paid_to_date,
            "suspense_balance": event.suspense_balance,
        },
    )


@deferring
def premium_billed(session: Session, _: Envelope, event: billing.PremiumBilled) -> None:
    defer(
        session,
        _BILLED,
        {"number": event.certificate_number, "billed_to_date": event.billed_to_date},
    )


PROJECTORS = {
    billing.BillingAccountOpened: billing_account_opened,
    billing.PaymentReceived: payment_received,
    billing.PaymentApplied: payment_applied,
    billing.PremiumBilled: premium_billed,
    billing.PaymentReversed: payment_reversed,
}
