"""Keyed hashes of what identifies a person, for matching without keeping the values.

Identity matches a person against its records in three places: registration step 1, Forgot
User ID and the privacy office's verification of a non-account holder (name, date of birth,
email, cell number, postal address: one point each). The owners registry therefore keeps, for
each owner, HMAC-SHA256 digests (`shared.personal_data.KeyedHash`) of those values, normalised
first so that the same value typed differently still matches:

- name: first and last name, case-folded, accents and punctuation kept, spaces collapsed
  (`"avery  demo"`); the name is one point only when both match;
- date of birth: ISO `yyyy-mm-dd` (the digest policy publishes, kind `date_of_birth`);
- email: trimmed, lower-cased;
- cell number: its digits, the last 10 (a leading `+1` or `1` is dropped);
- postal address: the 5-digit ZIP code and the first street line, lower-cased, punctuation
  removed, spaces collapsed and the usual USPS abbreviations applied (`Street` → `st`,
  `North` → `n`): `"62701|1 harbor way"`.

A digest is only as secret as the keyed-hash secret; values with little entropy (a date of
birth, a name) could be guessed by whoever holds the secret, so the digests of an erased
person are deleted with the rest of identity's copies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.personal_data import KeyedHash

NAME, DATE_OF_BIRTH, EMAIL, CELL, ADDRESS = "name", "date_of_birth", "email", "cell", "address"
POINTS = (NAME, DATE_OF_BIRTH, EMAIL, CELL, ADDRESS)

_ABBREVIATIONS = {
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "drive": "dr",
    "lane": "ln",
    "boulevard": "blvd",
    "court": "ct",
    "place": "pl",
    "terrace": "ter",
    "parkway": "pkwy",
    "highway": "hwy",
    "circle": "cir",
    "square": "sq",
    "apartment": "apt",
    "suite": "ste",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def _collapse(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def name_key(first_name: str, last_name: str) -> str | None:
    first, last = _collapse(first_name or ""), _collapse(last_name or "")
    return f"{first} {last}" if first and last else None


def email_key(email: str | None) -> str | None:
    value = (email or "").strip().lower()
    return value if "@" in value else None


def cell_key(number: str | None) -> str | None:
    digits = "".join(ch for ch in (number or "") if ch.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits[-10:] if len(digits) >= 7 else None


def street_key(street: str) -> str:
    words = re.sub(r"[^\w\s]", " ", _collapse(street)).split()
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)


def address_key(street: str | None, zip_code: str | None) -> str | None:
    digits = "".join(ch for ch in (zip_code or "") if ch.isdigit())[:5]
    line = street_key(street or "")
    return f"{digits}|{line}" if len(digits) == 5 and line else None


def date_of_birth_key(iso_date: str | None) -> str | None:
    value = (iso_date or "").strip()
    return value or None


@dataclass(frozen=True)
class Identifiers:
    """What a person entered (or what a record holds), each value optional."""

    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None  # ISO yyyy-mm-dd
    email: str | None = None
    cell: str | None = None
    street: str | None = None
    zip_code: str | None = None

    def keys(self) -> dict[str, str]:
        """point → normalised value, for the points these identifiers can be matched on."""
        keys = {
            NAME: name_key(self.first_name or "", self.last_name or ""),
            DATE_OF_BIRTH: date_of_birth_key(self.date_of_birth),
            EMAIL: email_key(self.email),
            CELL: cell_key(self.cell),
            ADDRESS: address_key(self.street, self.zip_code),
        }
        return {point: value for point, value in keys.items() if value}


def digest(keyed_hash: KeyedHash, point: str, value: str) -> str:
    """The digest of one normalised value (the date of birth: policy's digest)."""
    return keyed_hash.digest(point, value)


def digests(keyed_hash: KeyedHash, keys: Mapping[str, str]) -> dict[str, str]:
    return {point: digest(keyed_hash, point, value) for point, value in keys.items()}


def email_digests(keyed_hash: KeyedHash, emails: Iterable[str]) -> list[str]:
    found = (email_key(e) for e in emails)
    return sorted({digest(keyed_hash, EMAIL, e) for e in found if e})
