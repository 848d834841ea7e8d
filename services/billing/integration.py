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


def to_integration(domain_event: Any) -> IntegrationEvent | None:
    if isinstance(domain_event, BillingAccount.Opened):
        # A new account is paid and billed to its effective date: nothing is due yet.
        opened_on = domain_event.effective_date
        return contracts.BillingAccountOpened.from_domain(
            domain_event, paid_to_date=opened_on, billed_to_date=opened_on
        )
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
    return model.from_domain(domain_event) if model else None
