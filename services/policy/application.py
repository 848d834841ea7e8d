"""Policy commands: one method per command (the eventsourcing examples' style)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.policy.domain import (
    ISSUE_STATUSES,
    Certificate,
    CertificateStatus,
    IllegalTransition,
    certificate_id,
)
from services.policy.products import PRODUCT_NAMES, ProductCode
from shared.eventstore import ServiceApplication


class CertificateNotFound(LookupError):
    pass


class CertificateAlreadyIssued(ValueError):
    pass


class PolicyApplication(ServiceApplication):
    name = "policy"
    snapshotting_intervals = {Certificate: 100}  # noqa: RUF012

    def issue_certificate(
        self,
        *,
        certificate_number: str,
        owner_party_id: UUID,
        product_code: ProductCode,
        status: CertificateStatus,
        application_date: date,
        effective_date: date,
        premium: Decimal,
        payment_frequency: str,
        payment_method: str,
        payor_name: str,
        currency: str = "USD",
    ) -> Certificate:
        if status not in ISSUE_STATUSES:
            raise IllegalTransition(f"a certificate cannot be issued as {status}")
        if effective_date < application_date:
            raise ValueError("the effective date is before the application date")
        certificate = Certificate(
            certificate_number=certificate_number,
            owner_party_id=owner_party_id,
            product_code=product_code.value,
            product_name=PRODUCT_NAMES[product_code],
            status=status.value,
            currency=currency,
            application_date=application_date,
            effective_date=effective_date,
            premium=premium,
            payment_frequency=payment_frequency,
            payment_method=payment_method,
            payor_name=payor_name,
        )
        try:
            self.save(certificate)
        except IntegrityError as exc:
            raise CertificateAlreadyIssued(
                f"certificate {certificate_number} is already issued"
            ) from exc
        return certificate

    def change_status(
        self, certificate_number: str, status: CertificateStatus, status_date: date
    ) -> Certificate:
        certificate = self.get_certificate(certificate_number)
        certificate.change_status(status, status_date)
        self.save(certificate)
        return certificate

    def get_certificate(self, certificate_number: str) -> Certificate:
        try:
            return self.repository.get(certificate_id(certificate_number))
        except AggregateNotFoundError as exc:
            raise CertificateNotFound(f"certificate {certificate_number} not found") from exc
