"""Domain events → public contracts (`shared/contracts/billing.py`).

Mapped: Opened → BillingAccountOpened, PaymentReceived, PaymentApplied, PremiumsBilled →
PremiumBilled, PaymentReversed, PremiumDefaulted, StatementIssued. StatusChanged (billing's
mirror of policy's certificate status) stays private.
"""

from __future__ import annotations

from typing import Any

from services.billing.domain import BillingAccount
from shared.contracts import billing as contracts
from shared.contracts.envelope import IntegrationEvent


def _fields(model: type[IntegrationEvent], domain_event: Any) -> dict[str, Any]:
    return {name: getattr(domain_event, name) for name in model.model_fields}


def to_integration(domain_event: Any) -> IntegrationEvent | None:
    if isinstance(domain_event, BillingAccount.Opened):
        fields = _fields(contracts.BillingAccountOpened, _OpenedView(domain_event))
        return contracts.BillingAccountOpened(**fields)
    if isinstance(domain_event, BillingAccount.StatementIssued):
        return contracts.StatementIssued(
            certificate_number=domain_event.certificate_number, **domain_event.statement
        )
    mapping: dict[type, type[IntegrationEvent]] = {
        BillingAccount.PaymentReceived: contracts.PaymentReceived,
        BillingAccount.PaymentApplied: contracts.PaymentApplied,
        BillingAccount.PremiumsBilled: contracts.PremiumBilled,
        BillingAccount.PaymentReversed: contracts.PaymentReversed,
        BillingAccount.PremiumDefaulted: contracts.PremiumDefaulted,
    }
    model = mapping.get(type(domain_event))
    return model(**_fields(model, domain_event)) if model else None


class _OpenedView:
    """An Opened event seen with its derived dates (nothing is paid or billed yet)."""

    def __init__(self, domain_event: Any) -> None:
        self._event = domain_event

    def __getattr__(self, name: str) -> Any:
        if name in ("paid_to_date", "billed_to_date"):
            return self._event.effective_date
        return getattr(self._event, name)
