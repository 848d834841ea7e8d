"""Contracts published by the claims service on `claims.events` (critical illness and accident
claims). A patient is an insured of the certificate, named by its `insured_id` (the portal
knows the insureds from policy's events); no date of birth travels here.

Personal data (v2 of ClaimSubmitted, ClaimStatusChanged, ClaimIssued and ClaimDenied) travels
sealed with the `claims` key of whom it is about: the member id and the payee (`paid_to`) with
the certificate owner's (`owner_party_id`), the patient's names with the owner's when the
relationship is "Owner", else with the insured's own subject (`policy.insured_subject`). A
claim from before the owner's party id travelled uses the certificate's ownerless subject.
Erased (the key shredded), each opens to "".
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.policy import insured_at, insured_name_rules, owner_at
from shared.contracts.types import CertificateNumber, Money
from shared.contracts.upcasting import upcaster
from shared.personal_data import CLAIMS
from shared.sealing import Rule

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


_OWNER = owner_at("owner_party_id")
_MEMBER_ID = Rule("member_id", _OWNER, CLAIMS, "")
_PAID_TO = Rule("paid_to", _OWNER, CLAIMS, "")
_PATIENT = insured_name_rules("patient", insured_at(), CLAIMS)


class ClaimSubmitted(_ClaimsEvent):
    """v2: the member id and the patient's names travel sealed."""

    event_type: ClassVar[str] = "ClaimSubmitted"
    schema_version: ClassVar[int] = 2
    personal: ClassVar[tuple[Rule, ...]] = (_MEMBER_ID, *_PATIENT)
    certificate_number: CertificateNumber
    owner_party_id: UUID | None = None
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
    """v2: the payee travels sealed."""

    event_type: ClassVar[str] = "ClaimStatusChanged"
    schema_version: ClassVar[int] = 2
    personal: ClassVar[tuple[Rule, ...]] = (_PAID_TO,)
    certificate_number: CertificateNumber
    owner_party_id: UUID | None = None
    claim_number: str
    previous_status: ClaimStatus | None
    status: ClaimStatus
    status_date: date
    totals: ClaimTotals
    paid_to: str | None = None


class ClaimIssued(_ClaimsEvent):
    """Payment issued: everything an EOB shows. v2: the patient's names and the payee travel
    sealed."""

    event_type: ClassVar[str] = "ClaimIssued"
    schema_version: ClassVar[int] = 2
    personal: ClassVar[tuple[Rule, ...]] = (*_PATIENT, _PAID_TO)
    certificate_number: CertificateNumber
    owner_party_id: UUID | None = None
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
    """Denied or not covered: everything a denial letter shows. v2: the patient's names
    travel sealed."""

    event_type: ClassVar[str] = "ClaimDenied"
    schema_version: ClassVar[int] = 2
    personal: ClassVar[tuple[Rule, ...]] = _PATIENT
    certificate_number: CertificateNumber
    owner_party_id: UUID | None = None
    claim_number: str
    denied_on: date
    status: Literal["Denied", "Not Covered"]
    reason: str
    patient: Patient
    provider: str
    service_date: date
    submitted_amount: Money


@upcaster("ClaimSubmitted", from_version=1)
@upcaster("ClaimStatusChanged", from_version=1)
@upcaster("ClaimIssued", from_version=1)
@upcaster("ClaimDenied", from_version=1)
def _clear_personal_fields_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 carried the same fields in clear and no owner party id (it defaults to None)."""
    return dict(data)


EVENTS: tuple[type[IntegrationEvent], ...] = (
    ClaimSubmitted,
    ClaimLineAdjudicated,
    ClaimStatusChanged,
    ClaimIssued,
    ClaimDenied,
)
