"""Upcasting: stored payloads of an old `schema_version` still load as the current contract.

A contract that changes incompatibly gets a new `schema_version` (the new class replaces the
old one in its module's `EVENTS`) and an upcaster from the previous version, registered next
to it in the producer's contract module:

    @upcaster("PaymentApplied", from_version=1)
    def _payment_applied_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "currency": "USD"}

`parse_event` applies the chain v1 → v2 → … until it reaches a registered version, so every
consumer (and every replay) sees only current contracts, whatever the broker or the event
store still holds. Upcasters are pure functions of the payload (`data`), never of the clock
or of other events; they must not mutate their argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# (event_type, from_version) → the function that turns that version's data into the next one.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UpcastingError(ValueError):
    """An upcaster failed on a stored payload (the message goes to the DLQ with this)."""


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register the function that upcasts `event_type` data from `from_version` to the next."""

    def register(function: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in UPCASTERS and UPCASTERS[key] is not function:
            raise ValueError(f"two upcasters for {event_type} v{from_version}")
        UPCASTERS[key] = function
        return function

    return register


def upcast(
    event_type: str,
    schema_version: int,
    data: dict[str, Any],
    upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
) -> tuple[int, dict[str, Any]]:
    """The newest version reachable from `schema_version` and the data upcast to it.

    Without an upcaster for `(event_type, schema_version)` the data is returned unchanged.
    """
    chain = UPCASTERS if upcasters is None else upcasters
    version = schema_version
    while (event_type, version) in chain:
        try:
            data = chain[(event_type, version)](dict(data))
        except Exception as exc:
            raise UpcastingError(
                f"upcasting {event_type} v{version} → v{version + 1} failed: {exc}"
            ) from exc
        version += 1
    return version, data


def upcast_path(
    event_type: str,
    from_version: int,
    to_version: int,
    upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
) -> list[int]:
    """The versions without an upcaster on the way from `from_version` to `to_version`."""
    chain = UPCASTERS if upcasters is None else upcasters
    return [v for v in range(from_version, to_version) if (event_type, v) not in chain]
