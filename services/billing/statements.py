"""The content of the statements a billing account issues (StatementIssued).

- **Billing statement** (`statement_type="billing"`), issued by the cycle when it billed
  something: the period is the newly billed premiums (first due date through the day before
  the new billed-to date; period ends are inclusive); `amount_due` is every premium billed and
  not yet paid less suspense, never below zero (so a payor who paid ahead owes nothing, one in
  arrears sees the arrears, and money owed after a reversal is added); `due_date` is the first
  newly billed due date that is not paid yet (None when nothing is due); `lines` are the
  payments received and reversed since the previous billing statement; `statement_id` is
  `{certificate}-B-{first newly billed due date, YYYYMMDD}`.
- **Annual statement** (`statement_type="annual"`), once per certificate year on or after its
  anniversary: the previous certificate year (anniversary − 1 year through the day before the
  anniversary), the payments and reversals whose transaction date falls in it, the amount
  outstanding (due at the paid-to date); `statement_id` is `{certificate}-A-{anniversary}`.

Lines are in transaction-date order; `total_paid` is their sum (a reversal counts negative).
They are plain dicts of dates, a description and a decimal, so they transcode to JSON in events
and snapshots; a statement carries at most the latest 400 (the contract's limit).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from services.billing.schedule import ONE_DAY, year_before

if TYPE_CHECKING:
    from services.billing.domain import BillingAccount

MAX_LINES = 400
ZERO = Decimal("0.00")


def line(transaction_date: date, apply_date: date, description: str, amount: Decimal) -> dict:
    return {
        "transaction_date": transaction_date,
        "apply_date": apply_date,
        "description": description,
        "amount": amount,
    }


def billing_statement(account: BillingAccount, as_of: date, first_due: date) -> dict[str, Any]:
    """The bill for the premiums just billed from `first_due` (call after billing them)."""
    return _statement(
        account,
        statement_id=f"{account.certificate_number}-B-{first_due:%Y%m%d}",
        statement_type="billing",
        period_start=first_due,
        period_end=account.billed_to_date - ONE_DAY,
        issued_on=as_of,
        due_date=max(first_due, account.paid_to_date) if account.amount_outstanding else None,
        lines=account.lines_since_bill,
    )


def annual_statement(account: BillingAccount, as_of: date, anniversary: date) -> dict[str, Any]:
    """The statement of the certificate year that ended the day before `anniversary`."""
    start = year_before(account.effective_date, anniversary)
    amount_due = account.amount_outstanding
    return _statement(
        account,
        statement_id=f"{account.certificate_number}-A-{anniversary:%Y%m%d}",
        statement_type="annual",
        period_start=start,
        period_end=anniversary - ONE_DAY,
        issued_on=as_of,
        due_date=account.paid_to_date if amount_due else None,
        lines=[e for e in account.year_lines if start <= e["transaction_date"] < anniversary],
    )


def _statement(account: BillingAccount, *, lines: list[dict], **fields: Any) -> dict[str, Any]:
    in_order = sorted(lines, key=lambda entry: entry["transaction_date"])  # stable
    shown = [dict(entry) for entry in in_order[-MAX_LINES:]]
    return {
        **fields,
        "premium": account.premium,
        "payment_frequency": account.payment_frequency,
        "amount_due": account.amount_outstanding,
        "paid_to_date": account.paid_to_date,
        "billed_to_date": account.billed_to_date,
        "total_paid": sum((entry["amount"] for entry in shown), ZERO),
        "lines": shown,
    }
