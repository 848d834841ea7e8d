"""The Certificate aggregate: everything the guide's certificate screens show.

Nested parts (owner party, benefits with their insureds and loans, agents) are plain dicts in
the events, validated at the edge by `values.py`.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.policy.nonforfeiture import status_after_default
from services.policy.statuses import LEGAL_TRANSITIONS, CertificateStatus, IllegalTransition

CERTIFICATE_NAMESPACE = UUID("2a8f4f8e-3c1b-4d52-a3b4-7a0f5f1d9c01")
ZERO = Decimal("0.00")


class LoanRefused(ValueError):
    pass


class UnknownBenefit(LookupError):
    pass


class Certificate(Aggregate):
    @staticmethod
    def create_id(certificate_number: str, **_: object) -> UUID:
        return certificate_id(certificate_number)

    @event("Issued")
    def __init__(
        self,
        certificate_number: str,
        product_code: str,
        product_name: str,
        status: str,
        currency: str,
        application_date: date,
        effective_date: date,
        premium: Decimal,
        payment_frequency: str,
        payment_method: str,
        payor_name: str,
        owner: dict[str, Any],
        benefits: list[dict[str, Any]],
        agents: list[dict[str, Any]],
        primary_dividend_option: str | None = None,
        net_cash_value: Decimal | None = None,
        paid_up_additions_amount: Decimal | None = None,
        paid_up_additions_expiration_date: date | None = None,
        nonforfeiture_option: str | None = None,
    ) -> None:
        self.certificate_number = certificate_number
        self.product_code = product_code
        self.product_name = product_name
        self.status = status
        self.currency = currency
        self.application_date = application_date
        self.effective_date = effective_date
        self.premium = premium
        self.payment_frequency = payment_frequency
        self.payment_method = payment_method
        self.payor_name = payor_name
        self.owner = deepcopy(owner)
        self.benefits = {b["benefit_id"]: {**deepcopy(b), "loans": {}} for b in benefits}
        self.agents = deepcopy(agents)
        self.primary_dividend_option = primary_dividend_option
        self.net_cash_value = net_cash_value
        self.paid_up_additions_amount = paid_up_additions_amount
        self.paid_up_additions_expiration_date = paid_up_additions_expiration_date
        # Whole Life only (see `nonforfeiture.py`); None in Issued events recorded before it.
        self.nonforfeiture_option = nonforfeiture_option
        self.status_history: list[tuple[str, date]] = [(status, effective_date)]

    @property
    def owner_party_id(self) -> UUID:
        return self.owner["party_id"]

    # --- commands --------------------------------------------------------------------------

    def change_status(self, new_status: CertificateStatus, status_date: date) -> None:
        current = CertificateStatus(self.status)
        if new_status not in LEGAL_TRANSITIONS[current]:
            raise IllegalTransition(f"a certificate cannot go from {current} to {new_status}")
        self._status_changed(self.certificate_number, self.status, new_status.value, status_date)

    def premium_defaulted(self, defaulted_on: date) -> bool:
        """A premium went unpaid past its grace period (billing's PremiumDefaulted): an Active
        Premium Paying certificate continues under its nonforfeiture option or lapses
        (`nonforfeiture.py`). True if the status changed; any other status, or a default not
        newer than the latest status change, changes nothing."""
        if self.status != CertificateStatus.ACTIVE_PREMIUM_PAYING:
            return False
        if self.status_history and defaulted_on <= self.status_history[-1][1]:
            return False
        new_status = status_after_default(
            self.product_code,
            # Snapshots taken before the option existed lack the attribute.
            getattr(self, "nonforfeiture_option", None),
            self.net_cash_value,
            self.benefits,
        )
        self.change_status(new_status, defaulted_on)
        return True

    def update_contact(self, contact: dict[str, Any]) -> None:
        if contact != self.owner["contact"]:
            self._contact_updated(self.certificate_number, self.owner_party_id, contact)

    def update_cash_value(
        self, as_of: date, net_cash_value: Decimal, benefit_values: dict[str, Decimal]
    ) -> None:
        unknown = set(benefit_values) - set(self.benefits)
        if unknown:
            raise UnknownBenefit(f"no benefit {sorted(unknown)[0]} on this certificate")
        if net_cash_value < ZERO:
            raise ValueError("a net cash value cannot be negative")
        self._cash_value_updated(self.certificate_number, as_of, net_cash_value, benefit_values)

    def credit_dividend(
        self, credited_on: date, amount: Decimal, expiration_date: date | None
    ) -> None:
        if amount <= ZERO:
            raise ValueError("a dividend must be greater than zero")
        total = (self.paid_up_additions_amount or ZERO) + amount
        self._dividend_credited(
            self.certificate_number, credited_on, amount, total, expiration_date
        )

    def take_loan(
        self, benefit_id: str, loan_id: str, amount: Decimal, rate: Decimal, taken_on: date
    ) -> None:
        benefit = self._benefit(benefit_id)
        if amount <= ZERO:
            raise LoanRefused("a loan amount must be greater than zero")
        if loan_id in benefit["loans"]:
            raise LoanRefused(f"loan {loan_id} already exists")
        outstanding = sum((loan["balance"] for loan in benefit["loans"].values()), ZERO)
        available = (benefit.get("net_benefit_value") or ZERO) - outstanding
        if amount > available:
            raise LoanRefused(f"the loan value available on this benefit is {available:.2f}")
        self._loan_taken(self.certificate_number, benefit_id, loan_id, taken_on, amount, rate)

    def repay_loan(self, benefit_id: str, loan_id: str, amount: Decimal, repaid_on: date) -> None:
        loan = self._benefit(benefit_id)["loans"].get(loan_id)
        if loan is None:
            raise UnknownBenefit(f"no loan {loan_id} on benefit {benefit_id}")
        if amount <= ZERO or amount > loan["balance"]:
            raise LoanRefused(f"a repayment is between 0.01 and {loan['balance']:.2f}")
        balance = loan["balance"] - amount
        self._loan_repaid(self.certificate_number, benefit_id, loan_id, repaid_on, amount, balance)

    def _benefit(self, benefit_id: str) -> dict[str, Any]:
        try:
            return self.benefits[benefit_id]
        except KeyError:
            raise UnknownBenefit(f"no benefit {benefit_id} on this certificate") from None

    # --- events ----------------------------------------------------------------------------

    @event("StatusChanged")
    def _status_changed(
        self, certificate_number: str, previous_status: str, status: str, status_date: date
    ) -> None:
        self.status = status
        self.status_history.append((status, status_date))
        for benefit in self.benefits.values():  # benefits in step with the certificate follow it
            if benefit["status"] == previous_status:
                benefit["status"] = status

    @event("ContactInformationUpdated")
    def _contact_updated(
        self, certificate_number: str, owner_party_id: UUID, contact: dict[str, Any]
    ) -> None:
        self.owner["contact"] = deepcopy(contact)

    @event("CashValueUpdated")
    def _cash_value_updated(
        self,
        certificate_number: str,
        as_of: date,
        net_cash_value: Decimal,
        benefit_values: dict[str, Decimal],
    ) -> None:
        self.net_cash_value = net_cash_value
        for benefit_id, value in benefit_values.items():
            self.benefits[benefit_id]["net_benefit_value"] = value

    @event("DividendCredited")
    def _dividend_credited(
        self,
        certificate_number: str,
        credited_on: date,
        amount: Decimal,
        paid_up_additions_amount: Decimal,
        paid_up_additions_expiration_date: date | None,
    ) -> None:
        self.paid_up_additions_amount = paid_up_additions_amount
        self.paid_up_additions_expiration_date = paid_up_additions_expiration_date

    @event("LoanTaken")
    def _loan_taken(
        self,
        certificate_number: str,
        benefit_id: str,
        loan_id: str,
        taken_on: date,
        amount: Decimal,
        interest_rate: Decimal,
    ) -> None:
        self.benefits[benefit_id]["loans"][loan_id] = {
            "loan_id": loan_id,
            "taken_on": taken_on,
            "amount": amount,
            "interest_rate": interest_rate,
            "balance": amount,
        }

    @event("LoanRepaid")
    def _loan_repaid(
        self,
        certificate_number: str,
        benefit_id: str,
        loan_id: str,
        repaid_on: date,
        amount: Decimal,
        balance: Decimal,
    ) -> None:
        self.benefits[benefit_id]["loans"][loan_id]["balance"] = balance


def certificate_id(certificate_number: str) -> UUID:
    return uuid5(CERTIFICATE_NAMESPACE, certificate_number)
