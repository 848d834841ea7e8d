"""Contracts never change incompatibly without a new `schema_version` and an upcaster.

Every registered contract's JSON schema is compared with the committed snapshot of its
`(event_type, schema_version)` under `tests/contracts/schemas/`. `UPDATE_CONTRACT_SNAPSHOTS=1`
rewrites the snapshots of compatible changes (and writes those of new contracts); it never
overwrites a breaking one.
"""

from __future__ import annotations

import json
import os
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.registry import CONTRACTS
from shared.contracts.types import Money
from shared.contracts.upcasting import upcast_path
from shared.contracts.wire import contract_wire_schema
from tests.contracts.compatibility import Change, breaking, compare_schemas

SNAPSHOTS = Path(__file__).parents[1] / "contracts" / "schemas"
UPDATE = os.environ.get("UPDATE_CONTRACT_SNAPSHOTS") == "1"
HOW_TO_BREAK = (
    "An incompatible change needs a NEW schema_version: keep this version's snapshot, give the "
    "changed class `schema_version = {next}` (it replaces v{version} in its module's EVENTS), "
    "register an upcaster v{version} → v{next} in the contract's module "
    "(`@upcaster({event_type!r}, from_version={version})`, shared/contracts/upcasting.py), add a "
    "test that a stored v{version} payload still loads, and write the v{next} snapshot with "
    "UPDATE_CONTRACT_SNAPSHOTS=1. Otherwise, make the change compatible (a new field optional "
    "with a default; never remove or retype a field, never remove an enum value)."
)


def contract_schema(model: type[BaseModel]) -> dict:
    """The schema as it travels: personal fields are sealed strings (`shared/contracts/wire.py`)."""
    return contract_wire_schema(model)


def snapshot_path(event_type: str, schema_version: int) -> Path:
    return SNAPSHOTS / f"{event_type}.v{schema_version}.json"


