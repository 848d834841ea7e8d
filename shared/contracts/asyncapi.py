"""The AsyncAPI document of the integration events, generated with FastStream.

    .venv/bin/python -m shared.contracts.asyncapi docs/      (what `make docs` runs)

writes `docs/asyncapi.json` and `docs/asyncapi.yaml`. One FastStream publisher per topic; its
payload is the envelope, one variant per registered contract (`event_type` discriminates,
`data` is the contract's pydantic model). FastStream 0.7 documents neither message headers
nor Kafka keys nor examples, so those are set on the generated message objects (AsyncAPI
3.0 fields): the key (the certificate number), the headers (W3C `traceparent`, `event_type`,
`cause`) and one example per event type, taken from the stored samples in
`tests/contracts/samples/` (real payloads captured from the embedded demo).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, Field, create_model

from shared.contracts import billing, claims, documents, identity, policy
from shared.contracts.envelope import Envelope, IntegrationEvent
from shared.contracts.registry import CONTRACTS
from shared.contracts.wire import wire_schema

TITLE = "Worksite portal integration events"
VERSION = "1.0.0"
SERVER = "127.0.0.1:19092"
PRODUCERS = (policy, billing, identity, documents, claims)
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SAMPLES = REPO_ROOT / "tests" / "contracts" / "samples"
DESCRIPTION = """\
What the back-office services publish on Kafka, for downstream systems.

* **Envelope**: every message value is a JSON envelope (`event_id`, `event_type`,
  `schema_version`, `occurred_at`, `producer`, `aggregate_id`, `aggregate_version`,
  `certificate_number`) whose `data` is the contract of `(event_type, schema_version)`.
* **Key**: the certificate number (10 digits), so the events of one certificate are ordered
  within a partition. Topics are not ordered with respect to each other.
* **At least once**: a relay may re-publish after a crash; `event_id` is deterministic (the
  same event keeps its id), so consumers deduplicate on it (or on `aggregate_id` +
  `aggregate_version`).
* **Versions**: an incompatible change to a contract gets a new `schema_version` and an
  upcaster from the previous one (`shared/contracts/upcasting.py`); new optional fields may
  appear in any version, so ignore unknown fields if you do not validate strictly.
