"""The JSON schema of a contract as it travels: each personal field (`IntegrationEvent.personal`)
is a sealed string on the wire, whatever its type in the contract model. Used by the schema
snapshots (compatibility) and the AsyncAPI document, so downstream readers see the truth.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from shared.sealing import Rule

Schema = dict[str, Any]
Resolve = Callable[[str], Schema]

SEALED_PATTERN = r"^pii:v1:[0-9a-f-]{36}:[A-Za-z0-9+/=]+$"


def sealed_schema(rule: Rule) -> Schema:
    return {
        "type": "string",
        "pattern": SEALED_PATTERN,
        "description": f"Personal data, sealed with the person's {rule.key_class} key "
        "(AES-256-GCM; see SECURITY.md): opens to a JSON value for holders of the key store, "
        "and to nothing once the person's data is deleted.",
    }


def wire_schema(
    schema: Schema, rules: tuple[Rule, ...], resolve: Callable[[str], Schema]
) -> Schema:
    """A copy of `schema` with each rule's field replaced by the sealed-string schema.

    `resolve` maps a `$ref` to its schema; referenced schemas on a rule's path are inlined
    (copied), so a shared definition used elsewhere is left untouched."""
    result = copy.deepcopy(schema)
    for rule in rules:
        _seal_path(result, list(rule.steps), rule, resolve)
    return result


def _inline(node: Schema, resolve: Resolve) -> Schema:
    """`node` with a `$ref` (or a nullable `anyOf` of one) replaced by a copy of its target."""
    if "$ref" in node:
        target = copy.deepcopy(resolve(node["$ref"]))
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    if "anyOf" in node:
        node = dict(node)
        node["anyOf"] = [_inline(branch, resolve) for branch in node["anyOf"]]
    return node


def _objects(node: Schema) -> list[Schema]:
    """The object schemas a node stands for (itself, or the branches of an `anyOf`)."""
    if "properties" in node:
        return [node]
    return [branch for branch in node.get("anyOf", []) if "properties" in branch]


def _seal_path(
    node: Schema, steps: list[str], rule: Rule, resolve: Callable[[str], Schema]
) -> None:
    head, rest = steps[0], steps[1:]
    name = head.removesuffix("[]")
    for obj in _objects(node):
        properties = obj["properties"]
        if name not in properties:
            continue
        if not rest:
            original = properties[name]
            nullable = {"type": "null"} in original.get("anyOf", [])
            sealed = sealed_schema(rule)
            properties[name] = {"anyOf": [sealed, {"type": "null"}]} if nullable else sealed
            if "default" in original:
                properties[name]["default"] = original["default"]
            continue
        child = _inline(properties[name], resolve)
        properties[name] = child
        if head.endswith("[]"):
            for holder in [child, *child.get("anyOf", [])]:
                if "items" in holder:
                    holder["items"] = _inline(holder["items"], resolve)
                    _seal_path(holder["items"], rest, rule, resolve)
        else:
            _seal_path(child, rest, rule, resolve)


def contract_wire_schema(model: Any) -> Schema:
    """The validation-mode JSON schema of a contract class, personal fields sealed."""
    schema = model.model_json_schema(mode="validation")
    rules = getattr(model, "personal", ())
    if not rules:
        return schema
    defs = schema.get("$defs", {})
    return wire_schema(schema, rules, lambda ref: defs[ref.rsplit("/", 1)[1]])