def write_snapshot(path: Path, schema: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


# --- every registered contract against its snapshot ----------------------------------------


@pytest.mark.parametrize(("event_type", "schema_version"), sorted(CONTRACTS), ids=lambda v: str(v))
def test_contract_matches_its_snapshot(event_type: str, schema_version: int) -> None:
    schema = contract_schema(CONTRACTS[(event_type, schema_version)])
    path = snapshot_path(event_type, schema_version)
    if not path.exists():
        if UPDATE:
            write_snapshot(path, schema)
            return
        pytest.fail(
            f"{event_type} v{schema_version} has no snapshot ({path}); a new contract's is "
            "written by running this test with UPDATE_CONTRACT_SNAPSHOTS=1 (commit it)"
        )
    changes = compare_schemas(json.loads(path.read_text()), schema)
    if broken := breaking(changes):
        pytest.fail(
            f"{event_type} v{schema_version} changed INCOMPATIBLY:\n"
            + "\n".join(f"  - {c}" for c in broken)
            + "\n"
            + HOW_TO_BREAK.format(
                event_type=event_type, version=schema_version, next=schema_version + 1
            )
        )
    if changes or json.loads(path.read_text()) != schema:
        if UPDATE:
            write_snapshot(path, schema)
            return
        pytest.fail(
            f"{event_type} v{schema_version} changed compatibly:\n"
            + ("\n".join(f"  - {c}" for c in changes) or "  - documentation only")
            + "\nRefresh the snapshot: UPDATE_CONTRACT_SNAPSHOTS=1 pytest "
            "tests/unit/test_contract_compatibility.py (and commit it)"
        )


def test_every_snapshot_still_loads_through_an_upcaster_chain() -> None:
    """An old version's snapshot stays; its event type must still be registered at that or
    a later version, reachable through upcasters."""
    latest: dict[str, int] = {}
    for event_type, version in CONTRACTS:
        latest[event_type] = max(version, latest.get(event_type, 0))
    problems = []
    for path in sorted(SNAPSHOTS.glob("*.v*.json")):
        event_type, version = path.stem.rsplit(".v", 1)
        if event_type not in latest:
            problems.append(f"{event_type} v{version}: no longer registered (removed contract)")
            continue
        if (event_type, int(version)) in CONTRACTS:
            continue
        if missing := upcast_path(event_type, int(version), latest[event_type]):
            problems.append(f"{event_type}: no upcaster from v{missing} (stored v{version})")
    assert not problems, "\n".join(problems)


# --- the comparison itself, on synthetic contracts ------------------------------------------


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Money
    note: str | None = None


class V1(IntegrationEvent):
    event_type = "Synthetic"
    certificate_number: str
    amount: Money
    on: date
    color: Color
    kind: Literal["a", "b"]
    lines: list[_Line] = Field(default_factory=list)
    comment: str | None = None


def _diff(new_model: type[BaseModel]) -> list[Change]:
    return compare_schemas(contract_schema(V1), contract_schema(new_model))


def _whats(changes: list[Change]) -> list[tuple[str, str, bool]]:
    return [(c.path, c.what, c.breaking) for c in changes]


def test_an_unchanged_contract_has_no_change() -> None:
    assert compare_schemas(contract_schema(V1), contract_schema(V1)) == []


def test_a_removed_field_breaks() -> None:
    class Removed(IntegrationEvent):
        certificate_number: str
        amount: Money
        on: date
        color: Color
        kind: Literal["a", "b"]
        lines: list[_Line] = Field(default_factory=list)

    assert _whats(_diff(Removed)) == [("$.comment", "field removed", True)]


def test_a_changed_type_breaks() -> None:
    class Retyped(V1):
        on: str  # type: ignore[assignment]
        amount: int  # type: ignore[assignment]

    assert _whats(_diff(Retyped)) == [
        ("$.amount", "type changed: no longer accepts number", True),
        ("$.amount", "type changed: no longer accepts string", True),
        ("$.amount", "type changed: now also accepts integer", True),
        ("$.on", "format changed from 'date' to None", True),
    ]


def test_a_new_required_field_breaks_and_a_new_optional_one_does_not() -> None:
    class Required(V1):
        currency: str

    class Optional_(V1):
        currency: str = "USD"

    assert _whats(_diff(Required)) == [("$.currency", "new required field", True)]
    assert _whats(_diff(Optional_)) == [("$.currency", "new optional field", False)]


def test_a_removed_enum_value_breaks_and_an_added_one_does_not() -> None:
    class Fewer(V1):
        kind: Literal["a"]  # type: ignore[assignment]

    class More(V1):
        kind: Literal["a", "b", "c"]  # type: ignore[assignment]

    assert breaking(_diff(Fewer))
    assert _whats(_diff(More)) == [("$.kind", "enum values added: ['c']", False)]


def test_changes_inside_nested_models_and_lists_are_found() -> None:
    class _Line2(BaseModel):
        model_config = ConfigDict(extra="forbid")
        amount: Money

    class Nested(V1):
        lines: list[_Line2] = Field(default_factory=list)  # type: ignore[assignment]

    assert _whats(_diff(Nested)) == [
        ("$.lines[]", "title changed", False),  # the nested model's name: harmless
        ("$.lines[].note", "field removed", True),
    ]


def test_making_a_field_optional_is_compatible_and_nullable_is_a_type_change() -> None:
    class Defaulted(V1):
        on: date = date(2024, 1, 1)

    class Nullable(V1):
        on: date | None  # type: ignore[assignment]

    assert _whats(_diff(Defaulted)) == [
        ("$.on", "required field made optional", False),
        ("$.on", "default changed", False),
    ]
    assert _whats(_diff(Nullable)) == [("$.on", "type changed: now also accepts null", True)]


def test_a_tightened_constraint_breaks() -> None:
    class Tighter(V1):
        certificate_number: str = Field(pattern=r"^\d{10}$")

    assert _whats(_diff(Tighter)) == [
        ("$.certificate_number", "pattern changed from None to '^\\\\d{10}$'", True)
    ]


def test_documentation_only_changes_are_compatible() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string", "title": "A"}}}
    new = {"type": "object", "properties": {"a": {"type": "string", "title": "The A"}}}
    assert _whats(compare_schemas(old, new)) == [("$.a", "title changed", False)]


def test_a_field_of_a_referenced_enum_losing_a_value_breaks() -> None:
    old = {
        "type": "object",
        "properties": {"c": {"$ref": "#/$defs/Color"}},
        "$defs": {"Color": {"enum": ["red", "blue"], "type": "string"}},
    }
    new = {**old, "$defs": {"Color": {"enum": ["red"], "type": "string"}}}
    assert _whats(compare_schemas(old, new)) == [("$.c", "enum values removed: ['blue']", True)]
