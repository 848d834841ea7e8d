"""Contracts published by the billing service on `billing.events`."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import Field

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


EVENTS: tuple[type[IntegrationEvent], ...] = (
    BillingAccountOpened,
    PremiumBilled,
    PaymentReceived,
    PaymentApplied,
)
