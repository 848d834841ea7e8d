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


def to_integration(domain_event: Any) -> IntegrationEvent | None:
    if isinstance(domain_event, Claim.Submitted):
        return contracts.ClaimSubmitted.from_domain(
            domain_event, claim_id=domain_event.originator_id
        )
    mapping: dict[type, type[IntegrationEvent]] = {
        Claim.LineAdjudicated: contracts.ClaimLineAdjudicated,
        Claim.StatusChanged: contracts.ClaimStatusChanged,
        Claim.Issued: contracts.ClaimIssued,
        Claim.Denied: contracts.ClaimDenied,
    }
    model = mapping.get(type(domain_event))
    return model.from_domain(domain_event) if model else None
