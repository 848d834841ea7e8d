"""Billing commands (one method each) and the account index used by batch jobs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from uuid import NAMESPACE_URL, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, EventSourcedLog

from services.billing.domain import AccountLogged, BillingAccount, billing_account_id
from shared.eventstore import ServiceApplication


class AccountNotFound(LookupError):
    pass


class BillingApplication(ServiceApplication):
    name = "billing"
    # A billing account lives for decades: never replay more than 50 events to load one.
    snapshotting_intervals = {BillingAccount: 50}  # noqa: RUF012

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.account_index = EventSourcedLog(
            self.events, uuid5(NAMESPACE_URL, "/billing/accounts"), AccountLogged
        )

    def open_account(
        self,
        *,
        certificate_number: str,
        payor_name: str,
        payment_frequency: str,
        payment_method: str,
        premium: Decimal,
        effective_date: date,
    ) -> list:
        """The new account and its index entry, for the caller to save in one transaction."""
        account = BillingAccount(
            certificate_number=certificate_number,
            payor_name=payor_name,
            payment_frequency=payment_frequency,
            payment_method=payment_method,
            premium=premium,
            effective_date=effective_date,
        )
        entry = self.account_index.trigger_event(certificate_number=certificate_number)
        return [account, entry]

    def record_payment(
        self,
        certificate_number: str,
        *,
        amount: Decimal,
        transaction_date: date,
        apply_date: date | None = None,
        payment_method: str | None = None,
        payment_id: str | None = None,
    ) -> BillingAccount:
        account = self.get_account(certificate_number)
        account.receive_payment(
            payment_id=payment_id or uuid4().hex,
            amount=amount,
            transaction_date=transaction_date,
            apply_date=apply_date or transaction_date,
            payment_method=payment_method or account.payment_method,
        )
        self.save(account)
        return account

    def bill_account(self, certificate_number: str, as_of: date) -> BillingAccount:
        account = self.get_account(certificate_number)
        account.bill_through(as_of)
        self.save(account)
        return account

    def run_billing_cycle(self, as_of: date) -> int:
        """Bill every account through `as_of`; answers how many accounts were billed."""
        billed = 0
        for number in self.account_numbers():
            account = self.get_account(number)
            before = account.version
            account.bill_through(as_of)
            if account.version != before:
                self.save(account)
                billed += 1
        return billed

    def account_numbers(self) -> Iterator[str]:
        for entry in self.account_index.get():
            yield entry.certificate_number

    def get_account(self, certificate_number: str) -> BillingAccount:
        try:
            return self.repository.get(billing_account_id(certificate_number))
        except AggregateNotFoundError as exc:
            raise AccountNotFound(
                f"no billing account for certificate {certificate_number}"
            ) from exc
