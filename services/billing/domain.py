"""Billing account: premium periods billed and paid, and money waiting in suspense.

Paid-to and billed-to dates are derived from whole periods counted from the effective date
(`add_months(effective, periods × months per period)`), so month ends never drift.
A billing account lives for decades: the application snapshots it (see `application.py`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, DomainEvent, event

from shared.contracts.types import PaymentFrequency
from shared.dates import add_months

ACCOUNT_NAMESPACE = UUID("c1d8e5a4-0b3f-4a8e-9c1e-5d6f7a8b9c02")
ZERO = Decimal("0.00")


class PaymentRejected(ValueError):
    pass


class DuplicatePayment(PaymentRejected):
    pass


class BillingAccount(Aggregate):
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
    ) -> None:
        self.certificate_number = certificate_number
        self.payor_name = payor_name
        self.payment_frequency = payment_frequency
        self.payment_method = payment_method
        self.premium = premium
        self.effective_date = effective_date
        self.paid_periods = 0
        self.billed_periods = 0
        self.suspense = ZERO
        self.last_payment_date: date | None = None
        self.payment_ids: dict[str, str] = {}

    # --- derived dates -------------------------------------------------------------------

    @property
    def months_per_period(self) -> int:
        return PaymentFrequency(self.payment_frequency).months

    def period_start(self, periods: int) -> date:
        return add_months(self.effective_date, periods * self.months_per_period)

    @property
    def paid_to_date(self) -> date:
        return self.period_start(self.paid_periods)

    @property
    def billed_to_date(self) -> date:
        return self.period_start(self.billed_periods)

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
        if amount <= ZERO:
            raise PaymentRejected("a payment amount must be greater than zero")
        if payment_id in self.payment_ids:
            raise DuplicatePayment(f"payment {payment_id} is already recorded")
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
        periods = int(self.suspense // self.premium) if self.premium > ZERO else 0
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

    def bill_through(self, as_of: date) -> None:
        """Bill every premium due on or before `as_of` that is not billed yet."""
        due = 0
        while self.period_start(self.billed_periods + due) <= as_of:
            due += 1
        if due:
            self._premiums_billed(
                self.certificate_number,
                due,
                self.premium * due,
                self.period_start(self.billed_periods),
                self.period_start(self.billed_periods + due),
            )

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


class AccountLogged(DomainEvent):
    """An entry in the index of billing accounts (for batch jobs such as billing cycles)."""

    certificate_number: str


def billing_account_id(certificate_number: str) -> UUID:
    return uuid5(ACCOUNT_NAMESPACE, certificate_number)
