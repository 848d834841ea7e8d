"""Billing account: premium periods billed and paid, money in suspense, statements, defaults.

Paid-to and billed-to dates are derived from whole periods counted from the effective date
(`periods.py`), so month ends never drift.

Money: the account holds `paid_periods × premium + suspense`. A payment adds to suspense and
whole premiums move from suspense to paid periods. A reversal (returned item, NSF) takes the
payment's amount off that total and recomputes `paid_periods = max(0, floor(total / premium))`
(never more than before) with the rest as suspense — negative when more was reversed than the
account holds, i.e. money the payor owes, which the next payments fill first. (Every amount
here comes from this account's payments, so commands alone never go below zero; a paid-to
brought forward from elsewhere could.)

Dates and statuses are ruled by `schedule.py`; statements by `statements.py`. A billing
account lives for decades: the application snapshots it, so its state stays JSON-transcodable
(dicts and lists of dates, decimals and strings) and `upcast_v1_v2` completes older snapshots.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, DomainEvent, event

from services.billing import schedule, statements
from services.billing.errors import (
    CertificateNotInForce,
    DuplicatePayment,
    NotBillable,
    PaymentAlreadyReversed,
    PaymentNotFound,
    PaymentRejected,
)
from services.billing.periods import ZERO, AccountPeriods, complete_v2_state
from services.billing.schedule import ACTIVE_PREMIUM_PAYING, ONE_DAY

ACCOUNT_NAMESPACE = UUID("c1d8e5a4-0b3f-4a8e-9c1e-5d6f7a8b9c02")


class BillingAccount(AccountPeriods, Aggregate):
    class_version = 2  # v2: status, reversals, defaults and statement lines

    @staticmethod
    def create_id(certificate_number: str, **_: object) -> UUID:
        return billing_account_id(certificate_number)

    @event("Opened")
    def __init__(
        self,
        certificate_number: str,
        payor_name: str,
        payment_frequency: str,
        payment_method: str,
        premium: Decimal,
        effective_date: date,
        status: str = ACTIVE_PREMIUM_PAYING,
        owner_party_id: UUID | None = None,
    ) -> None:
        self.certificate_number = certificate_number
        # Whose key seals the payor's name (`personal.py`); None in accounts opened before.
        self.owner_party_id = owner_party_id
        self.payor_name = payor_name
        self.payment_frequency = payment_frequency
        self.payment_method = payment_method
        self.premium = premium
        self.effective_date = effective_date
        self.paid_periods = 0
        self.billed_periods = 0
        self.suspense = ZERO
        self.last_payment_date: date | None = None
        self.payment_ids: dict[str, str] = {}  # payment id → amount
        complete_v2_state(vars(self), status)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        complete_v2_state(state, ACTIVE_PREMIUM_PAYING)

    # --- commands --------------------------------------------------------------------------

    def receive_payment(
        self,
        *,
        payment_id: str,
        amount: Decimal,
        transaction_date: date,
        apply_date: date,
        payment_method: str,
    ) -> None:
        self.check_payment(payment_id, amount)
        suspense = self.suspense + amount
        self._payment_received(
            self.certificate_number,
            payment_id,
            transaction_date,
            apply_date,
            amount,
            payment_method,
            self.payment_frequency,
            suspense,
        )
        periods = self.whole_premiums(self.suspense)
        if periods:
            applied = self.premium * periods
            self._payment_applied(
                self.certificate_number,
                payment_id,
                apply_date,
                periods,
                applied,
                self.period_start(self.paid_periods + periods),
                self.suspense - applied,
            )

    def check_payment(self, payment_id: str, amount: Decimal) -> None:
        """Refuses a payment this account cannot take (raises PaymentRejected)."""
        if amount <= ZERO:
            raise PaymentRejected("a payment amount must be greater than zero")
        if not self.in_force:
            raise CertificateNotInForce(
                f"certificate {self.certificate_number} is {self.status} (not in force): "
                "no payment can be accepted"
            )
        if payment_id in self.payment_ids:
            raise DuplicatePayment(f"payment {payment_id} is already recorded")

    def reverse_payment(self, payment_id: str, reversed_on: date, reason: str) -> None:
        if payment_id not in self.payment_ids:
            raise PaymentNotFound(
                f"no payment {payment_id} on certificate {self.certificate_number}"
            )
        if payment_id in self.reversed_payments:
            raise PaymentAlreadyReversed(
                f"payment {payment_id} was already reversed on "
                f"{self.reversed_payments[payment_id].isoformat()}"
            )
        amount = Decimal(self.payment_ids[payment_id])
        total = self.premium * self.paid_periods + self.suspense - amount
        paid = min(self.paid_periods, self.whole_premiums(total))
        self._payment_reversed(
            self.certificate_number,
            payment_id,
            reversed_on,
            reason,
            amount,
            self.paid_periods - paid,
            self.period_start(paid),
            total - self.premium * paid,
        )

    def bill(self, as_of: date, through: date, *, statement: bool = True) -> bool:
        """Bills every premium due on or before `through` not billed yet, with its statement
        (without one when `statement` is False: billing history loaded from elsewhere)."""
        if self.status not in schedule.BILLABLE:
            raise NotBillable(
                f"certificate {self.certificate_number} is {self.status}: no premium is billed"
            )
        due = 0
        while self.period_start(self.billed_periods + due) <= through:
            due += 1
        if not due:
            return False
        first_due = self.billed_to_date
        self._premiums_billed(
            self.certificate_number,
            due,
            self.premium * due,
            first_due,
            self.period_start(self.billed_periods + due),
        )
        if statement:
            self._statement_issued(
                self.certificate_number, statements.billing_statement(self, as_of, first_due)
            )
        return True

    def default_unpaid_premium(self, as_of: date) -> bool:
        """PremiumDefaulted, once per due date, for the premium at paid-to unpaid after grace."""
        due = self.paid_to_date
        if self.status not in schedule.DEFAULTABLE or self.premium <= ZERO:
            return False
        if not schedule.in_default(due, as_of) or due in self.defaulted_due_dates:
            return False
        self._premium_defaulted(
            self.certificate_number,
            due,
            schedule.grace_ends_on(due),
            as_of,
            due,
            self.premium - self.suspense,
        )
        return True

    def issue_annual_statement(self, as_of: date) -> bool:
        """The statement of the last whole certificate year, once (catching up: the latest)."""
        anniversary = schedule.latest_anniversary(self.effective_date, as_of)
        if anniversary is None or not self.in_force:
            return False
        if self.annual_through is not None and anniversary <= self.annual_through:
            return False
        self._statement_issued(
            self.certificate_number, statements.annual_statement(self, as_of, anniversary)
        )
        return True

    def mirror_status(self, status: str, status_date: date) -> None:
        if status != self.status:
            self._status_changed(self.certificate_number, status, status_date)

    # --- events ----------------------------------------------------------------------------

    @event("PaymentReceived")
    def _payment_received(
        self,
        certificate_number: str,
        payment_id: str,
        transaction_date: date,
        apply_date: date,
        amount: Decimal,
        payment_method: str,
        payment_frequency: str,
        suspense_balance: Decimal,
    ) -> None:
        self.payment_ids[payment_id] = str(amount)
        self.suspense = suspense_balance
        self.last_payment_date = apply_date
        self._add_line(statements.line(transaction_date, apply_date, "Payment received", amount))

    @event("PaymentApplied")
    def _payment_applied(
        self,
        certificate_number: str,
        payment_id: str,
        apply_date: date,
        periods: int,
        amount: Decimal,
        paid_to_date: date,
        suspense_balance: Decimal,
    ) -> None:
        self.paid_periods += periods
        self.suspense = suspense_balance

    @event("PaymentReversed")
    def _payment_reversed(
        self,
        certificate_number: str,
        payment_id: str,
        reversed_on: date,
        reason: str,
        amount: Decimal,
        periods_reversed: int,
        paid_to_date: date,
        suspense_balance: Decimal,
    ) -> None:
        self.reversed_payments[payment_id] = reversed_on
        self.paid_periods -= periods_reversed
        self.suspense = suspense_balance
        self._add_line(statements.line(reversed_on, reversed_on, "Payment reversed", -amount))

    @event("PremiumsBilled")
    def _premiums_billed(
        self,
        certificate_number: str,
        periods: int,
        amount: Decimal,
        first_due_date: date,
        billed_to_date: date,
    ) -> None:
        self.billed_periods += periods

    @event("PremiumDefaulted")
    def _premium_defaulted(
        self,
        certificate_number: str,
        due_date: date,
        grace_ended_on: date,
        defaulted_on: date,
        paid_to_date: date,
        amount_due: Decimal,
    ) -> None:
        self.defaulted_due_dates.append(due_date)

    @event("StatementIssued")
    def _statement_issued(self, certificate_number: str, statement: dict[str, Any]) -> None:
        if statement["statement_type"] == "billing":
            self.lines_since_bill = []
        else:
            self.annual_through = statement["period_end"] + ONE_DAY
            self.year_lines = [
                entry
                for entry in self.year_lines
                if entry["transaction_date"] >= self.annual_through
            ]

    @event("StatusChanged")
    def _status_changed(self, certificate_number: str, status: str, status_date: date) -> None:
        self.status = status
        self.status_date = status_date

    def _add_line(self, entry: dict[str, Any]) -> None:
        self.lines_since_bill.append(entry)
        self.year_lines.append(dict(entry))


class AccountLogged(DomainEvent):
    """An entry in the index of billing accounts (for batch jobs such as billing cycles)."""

    certificate_number: str


def billing_account_id(certificate_number: str) -> UUID:
    return uuid5(ACCOUNT_NAMESPACE, certificate_number)
