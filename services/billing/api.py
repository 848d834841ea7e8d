"""Billing's back-office command API: record a payment, run a billing cycle."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, FastAPI, Path
from pydantic import BaseModel, ConfigDict, Field

from services.billing.application import AccountNotFound, BillingApplication
from services.billing.domain import BillingAccount, DuplicatePayment, PaymentRejected
from shared.contracts.types import PaymentMethod, PositiveMoney, _pad_certificate_number
from shared.eventstore import caused_by
from shared.http import install_error_handlers
from shared.telemetry import instrument_http


class RecordPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: PositiveMoney
    transaction_date: date
    apply_date: date | None = None
    payment_method: PaymentMethod | None = None
    # The bank or employer reference: recording the same payment twice is refused.
    payment_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[\w.:-]+$")


class RunBillingCycle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date


class AccountOut(BaseModel):
    certificate_number: str
    paid_to_date: date
    billed_to_date: date
    suspense_balance: Decimal
    premium: Decimal
    payment_frequency: str
    version: int

    @classmethod
    def of(cls, a: BillingAccount) -> AccountOut:
        return cls(
            certificate_number=a.certificate_number,
            paid_to_date=a.paid_to_date,
            billed_to_date=a.billed_to_date,
            suspense_balance=a.suspense,
            premium=a.premium,
            payment_frequency=a.payment_frequency,
            version=a.version,
        )


def _number(number: Annotated[str, Path()]) -> str:
    try:
        return _pad_certificate_number(number)
    except ValueError as exc:
        raise AccountNotFound(f"no billing account for certificate {number}") from exc


def create_billing_api(billing: BillingApplication) -> FastAPI:
    app = FastAPI(title="Billing service (back office)", version="1")
    install_error_handlers(
        app,
        not_found=(AccountNotFound,),
        conflict=(DuplicatePayment,),
        unprocessable=(PaymentRejected,),
    )
    instrument_http(app, "billing")

    @app.post("/accounts/{number}/payments", status_code=201)
    def record_payment(
        number: Annotated[str, Depends(_number)], command: RecordPayment
    ) -> AccountOut:
        with caused_by("command", "RecordPayment"):
            account = billing.record_payment(
                number,
                amount=command.amount,
                transaction_date=command.transaction_date,
                apply_date=command.apply_date,
                payment_method=command.payment_method.value if command.payment_method else None,
                payment_id=command.payment_id,
            )
        return AccountOut.of(account)

    @app.get("/accounts/{number}")
    def get_account(number: Annotated[str, Depends(_number)]) -> AccountOut:
        return AccountOut.of(billing.get_account(number))

    @app.post("/billing-cycles")
    def run_billing_cycle(command: RunBillingCycle) -> dict[str, int]:
        with caused_by("batch", "BillingCycle"):
            return {"accounts_billed": billing.run_billing_cycle(command.as_of)}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
