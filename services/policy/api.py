"""Policy's back-office command API (and the owner's contact update, sent by the portal)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI, Path
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.policy.application import (
    CertificateAlreadyIssued,
    CertificateNotFound,
    OwnerNotFound,
    PolicyApplication,
)
from services.policy.domain import Certificate, LoanRefused, UnknownBenefit
from services.policy.nonforfeiture import NonforfeitureOption
from services.policy.products import ProductCode
from services.policy.statuses import CertificateStatus, IllegalTransition
from services.policy.values import Agent, Benefit, ContactInformation, OwnerParty
from shared.contracts.policy import ERASED_ADDRESS
from shared.contracts.types import (
    CertificateNumber,
    Money,
    PaymentFrequency,
    PaymentMethod,
    PositiveMoney,
    pad_certificate_number,
)
from shared.eventstore import caused_by
from shared.http import install_error_handlers
from shared.telemetry import instrument_http


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueCertificate(_Command):
    certificate_number: CertificateNumber
    product_code: ProductCode
    status: CertificateStatus = CertificateStatus.ACTIVE_PREMIUM_PAYING
    application_date: date
    effective_date: date
    premium: PositiveMoney
    payment_frequency: PaymentFrequency
    payment_method: PaymentMethod
    payor_name: str = Field(min_length=1, max_length=200)
    currency: str = Field("USD", pattern="^[A-Z]{3}$")
    owner: OwnerParty
    benefits: list[Benefit] = Field(min_length=1)
    agents: list[Agent] = Field(default_factory=list, max_length=10)
    primary_dividend_option: str | None = Field(None, max_length=80)
    net_cash_value: Money | None = None
    paid_up_additions_amount: Money | None = None
    paid_up_additions_expiration_date: date | None = None
    # Whole Life only; Reduced Paid Up when omitted (see `nonforfeiture.py`).
    nonforfeiture_option: NonforfeitureOption | None = None

    @field_validator("nonforfeiture_option")
    @classmethod
    def _whole_life_only(cls, option: str | None, info: ValidationInfo) -> str | None:
        product = info.data.get("product_code")
        if option is not None and product is not None and product != ProductCode.WHOLE_LIFE:
            raise ValueError("a nonforfeiture option applies to Whole Life certificates only")
        return option


class ChangeStatus(_Command):
    status: CertificateStatus
    status_date: date


class UpdateCashValue(_Command):
    as_of: date
    net_cash_value: Money
    benefit_values: dict[str, Money] = Field(default_factory=dict)


class CreditDividend(_Command):
    credited_on: date
    amount: PositiveMoney
    paid_up_additions_expiration_date: date | None = None


class TakeLoan(_Command):
    loan_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,20}$")
    amount: PositiveMoney
    interest_rate: Money = Field(ge=0, le=25)
    taken_on: date


class RepayLoan(_Command):
    amount: PositiveMoney
    repaid_on: date


class CertificateOut(BaseModel):
    certificate_number: str
    product_name: str
    status: str
    effective_date: date
    premium: Decimal
    owner_party_id: UUID
    nonforfeiture_option: str | None = None
    version: int

    @classmethod
    def of(cls, c: Certificate) -> CertificateOut:
        return cls(
            certificate_number=c.certificate_number,
            product_name=c.product_name,
            status=c.status,
            effective_date=c.effective_date,
            premium=c.premium,
            owner_party_id=c.owner_party_id,
            nonforfeiture_option=getattr(c, "nonforfeiture_option", None),
            version=c.version,
        )


class AddressOut(BaseModel):
    street: list[str]
    city: str
    state: str
    country: str
    zip_code: str


class OwnerOut(BaseModel):
    """The owner as the back office sees it. The government ID shows its last 4 digits only.
    Erased fields (the person's keys shredded) answer their placeholders: "" names, no date
    of birth, an empty address, no phones or emails."""

    party_id: UUID
    name_type: str
    first_name: str
    last_name: str
    gender: str | None
    date_of_birth: date | None
    government_id_last4: str | None
    address: AddressOut
    phones: dict[str, str | None]
    emails: list[str]
    preferred_contact_method: str | None

    @classmethod
    def of(cls, owner: dict[str, Any]) -> OwnerOut:
        contact = owner.get("contact") or {}
        government_id = "".join(ch for ch in owner.get("government_id") or "" if ch.isdigit())
        return cls(
            party_id=owner["party_id"],
            name_type=owner.get("name_type") or "Person",
            first_name=owner.get("first_name") or "",
            last_name=owner.get("last_name") or "",
            gender=owner.get("gender"),
            date_of_birth=owner.get("date_of_birth"),
            government_id_last4=government_id[-4:] or None,
            address=AddressOut(**{**ERASED_ADDRESS, **(contact.get("address") or {})}),
            phones={k: v for k, v in (contact.get("phones") or {}).items() if v},
            emails=[str(e) for e in contact.get("emails") or []],
            preferred_contact_method=contact.get("preferred_contact_method"),
        )


class InsuredOut(BaseModel):
    insured_id: str
    first_name: str
    last_name: str
    relationship: str
    date_of_birth: date | None


class BenefitOut(BaseModel):
    benefit_id: str
    product_name: str
    coverage_code: str
    status: str
    insureds: list[InsuredOut]


class CertificateDetail(CertificateOut):
    """GET: the certificate with its owner, payor and insureds (personal fields opened with
    the people's keys; see `OwnerOut` for what erased fields answer)."""

    payor_name: str
    owner: OwnerOut
    benefits: list[BenefitOut]

    @classmethod
    def of(cls, c: Certificate) -> CertificateDetail:
        return cls(
            **CertificateOut.of(c).model_dump(),
            payor_name=c.payor_name or "",
            owner=OwnerOut.of(c.owner),
            benefits=[
                BenefitOut(
                    benefit_id=b["benefit_id"],
                    product_name=b["product_name"],
                    coverage_code=b["coverage_code"],
                    status=b["status"],
                    insureds=[
                        InsuredOut(
                            insured_id=i["insured_id"],
                            first_name=i.get("first_name") or "",
                            last_name=i.get("last_name") or "",
                            relationship=i["relationship"],
                            date_of_birth=i.get("date_of_birth"),
                        )
                        for i in b["insureds"]
                    ],
                )
                for b in c.benefits.values()
            ],
        )


def certificate_number_path(number: Annotated[str, Path()]) -> str:
    try:
        return pad_certificate_number(number)
    except ValueError as exc:
        raise CertificateNotFound(f"certificate {number} not found") from exc


Number = Annotated[str, Depends(certificate_number_path)]


def create_policy_api(policy: PolicyApplication) -> FastAPI:
    app = FastAPI(title="Policy service (back office)", version="1")
    install_error_handlers(
        app,
        not_found=(CertificateNotFound, OwnerNotFound, UnknownBenefit),
        conflict=(CertificateAlreadyIssued, IllegalTransition),
        unprocessable=(LoanRefused, ValueError),
    )
    instrument_http(app, "policy")

    @app.post("/certificates", status_code=201)
    def issue(command: IssueCertificate) -> CertificateOut:
        with caused_by("command", "IssueCertificate"):
            certificate = policy.issue_certificate(**dict(command))
        return CertificateOut.of(certificate)

    @app.post("/certificates/{number}/status")
    def change_status(number: Number, command: ChangeStatus) -> CertificateOut:
        with caused_by("command", "ChangeCertificateStatus"):
            certificate = policy.change_status(number, command.status, command.status_date)
        return CertificateOut.of(certificate)

    @app.post("/certificates/{number}/cash-value")
    def update_cash_value(number: Number, command: UpdateCashValue) -> CertificateOut:
        with caused_by("command", "UpdateCashValue"):
            certificate = policy.update_cash_value(
                number, command.as_of, command.net_cash_value, command.benefit_values
            )
        return CertificateOut.of(certificate)

    @app.post("/certificates/{number}/dividends")
    def credit_dividend(number: Number, command: CreditDividend) -> CertificateOut:
        with caused_by("command", "CreditDividend"):
            certificate = policy.credit_dividend(
                number,
                command.credited_on,
                command.amount,
                command.paid_up_additions_expiration_date,
            )
        return CertificateOut.of(certificate)

    @app.post("/certificates/{number}/benefits/{benefit_id}/loans")
    def take_loan(number: Number, benefit_id: str, command: TakeLoan) -> CertificateOut:
        with caused_by("command", "TakeLoan"):
            certificate = policy.take_loan(
                number,
                benefit_id,
                command.loan_id,
                command.amount,
                command.interest_rate,
                command.taken_on,
            )
        return CertificateOut.of(certificate)

    @app.post("/certificates/{number}/benefits/{benefit_id}/loans/{loan_id}/repayments")
    def repay_loan(
        number: Number, benefit_id: str, loan_id: str, command: RepayLoan
    ) -> CertificateOut:
        with caused_by("command", "RepayLoan"):
            certificate = policy.repay_loan(
                number, benefit_id, loan_id, command.amount, command.repaid_on
            )
        return CertificateOut.of(certificate)

    @app.put("/parties/{party_id}/contact")
    def update_contact(party_id: UUID, command: ContactInformation) -> list[CertificateOut]:
        """The owner's contact update (the portal sends it for the signed-in owner)."""
        with caused_by("command", "UpdateContactInformation", actor=str(party_id)):
            certificates = policy.update_contact_information(party_id, command)
        return [CertificateOut.of(c) for c in certificates]

    @app.get("/certificates/{number}")
    def get(number: Number) -> CertificateDetail:
        return CertificateDetail.of(policy.get_certificate(number))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
