"""Contracts published by the policy service on `policy.events`."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.types import CertificateNumber, Money, PaymentFrequency, PaymentMethod

TOPIC = "policy.events"


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


class CertificateStatusChanged(_PolicyEvent):
    event_type: ClassVar[str] = "CertificateStatusChanged"
    certificate_number: CertificateNumber
    previous_status: str
    status: str
    status_date: date


EVENTS: tuple[type[IntegrationEvent], ...] = (CertificateIssued, CertificateStatusChanged)
