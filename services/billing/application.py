"""Billing commands (one method each) and the account index used by batch jobs.

A command loads the account, lets it decide, and saves; a concurrent change to the same account
(an optimistic-concurrency conflict) makes it load and decide again, a few times at most.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, EventSourcedLog
from eventsourcing.persistence import IntegrityError

from services.billing import listbill, schedule
from services.billing.domain import AccountLogged, BillingAccount, billing_account_id
from services.billing.errors import AccountNotFound, CertificateNotInForce, PaymentRejected
from services.billing.listbill import ListBillRejected, RowError
from services.billing.personal import PERSONAL_FIELDS
from shared.eventstore import ServiceApplication

__all__ = ["AccountNotFound", "BillingApplication", "CycleSummary", "ListBillResult"]

MAX_CONFLICT_RETRIES = 5
T = TypeVar("T")


@dataclass
class CycleSummary:
    """What a billing cycle did: accounts billed, statements issued, premiums defaulted."""

    billed: int = 0
    statements: int = 0
    defaulted: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class ListBillResult:
    applied: int  # payment rows recorded
    accounts: int  # distinct billing accounts they went to


class BillingApplication(ServiceApplication):
    name = "billing"
    # A billing account lives for decades: never replay more than 50 events to load one.
    snapshotting_intervals = {BillingAccount: 50}  # noqa: RUF012
    personal_fields = PERSONAL_FIELDS  # sealed at rest (`personal.py`)

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
        status: str = schedule.ACTIVE_PREMIUM_PAYING,
        owner_party_id: UUID | None = None,
    ) -> list:
        """The new account and its index entry, for the caller to save in one transaction.
        `owner_party_id`: the certificate owner's, whose servicing key seals the payor's name."""
        account = BillingAccount(
            certificate_number=certificate_number,
            owner_party_id=owner_party_id,
            payor_name=payor_name,
            payment_frequency=payment_frequency,
            payment_method=payment_method,
            premium=premium,
            effective_date=effective_date,
            status=status,
        )
        entry = self.account_index.trigger_event(certificate_number=certificate_number)
        return [account, entry]

    def mirror_status(self, certificate_number: str, status: str, status_date: date) -> list:
        """The account with policy's new certificate status, for the caller to save."""
        account = self.get_account(certificate_number)
        account.mirror_status(status, status_date)
        return [account]

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
        """Refused (PaymentRejected) when the certificate is not in force; nothing recorded."""
        payment_id = payment_id or uuid4().hex
        return self._change(
            certificate_number,
            lambda account: account.receive_payment(
                payment_id=payment_id,
                amount=amount,
                transaction_date=transaction_date,
                apply_date=apply_date or transaction_date,
                payment_method=payment_method or account.payment_method,
            ),
        )[0]

    def reverse_payment(
        self, certificate_number: str, payment_id: str, reversed_on: date, reason: str
    ) -> BillingAccount:
        """A returned item / NSF: paid-to rolls back by the whole premiums the money covered."""
        return self._change(
            certificate_number,
            lambda account: account.reverse_payment(payment_id, reversed_on, reason),
        )[0]

    def bill_account(
        self, certificate_number: str, as_of: date, *, lead_days: int = 0
    ) -> BillingAccount:
        """Moves one account's billed-to date: every premium due on or before `as_of +
        lead_days` (0 by default: "billed through as_of") is billed, WITHOUT a statement — for
        billing history loaded from elsewhere, such as the demo data. Bills that owners
        receive come from `run_billing_cycle`."""
        through = schedule.billing_horizon(as_of, lead_days)
        account, _ = self._change(
            certificate_number, lambda a: a.bill(as_of, through, statement=False)
        )
        return account

    def run_billing_cycle(self, as_of: date) -> CycleSummary:
        """The batch job, as of a date, over every account (each saved on its own): bill what
        falls due within the lead days, default what is unpaid after grace, issue the annual
        statement of a certificate year that ended. Running it again changes nothing."""
        summary = CycleSummary()
        for number in self.account_numbers():
            _, (billed, annual, defaulted) = self._change(number, lambda a: _cycle(a, as_of))
            summary.billed += billed
            summary.statements += billed + annual
            summary.defaulted += defaulted
        return summary

    def import_list_bill(self, csv_text: str, received_on: date) -> ListBillResult:
        """An employer's list-bill file: every row is checked first; any error refuses the
        whole file (ListBillRejected with every error); else all payments are recorded, method
        List Bill and payment id the reference, in one transaction."""
        for attempt in range(MAX_CONFLICT_RETRIES):
            rows, accounts = self._validated_list_bill(csv_text, received_on)
            for row in rows:
                accounts[row.certificate_number].receive_payment(
                    payment_id=row.reference,
                    amount=row.amount,
                    transaction_date=row.transaction_date,
                    apply_date=row.apply_date,
                    payment_method="List Bill",
                )
            try:
                self.save(*accounts.values())
            except IntegrityError:
                if attempt + 1 == MAX_CONFLICT_RETRIES:
                    raise
                continue
            return ListBillResult(applied=len(rows), accounts=len(accounts))
        raise AssertionError("unreachable")  # pragma: no cover

    def _validated_list_bill(
        self, csv_text: str, received_on: date
    ) -> tuple[list[listbill.ListBillRow], dict[str, BillingAccount]]:
        rows, errors = listbill.parse_list_bill(csv_text)
        accounts: dict[str, BillingAccount | None] = {}
        for row in rows:
            number = row.certificate_number
            if number not in accounts:  # each account is loaded once
                accounts[number] = self.find_account(number)
            account = accounts[number]
            if account is None:
                message = f"no billing account for certificate {number}"
                errors.append(RowError(row.line, "certificate_number", message))
                continue
            try:
                account.check_payment(row.reference, row.amount)
            except PaymentRejected as exc:
                not_in_force = isinstance(exc, CertificateNotInForce)
                field = "certificate_number" if not_in_force else "reference"
                errors.append(RowError(row.line, field, str(exc)))
            if row.transaction_date > received_on:
                message = f"{row.transaction_date} is after the file was received ({received_on})"
                errors.append(RowError(row.line, "transaction_date", message))
        if errors:
            errors.sort(key=lambda e: (e.line or 0, listbill.field_order(e.field)))
            lines = len({e.line for e in errors})
            raise ListBillRejected(
                f"the list bill was refused, nothing was recorded: "
                f"{len(errors)} error(s) on {lines} line(s)",
                errors,
            )
        return rows, {n: a for n, a in accounts.items() if a is not None}

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

    def find_account(self, certificate_number: str) -> BillingAccount | None:
        try:
            return self.get_account(certificate_number)
        except AccountNotFound:
            return None

    def _change(
        self, certificate_number: str, decide: Callable[[BillingAccount], T]
    ) -> tuple[BillingAccount, T]:
        for attempt in range(MAX_CONFLICT_RETRIES):
            account = self.get_account(certificate_number)
            before = account.version
            outcome = decide(account)
            if account.version == before:
                return account, outcome
            try:
                self.save(account)
            except IntegrityError:
                if attempt + 1 == MAX_CONFLICT_RETRIES:
                    raise
                continue
            return account, outcome
        raise AssertionError("unreachable")  # pragma: no cover


def _cycle(account: BillingAccount, as_of: date) -> tuple[int, int, int]:
    billed = account.status in schedule.BILLABLE and account.bill(
        as_of, schedule.billing_horizon(as_of)
    )
    defaulted = account.default_unpaid_premium(as_of)
    annual = account.issue_annual_statement(as_of)
    return int(billed), int(annual), int(defaulted)
