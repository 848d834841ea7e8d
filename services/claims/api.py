"""Claims' back-office command API (critical illness and accident claims).

- `POST /claims` SubmitClaim → 201 claim; 404 certificate not on file; 409 claim number
  taken; 422 bad input, a certificate without CI/AC coverage, or a patient who is not an
  insured of it (field `patient_insured_id`).
- `POST /claims/{n}/lines` AdjudicateLine → 200 claim; 422 a benefit above the amount claimed
  minus the excluded amount; 409 when the claim is past Review Complete.
- `POST /claims/{n}/review-complete` `{on}`, `/decision` `{on, deductible_applied?,
  coinsurance_copay?, other_carrier_paid?}`, `/payment` `{on, paid_to?}`, `/issue` `{on}`,
  `/deny` `{on, reason, not_covered}` → 200 claim; 409 a transition the lifecycle forbids.
- `GET /claims/{n}` → 200 claim / 404; `GET /health`.

A refusal records nothing. A 422 from the domain names its field in `errors` when it has one.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.claims.application import ClaimsApplication
from services.claims.domain import (
    CertificateNotOnFile,
    Claim,
    ClaimAlreadyExists,
    ClaimNotFound,
    ClaimRefused,
    IllegalClaimTransition,
)
from shared.contracts.claims import ClaimLine, ClaimTotals, Patient
from shared.contracts.types import CertificateNumber, Money, PositiveMoney
from shared.eventstore import caused_by
from shared.http import install_error_handlers
from shared.telemetry import instrument_http

CLAIM_NUMBER = r"^C[0-9]{9}$"
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
NonNegativeMoney = Annotated[Money, Field(ge=0)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitClaim(_Command):
    certificate_number: CertificateNumber
    claim_number: str | None = Field(None, pattern=CLAIM_NUMBER)
    patient_insured_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    provider: Text
    service_date: date
    submitted_amount: PositiveMoney
    submitted_on: date
    group_number: str = Field("", max_length=40)
    account_number: str = Field("", max_length=40)
    member_id: str | None = Field(None, min_length=1, max_length=40)


class AdjudicateLine(_Command):
    line_id: str | None = Field(None, pattern=r"^[\w.-]{1,20}$")
    date_of_service: date
    type_of_service: Text
    amount_claimed: PositiveMoney
    excluded_amount: NonNegativeMoney = Decimal("0.00")
    benefit_amount: NonNegativeMoney | None = None
    reason: str | None = Field(None, max_length=200)


class Dated(_Command):
    on: date


class RenderDecision(Dated):
    deductible_applied: NonNegativeMoney = Decimal("0.00")
    coinsurance_copay: NonNegativeMoney = Decimal("0.00")
    other_carrier_paid: NonNegativeMoney = Decimal("0.00")


class RecordPayment(Dated):
    paid_to: Text | None = None


class Deny(Dated):
    reason: Text
    not_covered: bool = False


class StatusEntry(BaseModel):
    status: str
    status_date: date


class ClaimOut(BaseModel):
    claim_number: str
    certificate_number: str
    group_number: str
    account_number: str
    member_id: str
    patient: Patient
    provider: str
    service_date: date
    submitted_amount: Decimal
    submitted_on: date
    currency: str
    status: str
    status_date: date
    status_history: list[StatusEntry]
    lines: list[ClaimLine]
    totals: ClaimTotals
    paid_to: str
    denial_reason: str | None
    version: int

    @classmethod
    def of(cls, c: Claim) -> ClaimOut:
        return cls(
            claim_number=c.claim_number,
            certificate_number=c.certificate_number,
            group_number=c.group_number,
            account_number=c.account_number,
            member_id=c.member_id,
            patient=Patient(**c.patient),
            provider=c.provider,
            service_date=c.service_date,
            submitted_amount=c.submitted_amount,
            submitted_on=c.submitted_on,
            currency=c.currency,
            status=c.status or "",
            status_date=c.status_date or c.submitted_on,
            status_history=[StatusEntry(**entry) for entry in c.status_history],
            lines=[ClaimLine(**line) for line in c.line_list],
            totals=ClaimTotals(**c.totals),
            paid_to=c.paid_to,
            denial_reason=c.denial_reason,
            version=c.version,
        )


def _number(number: Annotated[str, Path()]) -> str:
    if not re.fullmatch(CLAIM_NUMBER, number):
        raise ClaimNotFound(f"claim {number} not found")
    return number


Number = Annotated[str, Depends(_number)]


def create_claims_api(claims: ClaimsApplication) -> FastAPI:
    app = FastAPI(title="Claims service (back office)", version="1")
    install_error_handlers(
        app,
        not_found=(ClaimNotFound, CertificateNotOnFile),
        conflict=(ClaimAlreadyExists, IllegalClaimTransition),
    )
    instrument_http(app, "claims")

    @app.exception_handler(ClaimRefused)
    async def _refused(_: Request, exc: ClaimRefused) -> JSONResponse:
        content: dict[str, Any] = {"detail": str(exc)}
        if exc.field:
            content["errors"] = [{"field": exc.field, "message": str(exc)}]
        return JSONResponse(status_code=422, content=content)

    @app.post("/claims", status_code=201)
    def submit(command: SubmitClaim) -> ClaimOut:
        with caused_by("command", "SubmitClaim"):
            claim = claims.submit_claim(**dict(command))
        return ClaimOut.of(claim)

    @app.post("/claims/{number}/lines")
    def adjudicate_line(number: Number, command: AdjudicateLine) -> ClaimOut:
        with caused_by("command", "AdjudicateClaimLine"):
            claim = claims.adjudicate_line(number, **dict(command))
        return ClaimOut.of(claim)

    @app.post("/claims/{number}/review-complete")
    def complete_review(number: Number, command: Dated) -> ClaimOut:
        with caused_by("command", "CompleteClaimReview"):
            claim = claims.complete_review(number, command.on)
        return ClaimOut.of(claim)

    @app.post("/claims/{number}/decision")
    def render_decision(number: Number, command: RenderDecision) -> ClaimOut:
        with caused_by("command", "RenderClaimDecision"):
            claim = claims.render_decision(
                number,
                command.on,
                deductible_applied=command.deductible_applied,
                coinsurance_copay=command.coinsurance_copay,
                other_carrier_paid=command.other_carrier_paid,
            )
        return ClaimOut.of(claim)

    @app.post("/claims/{number}/payment")
    def record_payment(number: Number, command: RecordPayment) -> ClaimOut:
        with caused_by("command", "RecordClaimPayment"):
            claim = claims.record_payment(number, command.on, paid_to=command.paid_to)
        return ClaimOut.of(claim)

    @app.post("/claims/{number}/issue")
    def issue(number: Number, command: Dated) -> ClaimOut:
        with caused_by("command", "IssueClaim"):
            claim = claims.issue(number, command.on)
        return ClaimOut.of(claim)

    @app.post("/claims/{number}/deny")
    def deny(number: Number, command: Deny) -> ClaimOut:
        with caused_by("command", "DenyClaim"):
            claim = claims.deny(number, command.on, command.reason, not_covered=command.not_covered)
        return ClaimOut.of(claim)

    @app.get("/claims/{number}")
    def get(number: Number) -> ClaimOut:
        return ClaimOut.of(claims.get_claim(number))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
