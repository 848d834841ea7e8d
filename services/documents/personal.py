"""Which personal values the documents service's events hold, sealed at rest by rule
(`ServiceApplication.personal_fields`, see `shared/sealing.py`); the subject is always the
certificate's owner party.

| event                              | field                  | key class | erased |
|------------------------------------|------------------------|-----------|--------|
| CertificateOnFile.Registered       | first_name, last_name  | servicing | ""     |
|                                    | emails                 | personal  | []     |
|                                    | city, state            | servicing | ""     |
| CertificateOnFile.ContactUpdated   | emails                 | personal  | []     |
|                                    | city, state            | servicing | ""     |
| DeliveryPreferences.Created/Changed| preferences[].emails   | personal  | []     |

Nothing else the service records is personal: documents name their owner by party id, their
PDFs rest sealed in the content store (`content.py`), and notification outcomes count
addresses without naming them. A ContactUpdated stored before the owner's party id was
recorded with it is left as it is (it is never stored again).
"""

from __future__ import annotations

from shared.personal_data import PERSONAL, SERVICING
from shared.sealing import Rule, owner

_OWNER = owner("owner_party_id")

_CONTACT = (
    Rule("emails", _OWNER, PERSONAL, []),
    Rule("city", _OWNER, SERVICING, ""),
    Rule("state", _OWNER, SERVICING, ""),
)
_NAMES = (
    Rule("first_name", _OWNER, SERVICING, ""),
    Rule("last_name", _OWNER, SERVICING, ""),
)
_PREFERENCE_EMAILS = (Rule("preferences[].emails", _OWNER, PERSONAL, []),)

PERSONAL_FIELDS: dict[str, tuple[Rule, ...]] = {
    "CertificateOnFile.Registered": _NAMES + _CONTACT,
    "CertificateOnFile.ContactUpdated": _CONTACT,
    "DeliveryPreferences.Created": _PREFERENCE_EMAILS,
    "DeliveryPreferences.Changed": _PREFERENCE_EMAILS,
}
