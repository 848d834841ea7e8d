"""Contracts published by the claims service on `claims.events` (critical illness and accident
claims). A patient is an insured of the certificate, named by its `insured_id` (the portal
knows the insureds from policy's events); no date of birth travels here."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.types import CertificateNumber, Money

TOPIC = "claims.events"

ClaimStatus = Literal[
    "Pending",
    "Review Complete",
    "Decision Rendered",
    "Paid Not Issued",
    "Issued",
    "Denied",
    "Not Covered",
]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Patient(_Part):
    insured_id: str
    first_name: str
    last_name: str
    relationship: Literal["Owner", "Spouse", "Child", "Other"]


class ClaimLine(_Part):
    line_id: str
    date_of_service: date
    type_of_service: str
    amount_claimed: Money
    excluded_amount: Money
    benefit_amount: Money
    reason: str | None = None


class ClaimTotals(_Part):
    """The Claim Summary grid; always the sums of the lines plus the adjustments."""

    amount_claimed: Money
    excluded_amount: Money
    deductible_applied: Money
    coinsurance_copay: Money
    other_carrier_paid: Money
    patient_responsibility: Money
    total_amount_paid: Money


class _ClaimsEvent(IntegrationEvent):
    producer: ClassVar[str] = "claims"


class ClaimSubmitted(_ClaimsEvent):
    event_type: ClassVar[str] = "ClaimSubmitted"
    certificate_number: CertificateNumber
    claim_id: UUID
    claim_number: str
    group_number: str
    account_number: str
    member_id: str
    patient: Patient
    provider: str
    service_date: date
    submitted_amount: Money
    currency: str = "USD"
    submitted_on: date


class ClaimLineAdjudicated(_ClaimsEvent):
    event_type: ClassVar[str] = "ClaimLineAdjudicated"
    certificate_number: CertificateNumber
    claim_number: str
    line: ClaimLine
    totals: ClaimTotals


class ClaimStatusChanged(_ClaimsEvent):
    event_type: ClassVar[str] = "ClaimStatusChanged"
    certificate_number: CertificateNumber
    claim_number: str
    previous_status: ClaimStatus | None
    status: ClaimStatus
    status_date: date
    totals: ClaimTotals
    paid_to: str | None = None


class ClaimIssued(_ClaimsEvent):
    """Payment issued: everything an EOB shows."""

    event_type: ClassVar[str] = "ClaimIssued"
    certificate_number: CertificateNumber
    claim_number: str
    issued_on: date
    patient: Patient
    provider: str
    service_date: date
    paid_to: str
    lines: list[ClaimLine] = Field(min_length=1)
    totals: ClaimTotals
    currency: str = "USD"


class ClaimDenied(_ClaimsEvent):
    """Denied or not covered: everything a denial letter shows."""

    event_type: ClassVar[str] = "ClaimDenied"
    certificate_number: CertificateNumber
    claim_number: str
    denied_on: date
    status: Literal["Denied", "Not Covered"]
    reason: str
    patient: Patient
    provider: str
    service_date: date
    submitted_amount: Money


EVENTS: tuple[type[IntegrationEvent], ...] = (
    ClaimSubmitted,
    ClaimLineAdjudicated,
    ClaimStatusChanged,
    ClaimIssued,
    ClaimDenied,
)
