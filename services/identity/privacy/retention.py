"""What a request to delete keeps, for how long, and how the outcome is worded.

Key classes (`shared.personal_data`): `personal` is always shredded. `servicing` (names,
address, date of birth, government ID: what an in-force certificate needs) is kept while the
person owns a certificate in force, until the erasure date + `SERVICING_REVIEW_DAYS`; the
sweep then checks again and extends while still in force. `claims` is kept when the person
has a claims key, until the erasure date + `CLAIMS_RETENTION_DAYS` (7 years by default; the
environment variable of that name changes it).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from shared.personal_data import CLAIMS, KEY_CLASSES, SERVICING, KeyState, Retention

SERVICING_REVIEW_DAYS = 365
SERVICING_REASON = "Needed to service a certificate in force (reviewed every year)"
CLAIMS_REASON = "Claims records kept for the legal retention period"


def claims_retention_days() -> int:
    return int(os.environ.get("CLAIMS_RETENTION_DAYS", "2557"))


def decide(in_force: list[str], keys: list[KeyState], now: datetime) -> list[Retention]:
    """The retentions of a request to delete: by the certificates in force and the keys."""
    retained = []
    if in_force:
        until = now + timedelta(days=SERVICING_REVIEW_DAYS)
        retained.append(Retention(SERVICING, until, SERVICING_REASON))
    if any(k.key_class == CLAIMS and not k.shredded for k in keys):
        until = now + timedelta(days=claims_retention_days())
        retained.append(Retention(CLAIMS, until, CLAIMS_REASON))
    return retained


def erased_classes(retained: list[Retention]) -> list[str]:
    kept = {r.key_class for r in retained}
    return [k for k in KEY_CLASSES if k not in kept]


def as_dicts(retained: list[Retention]) -> list[dict[str, Any]]:
    return [{"key_class": r.key_class, "until": r.until, "reason": r.reason} for r in retained]


def as_retentions(retained: list[dict[str, Any]]) -> list[Retention]:
    return [Retention(r["key_class"], r["until"], r["reason"]) for r in retained]


def deletion_outcome(retained: list[dict[str, Any]]) -> str:
    """What the person is told (no personal data): what was kept, until when."""
    text = "Your personal information has been deleted."
    kept = []
    for r in retained:
        until = r["until"].date().isoformat()
        if r["key_class"] == SERVICING:
            kept.append(
                "what is needed to service your certificate in force (name, address, date of "
                f"birth, government ID) until {until}, reviewed then"
            )
        elif r["key_class"] == CLAIMS:
            kept.append(f"your claims records, for the legal retention period, until {until}")
    if kept:
        text += " Kept as the law allows: " + "; ".join(kept) + "."
    return text
