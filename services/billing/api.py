"""Billing's back-office command API: payments, reversals, list-bill files, billing cycles.

- `POST /accounts/{number}/payments` RecordPayment → 201 account; 404 unknown certificate;
  409 the same payment id again; 422 bad input or a certificate not in force.
- `POST /accounts/{number}/payments/{payment_id}/reversal` `{reversed_on, reason}` → 200
  account; 404 unknown certificate or payment; 409 already reversed; 422 bad input.
- `GET /accounts/{number}` → 200 account / 404.
- `POST /list-bills?received_on=YYYY-MM-DD` (default today), the CSV as the body (text/csv)
  or a multipart upload's `file` field → 201 `{applied, accounts}`, or 422 `{detail, errors:
  [{line, field, message}]}` with nothing recorded (also for an empty or binary body).
- `POST /billing-cycles` `{as_of}` → 200 `{billed, statements, defaulted}`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.billing.application import AccountNotFound, BillingApplication
from services.billing.domain import BillingAccount
from services.billing.errors import (
    DuplicatePayment,
    NotBillable,
    PaymentAlreadyReversed,
    PaymentNotFound,
    PaymentRejected,
)
from services.billing.listbill import ListBillRejected, file_error
from shared.clock import Clock
from shared.contracts.types import PaymentMethod, PositiveMoney, pad_certificate_number
from shared.eventstore import caused_by
from shared.http import install_error_handlers
from shared.telemetry import instrument_http

MAX_LIST_BILL_BYTES = 5_000_000
CSV_MEDIA_TYPES = frozenset(
    {"", "text/csv", "text/plain", "application/csv", "application/vnd.ms-excel"}
    | {"application/octet-stream"}
)


class RecordPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: PositiveMoney
    transaction_date: date
    apply_date: date | None = None
    payment_method: PaymentMethod | None = None
    # The bank or employer reference: recording the same payment twice is refused.
    payment_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[\w.:-]+$")


class ReversePayment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reversed_on: date
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class RunBillingCycle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date


class AccountOut(BaseModel):
    certificate_number: str
    status: str
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
            status=a.status,
            paid_to_date=a.paid_to_date,
            billed_to_date=a.billed_to_date,
            suspense_balance=a.suspense,
            premium=a.premium,
            payment_frequency=a.payment_frequency,
            version=a.version,
        )


class ListBillOut(BaseModel):
    applied: int
    accounts: int


def _number(number: Annotated[str, Path()]) -> str:
    try:
        return pad_certificate_number(number)
    except ValueError as exc:
        raise AccountNotFound(f"no billing account for certificate {number}") from exc


async def list_bill_text(request: Request) -> str:
    """The list-bill CSV from the body: text/csv (or plain text), or a multipart `file`."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if int(request.headers.get("content-length") or 0) > MAX_LIST_BILL_BYTES:
        raise file_error(f"the list bill is larger than {MAX_LIST_BILL_BYTES} bytes")
    body = await request.body()
    if media_type == "multipart/form-data":
        body = _multipart_file(content_type, body)
    elif media_type not in CSV_MEDIA_TYPES:
        raise file_error(
            f"send the list bill as text/csv (or a multipart upload with a 'file' field), "
            f"not {media_type}"
        )
    if len(body) > MAX_LIST_BILL_BYTES:
        raise file_error(f"the list bill is larger than {MAX_LIST_BILL_BYTES} bytes")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise file_error("the list bill is not CSV text (it is not UTF-8)") from None


def _multipart_file(content_type: str, body: bytes) -> bytes:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                return part.get_payload(decode=True) or b""
    raise file_error("a multipart upload needs the list bill in a field named 'file'")


def create_billing_api(billing: BillingApplication, clock: Clock | None = None) -> FastAPI:
    clock = clock or Clock()
    app = FastAPI(title="Billing service (back office)", version="1")
    install_error_handlers(
        app,
        not_found=(AccountNotFound, PaymentNotFound),
        conflict=(DuplicatePayment, PaymentAlreadyReversed),
        unprocessable=(PaymentRejected, NotBillable),
    )
    instrument_http(app, "billing")

    @app.exception_handler(ListBillRejected)
    async def _list_bill_refused(_: Request, exc: ListBillRejected) -> JSONResponse:
        errors = [e.as_dict() for e in exc.errors]
        return JSONResponse(status_code=422, content={"detail": exc.detail, "errors": errors})

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

    @app.post("/accounts/{number}/payments/{payment_id}/reversal")
    def reverse_payment(
        number: Annotated[str, Depends(_number)],
        payment_id: Annotated[str, Path(min_length=1, max_length=64)],
        command: ReversePayment,
    ) -> AccountOut:
        with caused_by("command", "ReversePayment"):
            account = billing.reverse_payment(
                number, payment_id, command.reversed_on, command.reason
            )
        return AccountOut.of(account)

    @app.get("/accounts/{number}")
    def get_account(number: Annotated[str, Depends(_number)]) -> AccountOut:
        return AccountOut.of(billing.get_account(number))

    @app.post("/list-bills", status_code=201)
    def import_list_bill(
        text: Annotated[str, Depends(list_bill_text)], received_on: date | None = None
    ) -> ListBillOut:
        with caused_by("command", "ImportListBill"):
            result = billing.import_list_bill(text, received_on or clock.today())
        return ListBillOut(applied=result.applied, accounts=result.accounts)

    @app.post("/billing-cycles")
    def run_billing_cycle(command: RunBillingCycle) -> dict[str, int]:
        with caused_by("batch", "BillingCycle"):
            return billing.run_billing_cycle(command.as_of).as_dict()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
