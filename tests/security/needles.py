"""The personal values the leak scan looks for, and how they may be spelled.

Values come from the demo data (`services.portal.demo*`) and from what the flows type
(`flows.py`). A value is looked for in every spelling that could end up in a log line, a
payload or a dump: as typed, URL-encoded (form bodies, query strings), JSON-escaped, and — for
SSNs and dates — the other usual formats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, quote_plus

from services.portal.demo import DEMO_GOVERNMENT_IDS, DEMO_OWNERS, DEMO_PASSWORD
from services.portal.demo_newcomer import NEWCOMER


@dataclass(frozen=True)
class Needle:
    label: str  # what it is, for the report ("SSN of demo", ...): never the value itself
    value: str
    # Places (prefixes of a scanned text's `where`) the value legitimately is, e.g. the mail
    # that delivers a one-time code.
    allowed_in: tuple[str, ...] = ()


def spellings(value: str) -> set[str]:
    """The value and its encoded forms, lower-cased (matching is case-insensitive)."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    return {f.lower() for f in forms if f}


def ssn_needles(label: str, ssn: str) -> list[Needle]:
    digits = ssn.replace("-", "")
    return [
        Needle(f"SSN of {label}", ssn),
        Needle(f"SSN of {label} (digits)", digits),
        Needle(f"SSN of {label} (spaced)", f"{digits[:3]} {digits[3:5]} {digits[5:]}"),
    ]


def dob_needles(label: str, born: date) -> list[Needle]:
    return [
        Needle(f"DOB of {label} (ISO)", born.isoformat()),
        Needle(f"DOB of {label} (mm/dd/yyyy)", born.strftime("%m/%d/%Y")),
        Needle(f"DOB of {label} (dd/mm/yyyy)", born.strftime("%d/%m/%Y")),
        Needle(f"DOB of {label} (yyyymmdd)", born.strftime("%Y%m%d")),
    ]


def _newcomer_dob() -> date:
    month, day, year = (int(p) for p in NEWCOMER["date_of_birth"].split("/"))
    return date(year, month, day)


# Insureds of the demo certificates who are not owners (demo.py): their dates of birth.
DEPENDENT_BIRTHS = {
    "Sky (spouse of demo2)": date(1981, 6, 2),
    "Jamie (child of demo2)": date(2012, 9, 14),
}


def seeded_needles() -> list[Needle]:
    """SSNs and full dates of birth of every demo person, and the demo password."""
    needles: list[Needle] = []
    for user, ssn in DEMO_GOVERNMENT_IDS.items():
        needles += ssn_needles(user, ssn)
    needles += ssn_needles("newcomer", NEWCOMER["government_id"])
    for user, (*_, born) in DEMO_OWNERS.items():
        needles += dob_needles(user, born)
    needles += dob_needles("newcomer", _newcomer_dob())
    for who, born in DEPENDENT_BIRTHS.items():
        needles += dob_needles(who, born)
    needles.append(Needle("the demo password", DEMO_PASSWORD))
    return needles


def name_needles() -> list[Needle]:
    """Names and emails of the demo people (sealed by the issue-9 work in progress)."""
    needles = [
        Needle(f"email of {user}", email) for user, (_, _, _, email, _) in DEMO_OWNERS.items()
    ]
    needles.append(Needle("email of newcomer", NEWCOMER["email"]))
    # Full names only: a first name alone ("Robin", "Sky") is too common a word to scan for.
    for user, (_, first, last, _, _) in DEMO_OWNERS.items():
        needles.append(Needle(f"name of {user}", f"{first} {last}"))
    needles.append(Needle("name of newcomer", f"{NEWCOMER['first_name']} {NEWCOMER['last_name']}"))
    needles += [Needle("name of Sky (spouse of demo2)", "Sky Demo")]
    needles += [Needle("name of Jamie (child of demo2)", "Jamie Demo")]
    return needles
