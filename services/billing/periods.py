"""What a billing account's state implies: period dates, amounts owed, whether it is in force.

A plain mixin of `BillingAccount` (no events, no state of its own): paid-to and billed-to are
derived from whole periods counted from the effective date (`add_months(effective, periods ×
months per period)`), so month ends never drift (01/31 → 02/29 → 03/31).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from services.billing import schedule
from shared.contracts.types import PaymentFrequency
from shared.dates import add_months

ZERO = Decimal("0.00")


class AccountPeriods:
    effective_date: date
    payment_frequency: str
    premium: Decimal
    paid_periods: int
    billed_periods: int
    suspense: Decimal
    status: str

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

    @property
    def amount_outstanding(self) -> Decimal:
        """Premiums billed and not paid, less suspense (never below zero)."""
        unpaid = max(0, self.billed_periods - self.paid_periods)
        return max(ZERO, self.premium * unpaid - self.suspense)

    @property
    def in_force(self) -> bool:
        return self.status not in schedule.NOT_IN_FORCE

    def whole_premiums(self, amount: Decimal) -> int:
        """How many whole premiums `amount` covers (0 when negative or the premium is 0)."""
        if self.premium <= ZERO or amount < self.premium:
            return 0
        return int(amount // self.premium)


def complete_v2_state(state: dict[str, Any], status: str) -> None:
    """The state added in class version 2 (also completes a version-1 snapshot)."""
    state.setdefault("status", status)
    state.setdefault("status_date", None)
    state.setdefault("reversed_payments", {})  # payment id → reversal date
    state.setdefault("defaulted_due_dates", [])  # due dates already defaulted
    state.setdefault("lines_since_bill", [])  # payments and reversals since the last bill
    state.setdefault("year_lines", [])  # … not yet in an annual statement
    state.setdefault("annual_through", None)  # end of the last year in an annual statement
