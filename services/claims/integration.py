"""Domain events → public contracts (`shared/contracts/claims.py`).

Mapped: Submitted → ClaimSubmitted, LineAdjudicated → ClaimLineAdjudicated, StatusChanged →
ClaimStatusChanged (also the first Pending), Issued → ClaimIssued (the EOB), Denied →
ClaimDenied (the denial letter). The registry of certificates stays private.
"""

from __future__ import annotations

from typing import Any

from services.claims.domain import Claim
from shared.contracts import claims as contracts
from shared.contracts.envelope import IntegrationEvent


def _fields(model: type[IntegrationEvent], domain_event: Any, **extra: Any) -> dict[str, Any]:
    fields = {name: getattr(domain_event, name) for name in model.model_fields if name not in extra}
    return {**fields, **extra}


def to_integration(domain_event: Any) -> IntegrationEvent | None:
    if isinstance(domain_event, Claim.Submitted):
        return contracts.ClaimSubmitted(
            **_fields(contracts.ClaimSubmitted, domain_event, claim_id=domain_event.originator_id)
        )
    mapping: dict[type, type[IntegrationEvent]] = {
        Claim.LineAdjudicated: contracts.ClaimLineAdjudicated,
        Claim.StatusChanged: contracts.ClaimStatusChanged,
        Claim.Issued: contracts.ClaimIssued,
        Claim.Denied: contracts.ClaimDenied,
    }
    model = mapping.get(type(domain_event))
    return model(**_fields(model, domain_event)) if model else None
