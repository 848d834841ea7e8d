"""Contracts published by the billing service on `billing.events`.

Personal data: the payor's name (BillingAccountOpened v2) travels sealed with the certificate
owner's `servicing` key (`owner_party_id`; the certificate's ownerless subject for an account
opened before billing knew the owner); erased, it opens to "".
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.policy import owner_at
from shared.contracts.types import CertificateNumber, Money, PaymentFrequency, PaymentMethod
from shared.contracts.upcasting import upcaster
from shared.personal_data import SERVICING
from shared.sealing import Rule

TOPIC = "billing.events"


class _BillingEvent(IntegrationEvent):
    producer: ClassVar[str] = "billing"


class BillingAccountOpened(_BillingEvent):
    """v2: the payor's name travels sealed; the owner's party id names whose key seals it."""

    event_type: ClassVar[str] = "BillingAccountOpened"
    schema_version: ClassVar[int] = 2
    personal: ClassVar[tuple[Rule, ...]] = (
        Rule("payor_name", owner_at("owner_party_id"), SERVICING, ""),
    )
    certificate_number: CertificateNumber
    owner_party_id: UUID | None = None
    payor_name: str
    payment_frequency: PaymentFrequency
    payment_method: PaymentMethod
    premium: Money
    effective_date: date
    paid_to_date: date
    billed_to_date: date


class PremiumBilled(_BillingEvent):
    event_type: ClassVar[str] = "PremiumBilled"
    certificate_number: CertificateNumber
    periods: int = Field(ge=1)
    amount: Money
    first_due_date: date
    billed_to_date: date


class PaymentReceived(_BillingEvent):
    event_type: ClassVar[str] = "PaymentReceived"
    certificate_number: CertificateNumber
    payment_id: str
    transaction_date: date
    apply_date: date
    amount: Money
    payment_method: PaymentMethod
    payment_frequency: PaymentFrequency
    suspense_balance: Money


class PaymentApplied(_BillingEvent):
    """Whole premiums covered by suspense: paid-to advances by `periods`."""

    event_type: ClassVar[str] = "PaymentApplied"
    certificate_number: CertificateNumber
    payment_id: str
    apply_date: date
    periods: int = Field(ge=1)
    amount: Money
    paid_to_date: date
    suspense_balance: Money


class PaymentReversed(_BillingEvent):
    """A returned item / NSF: the payment is taken back and paid-to rolls back."""

    event_type: ClassVar[str] = "PaymentReversed"
    certificate_number: CertificateNumber
    payment_id: str
    reversed_on: date
    reason: str
    amount: Money
    periods_reversed: int = Field(ge=0)
    paid_to_date: date
    suspense_balance: Money


class PremiumDefaulted(_BillingEvent):
    """A premium still unpaid when its 31-day grace period ended."""

    event_type: ClassVar[str] = "PremiumDefaulted"
    certificate_number: CertificateNumber
    due_date: date
    grace_ended_on: date
    defaulted_on: date
    paid_to_date: date
    amount_due: Money


class StatementLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    transaction_date: date
    apply_date: date
    description: str
    amount: Money


class StatementIssued(_BillingEvent):
    """A billing statement (the most recent bill) or an annual statement, for the owner."""

    event_type: ClassVar[str] = "StatementIssued"
    certificate_number: CertificateNumber
    statement_id: str
    statement_type: Literal["billing", "annual"]
    period_start: date
    period_end: date
    issued_on: date
    premium: Money
    payment_frequency: PaymentFrequency
    amount_due: Money
    due_date: date | None
    paid_to_date: date
    billed_to_date: date
    total_paid: Money
    lines: list[StatementLine] = Field(default_factory=list, max_length=400)


@upcaster("BillingAccountOpened", from_version=1)
def _billing_account_opened_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 carried the payor's name in clear and no owner party id (it defaults to None)."""
    return dict(data)


EVENTS: tuple[type[IntegrationEvent], ...] = (
    BillingAccountOpened,
    PremiumBilled,
    PaymentReceived,
    PaymentApplied,
    PaymentReversed,
    PremiumDefaulted,
    StatementIssued,
)
