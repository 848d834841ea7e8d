"""Domain events → public contracts (`shared/contracts/policy.py`)."""

from __future__ import annotations

from typing import Any

from services.policy.domain import Certificate
from shared.contracts import policy as contracts
from shared.contracts.envelope import IntegrationEvent


def to_integration(domain_event: Any) -> IntegrationEvent | None:
    if isinstance(domain_event, Certificate.Issued):
        fields = {k: getattr(domain_event, k) for k in contracts.CertificateIssued.model_fields}
        return contracts.CertificateIssued(**fields)
    if isinstance(domain_event, Certificate.StatusChanged):
        return contracts.CertificateStatusChanged(
            certificate_number=domain_event.certificate_number,
            previous_status=domain_event.previous_status,
            status=domain_event.status,
            status_date=domain_event.status_date,
        )
    return None
