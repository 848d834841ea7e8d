"""Contracts published by the billing service on `billing.events`."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.types import CertificateNumber, Money, PaymentFrequency, PaymentMethod

TOPIC = "billing.events"


class _BillingEvent(IntegrationEvent):
    producer: ClassVar[str] = "billing"


class BillingAccountOpened(_BillingEvent):
    event_type: ClassVar[str] = "BillingAccountOpened"
    certificate_number: CertificateNumber
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


EVENTS: tuple[type[IntegrationEvent], ...] = (
    BillingAccountOpened,
    PremiumBilled,
    PaymentReceived,
    PaymentApplied,
    PaymentReversed,
    PremiumDefaulted,
    StatementIssued,
)
