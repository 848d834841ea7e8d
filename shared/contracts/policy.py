"""Contracts published by the policy service on `policy.events`.

Personal data: a full date of birth travels only *sealed* (encrypted with the person's key,
see `shared/personal_data.py`) plus a keyed hash for matching; a government ID travels only
as a keyed hash plus its last 4 digits.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.types import CertificateNumber, Money, PaymentFrequency, PaymentMethod

TOPIC = "policy.events"

Sealed = Annotated[str, StringConstraints(pattern=r"^pii:v1:[0-9a-f-]{36}:[A-Za-z0-9+/=]+$")]
Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Last4 = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
NonforfeitureOption = Literal["Reduced Paid Up", "Extended Term"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Part):
    street: list[str] = Field(min_length=1, max_length=3)
    city: str
    state: str
    country: str = "US"
    zip_code: str


class Phones(_Part):
    cell: str | None = None
    home: str | None = None
    business: str | None = None
    fax: str | None = None


class ContactInformation(_Part):
    address: Address
    phones: Phones = Phones()
    preferred_contact_method: str | None = None
    emails: list[EmailStr] = Field(default_factory=list, max_length=5)


class OwnerParty(_Part):
    party_id: UUID
    name_type: str = "Person"
    first_name: str
    last_name: str
    gender: str | None = None
    relationship: str = "Owner"
    date_of_birth: Sealed
    date_of_birth_digest: Digest
    government_id_digest: Digest
    government_id_last4: Last4
    contact: ContactInformation


class Insured(_Part):
    insured_id: str
    first_name: str
    last_name: str
    relationship: str
    date_of_birth: Sealed
    # Public on purpose: the portal's claim-visibility rule (dependents under 18) needs it.
    birth_year_month: str = Field(pattern=r"^\d{4}-\d{2}$")


class Agent(_Part):
    name: str
    phone: str | None = None
    email: EmailStr | None = None


class Benefit(_Part):
    benefit_id: str
    product_name: str
    coverage_code: str
    status: str
    effective_date: date
    coverage_amount: Money | None
    net_benefit_value: Money | None
    insureds: list[Insured]


class _PolicyEvent(IntegrationEvent):
    producer: ClassVar[str] = "policy"


class CertificateIssued(_PolicyEvent):
    event_type: ClassVar[str] = "CertificateIssued"
    certificate_number: CertificateNumber
    owner_party_id: UUID
    product_code: str
    product_name: str
    status: str
    currency: str
    application_date: date
    effective_date: date
    premium: Money
    payment_frequency: PaymentFrequency
    payment_method: PaymentMethod
    payor_name: str
    primary_dividend_option: str | None = None
    net_cash_value: Money | None = None
    paid_up_additions_amount: Money | None = None
    paid_up_additions_expiration_date: date | None = None
    # Whole Life only: what a premium default turns the certificate into (None for other
    # products, and in payloads published before the field existed).
    nonforfeiture_option: NonforfeitureOption | None = None
    owner: OwnerParty
    benefits: list[Benefit] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list)


class CertificateStatusChanged(_PolicyEvent):
    event_type: ClassVar[str] = "CertificateStatusChanged"
    certificate_number: CertificateNumber
    previous_status: str
    status: str
    status_date: date


class ContactInformationUpdated(_PolicyEvent):
    event_type: ClassVar[str] = "ContactInformationUpdated"
    certificate_number: CertificateNumber
    owner_party_id: UUID
    contact: ContactInformation


class CashValueUpdated(_PolicyEvent):
    event_type: ClassVar[str] = "CashValueUpdated"
    certificate_number: CertificateNumber
    as_of: date
    net_cash_value: Money
    benefit_values: dict[str, Money] = Field(default_factory=dict)


class DividendCredited(_PolicyEvent):
    event_type: ClassVar[str] = "DividendCredited"
    certificate_number: CertificateNumber
    credited_on: date
    amount: Money
    paid_up_additions_amount: Money
    paid_up_additions_expiration_date: date | None


class LoanTaken(_PolicyEvent):
    event_type: ClassVar[str] = "LoanTaken"
    certificate_number: CertificateNumber
    benefit_id: str
    loan_id: str
    taken_on: date
    amount: Money
    interest_rate: Money
    balance: Money


class LoanRepaid(_PolicyEvent):
    event_type: ClassVar[str] = "LoanRepaid"
    certificate_number: CertificateNumber
    benefit_id: str
    loan_id: str
    repaid_on: date
    amount: Money
    balance: Money


EVENTS: tuple[type[IntegrationEvent], ...] = (
    CertificateIssued,
    CertificateStatusChanged,
    ContactInformationUpdated,
    CashValueUpdated,
    DividendCredited,
    LoanTaken,
    LoanRepaid,
)