* **Unknown event types**: skip them; new event types may be added to a topic at any time.
* **Personal data**: no SSN, password, security answer or full date of birth travels in clear.
"""

KEY_SCHEMA = {
    "type": "string",
    "pattern": r"^[0-9]{10}$",
    "description": "The certificate number the event is about (the envelope's too).",
}
HEADERS_SCHEMA = {
    "type": "object",
    "properties": {
        "traceparent": {
            "type": "string",
            "pattern": r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            "description": "W3C Trace Context of the command that caused the event; continue "
            "the trace from it (absent when the event was not caused inside a trace).",
        },
        "event_type": {
            "type": "string",
            "description": "The envelope's event_type, to filter without parsing the value.",
        },
        "cause": {
            "type": "string",
            "description": 'JSON {"kind": "command"|"user"|"batch", "name": ..., "actor": ...}:'
            " who or what caused the event (absent when unknown).",
        },
    },
    "required": ["event_type"],
}
EXAMPLE_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _message_model(contract: type[IntegrationEvent]) -> type[BaseModel]:
    """The envelope of one contract: `event_type`/`schema_version` fixed, `data` typed."""
    return create_model(
        f"{contract.event_type}V{contract.schema_version}Message",
        __base__=Envelope,
        __doc__=f"{contract.event_type} v{contract.schema_version} in its envelope. "
        + (contract.__doc__ or "").strip(),
        event_type=(Literal[contract.event_type], ...),  # type: ignore[valid-type]
        schema_version=(Literal[contract.schema_version], ...),  # type: ignore[valid-type]
        producer=(Literal[contract.producer], ...),  # type: ignore[valid-type]
        data=(contract, ...),
    )


def _topic_payload(contracts: list[type[IntegrationEvent]]) -> Any:
    models = tuple(_message_model(c) for c in contracts)
    if len(models) == 1:
        return models[0]
    union = Union[models]  # type: ignore[valid-type]  # noqa: UP007 - a runtime tuple
    if len({c.event_type for c in contracts}) == len(contracts):
        return Annotated[union, Field(discriminator="event_type")]
    return union


def topics() -> dict[str, list[type[IntegrationEvent]]]:
    """Each topic with its registered contracts (every version still registered)."""
    registered = set(CONTRACTS.values())
    return {module.TOPIC: [c for c in module.EVENTS if c in registered] for module in PRODUCERS}


def build_broker() -> KafkaBroker:
    """A broker that only describes: one publisher per topic, never connected."""
    broker = KafkaBroker(SERVER, description="Apache Kafka (KRaft); acks=all, idempotent")
    for topic, contracts in topics().items():
        producer = contracts[0].producer
        names = ", ".join(f"{c.event_type} v{c.schema_version}" for c in contracts)
        broker.publisher(
            topic,
            title=topic,
            description=f"Published by the {producer} service: {names}.",
            schema=_topic_payload(contracts),
        )
    return broker


def load_samples(directory: Path | None) -> dict[tuple[str, int], dict[str, Any]]:
    """Stored envelopes by `(event_type, schema_version)`, from `<type>.v<n>.json` files."""
    samples: dict[tuple[str, int], dict[str, Any]] = {}
    if directory is None or not directory.is_dir():
        return samples
    for path in sorted(directory.glob("*.v*.json")):
        envelope = json.loads(path.read_text())
        samples[(envelope["event_type"], envelope["schema_version"])] = envelope
    return samples


def build_document(samples_dir: Path | None = DEFAULT_SAMPLES) -> dict[str, Any]:
    """The AsyncAPI 3.0 document, as JSON-compatible data."""
    schema: Any = AsyncAPI(
        build_broker(), title=TITLE, version=VERSION, description=DESCRIPTION
    ).to_specification()  # FastStream's ApplicationSchema (a pydantic model)
    samples = load_samples(samples_dir)
    by_topic = topics()
    messages = schema.components.messages if schema.components else {}
    for name, message in (messages or {}).items():
        topic = name.split(":", 1)[0]
        contracts = by_topic.get(topic, [])
        message.name = topic
        message.summary = ", ".join(c.event_type for c in contracts)
        message.contentType = "application/json"
        message.correlationId.location = "$message.header#/traceparent"
        message.correlationId.description = "W3C trace context (the trace of the command)"
        message.headers = HEADERS_SCHEMA
        message.bindings = {"kafka": {"key": KEY_SCHEMA, "bindingVersion": "0.4.0"}}
        message.examples = [
            {
                "name": f"{c.event_type}V{c.schema_version}",
                "summary": f"A stored {c.event_type} v{c.schema_version} (embedded demo)",
                "headers": {"traceparent": EXAMPLE_TRACEPARENT, "event_type": c.event_type},
                "payload": samples[(c.event_type, c.schema_version)],
            }
            for c in contracts
            if (c.event_type, c.schema_version) in samples
        ]
    document = schema.to_jsonable()
    _seal_personal_fields(document)
    # Named maps in a stable order, so a regeneration is byte-identical (docs never drift).
    for key in ("channels", "operations"):
        document[key] = dict(sorted(document[key].items()))
    for key, value in document["components"].items():
        document["components"][key] = dict(sorted(value.items()))
    return document


def _seal_personal_fields(document: dict[str, Any]) -> None:
    """Each contract's personal fields as they travel: sealed strings (`wire.py`)."""
    schemas = document["components"]["schemas"]

    def resolve(ref: str) -> dict[str, Any]:
        return schemas[ref.rsplit("/", 1)[1]]

    for contracts in topics().values():
        for contract in contracts:
            if not contract.personal:
                continue
            message = schemas[f"{contract.event_type}V{contract.schema_version}Message"]
            name = message["properties"]["data"]["$ref"].rsplit("/", 1)[1]
            schemas[name] = wire_schema(schemas[name], contract.personal, resolve)


def to_yaml(data: Any, indent: int = 0) -> str:
    """Block-style YAML of JSON data; every string double-quoted (JSON escapes are YAML's)."""
    pad = "  " * indent
    if isinstance(data, dict) and data:
        lines = []
        for key, value in data.items():
            head = f"{pad}{json.dumps(str(key))}:"
            lines.append(_yaml_entry(head, value, indent))
        return "\n".join(lines)
    if isinstance(data, list) and data:
        return "\n".join(_yaml_entry(f"{pad}-", item, indent) for item in data)
    return pad + json.dumps(data, ensure_ascii=False)


def _yaml_entry(head: str, value: Any, indent: int) -> str:
    if isinstance(value, dict | list) and value:
        return f"{head}\n{to_yaml(value, indent + 1)}"
    return f"{head} {json.dumps(value, ensure_ascii=False)}"


def render(document: dict[str, Any]) -> tuple[str, str]:
    """The JSON and YAML texts written to `docs/`."""
    return (
        json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        "# Generated by `make docs` (shared/contracts/asyncapi.py): do not edit.\n"
        + to_yaml(document)
        + "\n",
    )


def write_docs(out: Path, samples_dir: Path | None = DEFAULT_SAMPLES) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_text, yaml_text = render(build_document(samples_dir))
    paths = [out / "asyncapi.json", out / "asyncapi.yaml"]
    for path, text in zip(paths, (json_text, yaml_text), strict=True):
        path.write_text(text)
    return paths


if __name__ == "__main__":
    for written in write_docs(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(written)
