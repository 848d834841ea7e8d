"""Verifying a requester who has no portal account: matching points against the records.

The privacy page asks for a name, a date of birth, an email, a cell number and an address;
each is compared, by keyed hash (`matching.py`), with what identity holds about every owner
(`owner_match_keys`): one point per kind that matches (the name — first and last together —
is one point). The person with the most points is the candidate; two people with as many
points is no verification at all (the request might concern either).

- 2 points or more: verified to a reasonable degree — the categories of personal information
  may be disclosed;
- 3 points or more: verified to a reasonably high degree — specific pieces may be disclosed,
  and a request to delete may be carried out.

The answer never tells which points matched, nor how many when the request is denied.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.identity.matching import Identifiers, digests
from services.identity.privacy.domain import CATEGORIES, NONE, SPECIFIC
from services.identity.privacy.throttle import value_key
from services.identity.registry import OwnerRegistry
from shared.personal_data import KeyedHash

CATEGORIES_POINTS = 2
SPECIFIC_POINTS = 3
DELETE_POINTS = 3
MIN_IDENTIFIERS = 2


@dataclass(frozen=True)
class Match:
    party_id: str | None  # None: nobody, or two people equally
    points: int

    @property
    def level(self) -> str:
        if self.party_id is None or self.points < CATEGORIES_POINTS:
            return NONE
        return SPECIFIC if self.points >= SPECIFIC_POINTS else CATEGORIES


def value_keys(keyed_hash: KeyedHash, identifiers: Identifiers) -> list[str]:
    """The throttle's keys of what was entered."""
    return [value_key(p, d) for p, d in digests(keyed_hash, identifiers.keys()).items()]


def best_match(
    registry: OwnerRegistry, keyed_hash: KeyedHash, identifiers: Identifiers
) -> tuple[Match, list[str]]:
    """The candidate and its points, and every person who matched at least one point."""
    entered = digests(keyed_hash, identifiers.keys())
    wanted = {digest: point for point, digest in entered.items()}
    found = registry.matching(wanted)
    scored = sorted(
        ((len(points & set(entered)), party) for party, points in found.items()),
        reverse=True,
    )
    touched = [party for points, party in scored if points]
    if not scored or scored[0][0] == 0:
        return Match(None, 0), touched
    top, party = scored[0]
    if len(scored) > 1 and scored[1][0] == top:
        return Match(None, top), touched
    return Match(party, top), touched
