"""The AsyncAPI document (`make docs`): generated with FastStream, structurally valid AsyncAPI
3.0 (no validator package is available offline, so the checks below are the spec's rules that
matter here: version, channels with messages and payload schemas, operations on existing
channels, every `$ref` resolvable), every registered contract in it with an example, and the
committed `docs/asyncapi.*` equal to a fresh generation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from shared.contracts.asyncapi import (
    DEFAULT_SAMPLES,
    _message_model,
    build_document,
    load_samples,
    render,
    to_yaml,
    topics,
)
from shared.contracts.envelope import parse_event
from shared.contracts.registry import CONTRACTS
from shared.sealing import open_state

DOCS = Path(__file__).parents[2] / "docs"
TOPICS = {"policy.events", "billing.events", "identity.events", "documents.events", "claims.events"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        part = unquote(part).replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def test_it_declares_asyncapi_3_and_a_kafka_server(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert {s["protocol"] for s in document["servers"].values()} == {"kafka"}


def test_every_ref_resolves(document: dict[str, Any]) -> None:
    all_refs = refs(document)
    assert len(all_refs) > 100
    for ref in all_refs:
        resolve(document, ref)


def test_one_channel_per_topic_each_with_messages_and_payload_schemas(
    document: dict[str, Any],
) -> None:
    channels = document["channels"]
    assert {c["address"] for c in channels.values()} == TOPICS
    for channel in channels.values():
        assert channel["bindings"]["kafka"]["topic"] == channel["address"]
        assert channel["messages"], channel["address"]
        for message_ref in channel["messages"].values():
            message = resolve(document, message_ref["$ref"])
            payload = resolve(document, message["payload"]["$ref"])
            variants = payload.get("oneOf") or [message["payload"]]
            for variant in variants:
                schema = resolve(document, variant["$ref"])
                assert schema["type"] == "object" and "data" in schema["properties"]
    for operation in document["operations"].values():
        assert operation["action"] == "send"
        resolve(document, operation["channel"]["$ref"])
        for message_ref in operation["messages"]:
            resolve(document, message_ref["$ref"])


def test_every_registered_contract_appears_under_its_topic(document: dict[str, Any]) -> None:
    found = set()
    for topic, contracts in topics().items():
        message = document["components"]["messages"][f"{topic}:Message"]
        payload = resolve(document, message["payload"]["$ref"])
        variants = [resolve(document, v["$ref"]) for v in payload.get("oneOf", [])]
        by_type = {v["properties"]["event_type"]["const"]: v for v in variants}
        for contract in contracts:
            envelope = by_type[contract.event_type]
            assert envelope["properties"]["schema_version"]["const"] == contract.schema_version
            data = resolve(document, envelope["properties"]["data"]["$ref"])
            assert set(data["properties"]) == set(contract.model_fields)
            found.add((contract.event_type, contract.schema_version))
    assert found == set(CONTRACTS)


def test_key_and_trace_headers_are_documented(document: dict[str, Any]) -> None:
    for message in document["components"]["messages"].values():
        key = message["bindings"]["kafka"]["key"]
        assert key["type"] == "string" and key["pattern"] == "^[0-9]{10}$"
        assert "traceparent" in message["headers"]["properties"]
        assert message["correlationId"]["location"] == "$message.header#/traceparent"


def test_examples_are_real_payloads_valid_for_their_contract(document: dict[str, Any]) -> None:
    examples = 0
    for topic, contracts in topics().items():
        message = document["components"]["messages"][f"{topic}:Message"]
        by_name = {e["name"]: e for e in message["examples"]}
        for contract in contracts:
            example = by_name.get(f"{contract.event_type}V{contract.schema_version}")
            if example is None:
                continue
            payload = example["payload"]
            # Personal fields travel sealed; the model reads them once opened (here: erased).
            opened = open_state(payload["data"], contract.personal, lambda _v: (False, None))
            _message_model(contract).model_validate({**payload, "data": opened})
            _, event = parse_event(json.dumps(payload).encode())
            assert type(event) is contract
            assert payload["certificate_number"] == event.certificate_number  # the key
            examples += 1
    # Samples of versions that are no longer registered (upcast on read) are no examples.
    samples = len([k for k in load_samples(DEFAULT_SAMPLES) if k in CONTRACTS])
    assert examples == samples >= 25


def test_the_committed_documents_equal_a_fresh_generation(document: dict[str, Any]) -> None:
    json_text, yaml_text = render(document)
    for name, fresh in (("asyncapi.json", json_text), ("asyncapi.yaml", yaml_text)):
        committed = DOCS / name
        assert committed.exists(), f"{committed} is missing: run `make docs`"
        assert committed.read_text() == fresh, f"{committed} is stale: run `make docs`"


def test_the_yaml_is_block_style_with_json_scalars() -> None:
    data = {"a": {"b": [1, {"c": 'x: "y"'}], "e": [], "f": None}, "g": True}
    assert to_yaml(data) == (
        '"a":\n  "b":\n    - 1\n    -\n      "c": "x: \\"y\\""\n  "e": []\n  "f": null\n"g": true'
    )
