"""Compare two JSON schemas of one contract version: what changed, and does it break readers.

The point of view is a reader of *stored* payloads and a downstream consumer: a payload valid
under the old schema must still be valid under the new one, and must mean the same. So these
are breaking (they need a new `schema_version` and an upcaster): a field removed, a field's
type changed (narrowed or widened), a new required field (or an optional one made required),
an enum value removed, a constraint changed (pattern, bounds, lengths, format, const).
These are compatible (the snapshot is refreshed, the version stays): a new optional field, a
field made optional, an enum value added, documentation (title, description, examples) or a
default changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]

CONSTRAINTS = (
    "format",
    "pattern",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "multipleOf",
)
DOCUMENTATION = ("title", "description", "default", "examples")
MAX_DEPTH = 40


@dataclass(frozen=True)
class Change:
    path: str
    what: str
    breaking: bool

    def __str__(self) -> str:
        return f"{'BREAKING' if self.breaking else 'compatible'}: {self.path}: {self.what}"


def compare_schemas(old: Schema, new: Schema) -> list[Change]:
    """Every difference between `old` and `new`, each marked breaking or compatible."""
    changes: list[Change] = []
    _Walk(old.get("$defs", {}), new.get("$defs", {}), changes).node(old, new, "$", 0)
    return changes


def breaking(changes: list[Change]) -> list[Change]:
    return [change for change in changes if change.breaking]


class _Walk:
    def __init__(self, old_defs: Schema, new_defs: Schema, changes: list[Change]) -> None:
        self.old_defs, self.new_defs, self.changes = old_defs, new_defs, changes

    def add(self, path: str, what: str, is_breaking: bool) -> None:
        self.changes.append(Change(path, what, is_breaking))

    def node(self, old: Schema, new: Schema, path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        old, new = _resolve(old, self.old_defs), _resolve(new, self.new_defs)
        for key in DOCUMENTATION:
            if old.get(key) != new.get(key) and not (key == "title" and depth == 0):
                self.add(path, f"{key} changed", False)
        old_variants, new_variants = _variants(old), _variants(new)
        if len(old_variants) > 1 or len(new_variants) > 1:
            self.variants(old_variants, new_variants, path, depth)
            return
        old, new = (
            _resolve(old_variants[0], self.old_defs),
            _resolve(new_variants[0], self.new_defs),
        )
        if _kind(old) != _kind(new):
            self.add(path, f"type changed from {_kind(old)} to {_kind(new)}", True)
            return
        self.enum(old, new, path)
        for key in CONSTRAINTS:
            if old.get(key) != new.get(key):
                self.add(path, f"{key} changed from {old.get(key)!r} to {new.get(key)!r}", True)
        if "properties" in old or "properties" in new:
            self.properties(old, new, path, depth)
        for key, suffix in (("items", "[]"), ("additionalProperties", "{*}")):
            old_sub, new_sub = old.get(key), new.get(key)
            if isinstance(old_sub, dict) and isinstance(new_sub, dict):
                self.node(old_sub, new_sub, path + suffix, depth + 1)
            elif old_sub != new_sub:
                self.add(path, f"{key} changed from {old_sub!r} to {new_sub!r}", True)

    def variants(self, old: list[Schema], new: list[Schema], path: str, depth: int) -> None:
        old_by_kind = {_kind(_resolve(v, self.old_defs), titled=True): v for v in old}
        new_by_kind = {_kind(_resolve(v, self.new_defs), titled=True): v for v in new}
        for kind in sorted(old_by_kind.keys() - new_by_kind.keys()):
            self.add(path, f"type changed: no longer accepts {kind}", True)
        for kind in sorted(new_by_kind.keys() - old_by_kind.keys()):
            self.add(path, f"type changed: now also accepts {kind}", True)
        for kind in sorted(old_by_kind.keys() & new_by_kind.keys()):
            self.node(old_by_kind[kind], new_by_kind[kind], path, depth + 1)

    def enum(self, old: Schema, new: Schema, path: str) -> None:
        if "enum" not in old and "enum" not in new:
            return
        old_values, new_values = old.get("enum"), new.get("enum")
        if old_values is None or new_values is None:
            self.add(path, f"enum changed from {old_values!r} to {new_values!r}", True)
            return
        if removed := [v for v in old_values if v not in new_values]:
            self.add(path, f"enum values removed: {removed!r}", True)
        if added := [v for v in new_values if v not in old_values]:
            self.add(path, f"enum values added: {added!r}", False)

    def properties(self, old: Schema, new: Schema, path: str, depth: int) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name in sorted(old_props.keys() - new_props.keys()):
            self.add(f"{path}.{name}", "field removed", True)
        for name in sorted(new_props.keys() - old_props.keys()):
            if name in new_required:
                self.add(f"{path}.{name}", "new required field", True)
            else:
                self.add(f"{path}.{name}", "new optional field", False)
        for name in sorted(old_props.keys() & new_props.keys()):
            if name in new_required and name not in old_required:
                self.add(f"{path}.{name}", "optional field made required", True)
            elif name in old_required and name not in new_required:
                self.add(f"{path}.{name}", "required field made optional", False)
            self.node(old_props[name], new_props[name], f"{path}.{name}", depth + 1)


def _resolve(schema: Schema, defs: Schema) -> Schema:
    """Follow `$ref`s to `#/$defs/…` (keeping sibling keywords such as a description)."""
    seen = 0
    while "$ref" in schema and seen < MAX_DEPTH:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings}
        seen += 1
    return schema


def _variants(schema: Schema) -> list[Schema]:
    """The alternatives of a schema (itself when it has none), without documentation keys
    (those of the whole were compared already)."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return list(schema[key])
    return [{k: v for k, v in schema.items() if k not in DOCUMENTATION}]


def _kind(schema: Schema, titled: bool = False) -> str:
    """What a value of this schema is: its JSON type; `titled`: an object model's title too
    (to tell the members of a union of models apart)."""
    kind = schema.get("type")
    if kind is None and "enum" in schema:
        kind = "enum"
    if kind is None and "const" in schema:
        kind = type(schema["const"]).__name__
    if kind is None:
        kind = "any"
    if titled and kind == "object" and "properties" in schema:
        return f"object {schema.get('title', '')}".strip()
    return str(kind)
