"""Policy's back-office command API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import Depends, FastAPI, Path
from pydantic import BaseModel, ConfigDict, Field

from services.policy.application import (
    CertificateAlreadyIssued,
    CertificateNotFound,
    PolicyApplication,
)
from services.policy.domain import Certificate, CertificateStatus, IllegalTransition
from services.policy.products import ProductCode
from shared.contracts.types import CertificateNumber, PaymentFrequency, PaymentMethod, PositiveMoney
from shared.eventstore import caused_by
from shared.http import install_error_handlers
from shared.telemetry import instrument_http


class IssueCertificate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    certificate_number: CertificateNumber
    owner_party_id: UUID
    product_code: ProductCode
    status: CertificateStatus = CertificateStatus.ACTIVE_PREMIUM_PAYING
    application_date: date
    effective_date: date
    premium: PositiveMoney
    payment_frequency: PaymentFrequency
    payment_method: PaymentMethod
    payor_name: str = Field(min_length=1, max_length=200)
    currency: str = Field("USD", pattern="^[A-Z]{3}$")


class ChangeStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: CertificateStatus
    status_date: date


class CertificateOut(BaseModel):
    certificate_number: str
    product_name: str
    status: str
    effective_date: date
    premium: Decimal
    version: int

    @classmethod
    def of(cls, c: Certificate) -> CertificateOut:
        return cls(
            certificate_number=c.certificate_number,
            product_name=c.product_name,
            status=c.status,
            effective_date=c.effective_date,
            premium=c.premium,
            version=c.version,
        )


def certificate_number_path(number: Annotated[str, Path()]) -> str:
    from shared.contracts.types import _pad_certificate_number

    try:
        return _pad_certificate_number(number)
    except ValueError as exc:
        raise CertificateNotFound(f"certificate {number} not found") from exc


def create_policy_api(policy: PolicyApplication) -> FastAPI:
    app = FastAPI(title="Policy service (back office)", version="1")
    install_error_handlers(
        app,
        not_found=(CertificateNotFound,),
        conflict=(CertificateAlreadyIssued, IllegalTransition),
        unprocessable=(ValueError,),
    )
    instrument_http(app, "policy")

    @app.post("/certificates", status_code=201)
    def issue(command: IssueCertificate) -> CertificateOut:
        with caused_by("command", "IssueCertificate"):
            certificate = policy.issue_certificate(**command.model_dump())
        return CertificateOut.of(certificate)

    @app.post("/certificates/{number}/status")
    def change_status(
        number: Annotated[str, Depends(certificate_number_path)], command: ChangeStatus
    ) -> CertificateOut:
        with caused_by("command", "ChangeCertificateStatus"):
            certificate = policy.change_status(number, command.status, command.status_date)
        return CertificateOut.of(certificate)

    @app.get("/certificates/{number}")
    def get(number: Annotated[str, Depends(certificate_number_path)]) -> CertificateOut:
        return CertificateOut.of(policy.get_certificate(number))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
