"""Personal fields of claims' events and snapshots, sealed at rest (`SealingMapper`).

- Claims (`Claim`): the member id, the payee and the patient's names, under the `claims` key
  (kept for the legal retention period when the person's data is erased) of whom they are
  about: the certificate owner (the member) for the member id and the payee, the patient for
  the names — the owner when the patient's relationship is "Owner", else the insured's own
  subject (`insured_subject`). A claim from before the owner's party id was recorded with it
  uses the certificate's ownerless subject.
- The registry of certificates (`CertificateOnFile`): the owner's and insureds' names, copied
  from policy's CertificateIssued, under the same `servicing` key as policy's own copy — a
  `claims` key exists only for people with claims (which is what decides the claims
  retention of an erasure).

Erased (the key shredded), every such field opens to "".
"""

from __future__ import annotations

from shared.contracts.policy import insured_at, insured_name_rules, owner_at
from shared.eventstore import PersonalFields
from shared.personal_data import CLAIMS, SERVICING
from shared.sealing import Rule


def _claim_rules(prefix: str, *, member: bool, patient: bool, paid_to: bool) -> tuple[Rule, ...]:
    """A claim's rules, in an event's state (`prefix` "") or a snapshot's ("state.")."""
    path = ("state",) if prefix else ()
    owner = owner_at(*path, "owner_party_id")
    rules: list[Rule] = []
    if member:
        rules.append(Rule(f"{prefix}member_id", owner, CLAIMS, ""))
    if paid_to:
        rules.append(Rule(f"{prefix}paid_to", owner, CLAIMS, ""))
    if patient:
        rules.extend(insured_name_rules(f"{prefix}patient", insured_at(*path), CLAIMS))
    return tuple(rules)


def _registry_rules(prefix: str) -> tuple[Rule, ...]:
    path = ("state",) if prefix else ()
    return (
        Rule(f"{prefix}owner_name", owner_at(*path, "owner_party_id"), SERVICING, ""),
        *insured_name_rules(f"{prefix}insureds[]", insured_at(*path)),
    )


PERSONAL_FIELDS: PersonalFields = {
    "Claim.Submitted": _claim_rules("", member=True, patient=True, paid_to=True),
    "Claim.StatusChanged": _claim_rules("", member=False, patient=False, paid_to=True),
    "Claim.Issued": _claim_rules("", member=False, patient=True, paid_to=True),
    "Claim.Denied": _claim_rules("", member=False, patient=True, paid_to=False),
    "Snapshot:Claim": _claim_rules("state.", member=True, patient=True, paid_to=True),
    "CertificateOnFile.Registered": _registry_rules(""),
    "Snapshot:CertificateOnFile": _registry_rules("state."),
}
