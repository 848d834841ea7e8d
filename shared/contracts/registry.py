"""Lookup of contract models by `(event_type, schema_version)`."""

from __future__ import annotations

from shared.contracts import billing, claims, documents, identity, policy
from shared.contracts.envelope import IntegrationEvent

CONTRACTS: dict[tuple[str, int], type[IntegrationEvent]] = {
    (model.event_type, model.schema_version): model
    for module in (policy, billing, identity, documents, claims)
    for model in module.EVENTS
}


def contract_for(event_type: str, schema_version: int) -> type[IntegrationEvent] | None:
    return CONTRACTS.get((event_type, schema_version))
