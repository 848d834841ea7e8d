"""Public integration-event contracts: what services publish on Kafka and downstream reads.

One module per producing service. Services import each other's contracts, never each other's
domain code. Every contract is registered by `(event_type, schema_version)`.
"""

from shared.contracts import billing, claims, documents, identity, policy
from shared.contracts.envelope import Envelope, IntegrationEvent, parse_event
from shared.contracts.registry import CONTRACTS, contract_for

__all__ = [
    "CONTRACTS",
    "Envelope",
    "IntegrationEvent",
    "billing",
    "claims",
    "contract_for",
    "documents",
    "identity",
    "parse_event",
    "policy",
]
