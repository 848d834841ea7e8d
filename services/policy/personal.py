"""Personal fields of policy's events and snapshots, sealed at rest (`SealingMapper`).

Key classes (`shared/personal_data.py`): the owner's names, gender, date of birth, government
ID and postal address, the payor's name and the insureds' names and dates of birth under the
`servicing` key (what an in-force certificate needs, kept when an erasure is exempted); phones,
emails and the preferred contact method under the `personal` key. Whose key: the owner's
party id, for an insured whose relationship is "Owner" too; any other insured's own subject
(`insured_subject`).

Erased (the key shredded), the fields open to what keeps a certificate loadable and its
contracts valid (`shared/contracts/policy.py`): "" for names and the government ID, None for
dates of birth and gender, `ERASED_ADDRESS`, no phones, no emails.
"""

from __future__ import annotations

from shared.contracts.policy import (
    contact_rules,
    insured_at,
    insured_name_rules,
    owner_at,
    owner_rules,
)
from shared.eventstore import PersonalFields
from shared.personal_data import SERVICING
from shared.sealing import Rule, Subject


def _certificate_rules(prefix: str, benefits: str, insured: Subject) -> tuple[Rule, ...]:
    """A certificate's personal fields: the Issued event's (`prefix` "") or its snapshot's
    (`prefix` "state.", benefits keyed by id there: `benefits` "benefits{}")."""
    owner = owner_at(*f"{prefix}owner.party_id".split("."))
    insureds = f"{prefix}{benefits}.insureds[]"
    return (
        *owner_rules(f"{prefix}owner", owner),
        Rule(f"{prefix}owner.date_of_birth", owner, SERVICING, None),
        Rule(f"{prefix}owner.government_id", owner, SERVICING, ""),
        Rule(f"{prefix}payor_name", owner, SERVICING, ""),
        *insured_name_rules(insureds, insured),
        Rule(f"{insureds}.date_of_birth", insured, SERVICING, None),
    )


PERSONAL_FIELDS: PersonalFields = {
    "Certificate.Issued": _certificate_rules("", "benefits[]", insured_at()),
    "Certificate.ContactInformationUpdated": contact_rules("contact", owner_at("owner_party_id")),
    "Snapshot:Certificate": _certificate_rules("state.", "benefits{}", insured_at("state")),
}
