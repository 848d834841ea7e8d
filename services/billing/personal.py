"""Personal fields of billing's events and snapshots, sealed at rest (`SealingMapper`).

The payor's name, under the certificate owner's `servicing` key (kept while an in-force
certificate needs it when the owner's data is erased with an exemption). An account opened
before billing knew the owner's party id seals it under the certificate's ownerless subject
(`shared/contracts/policy.py`). Erased, the name opens to "".
"""

from __future__ import annotations

from shared.contracts.policy import owner_at
from shared.eventstore import PersonalFields
from shared.personal_data import SERVICING
from shared.sealing import Rule

PERSONAL_FIELDS: PersonalFields = {
    "BillingAccount.Opened": (Rule("payor_name", owner_at("owner_party_id"), SERVICING, ""),),
    "Snapshot:BillingAccount": (
        Rule("state.payor_name", owner_at("state", "owner_party_id"), SERVICING, ""),
    ),
}
