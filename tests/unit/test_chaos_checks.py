"""The chaos harness's own logic, without the topology: the fault schedule and the invariant
checks on hand-made events (a check that cannot fail would prove nothing)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from itertools import islice
from uuid import UUID, uuid4

from bench.chaos.faults import HEAVY, INJECTORS
from bench.chaos.invariants import (
    Expectation,
    Findings,
    Poison,
    Record,
    check_acknowledged,
    check_dead_letters,
    check_relayed,
)
from bench.chaos.run import FULL, SMALL, schedule
from shared.contracts.documents import DocumentOpened
from shared.contracts.envelope import Envelope

NUMBER = "0000400001"


def opened(aggregate: UUID, version: int) -> tuple[Envelope, DocumentOpened]:
    event = DocumentOpened(
        certificate_number=NUMBER, document_id=aggregate, opened_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    envelope = Envelope.wrap(
        event,
        aggregate_id=aggregate,
        aggregate_version=version,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        certificate_number=NUMBER,
    )
    return envelope, event


def store(*pairs: tuple[Envelope, DocumentOpened]) -> dict:
    return {str(e.event_id): ("documents.events", e, ev) for e, ev in pairs}


def record(envelope: Envelope, offset: int) -> Record:
    return Record("documents.events", 0, offset, envelope.to_bytes(), {})


def test_every_round_has_every_light_kind_and_heavy_ones_every_other_round() -> None:
    kinds = list(islice(schedule(FULL, random.Random(1)), 4 * len(INJECTORS)))
    light = len(INJECTORS) - len(HEAVY)
    counts = Counter(kinds[: 2 * light + len(HEAVY)])
    assert all(counts[k] == 2 for k in INJECTORS if k not in HEAVY)
    assert all(counts[k] == 1 for k in HEAVY)
    assert set(islice(schedule(SMALL, random.Random(1)), len(INJECTORS))) == set(INJECTORS)


def test_an_acknowledged_command_without_its_event_is_a_violation() -> None:
    document = uuid4()
    events = store(opened(document, 1))
    findings = Findings()
    found = Expectation("OpenDocument", "DocumentOpened", {"document_id": str(document)})
    lost = Expectation("OpenDocument", "DocumentOpened", {"document_id": str(uuid4())})
    wrong_type = Expectation("OpenDocument", "DocumentGenerated", {"document_id": str(document)})
    check_acknowledged(findings, [found, lost, wrong_type], events)
    assert findings.acknowledged_checked == 3
    assert len(findings.violations) == 2
    assert all(v.startswith("acknowledged-command-lost") for v in findings.violations)


def test_relay_losses_phantoms_and_duplicates_are_told_apart() -> None:
    first, second, phantom = opened(uuid4(), 1), opened(uuid4(), 1), opened(uuid4(), 1)
    events = store(first, second)
    records = [record(first[0], 0), record(first[0], 1), record(phantom[0], 2)]
    records.append(Record("documents.events", 0, 3, b"\x00 poison", {}))
    findings = Findings()
    on_topics = check_relayed(findings, events, records)
    assert findings.duplicates_on_topics == 1
    assert sorted(v.split(":")[0] for v in findings.violations) == [
        "event-not-relayed",
        "phantom-event",
    ]
    assert len(on_topics["documents.events"]) == 3


class _Core:
    def __init__(self, name: str, topics: list[str]) -> None:
        self.name, self.topics = name, topics


class _Observer:
    def __init__(self) -> None:
        self.consumers = {
            "portal": _Core("portal", ["documents.events"]),
            "policy": _Core("policy", []),
        }


def test_dead_letters_must_be_injected_poison_reaching_every_reader() -> None:
    poison = [Poison("documents.events", "chaos-poison-1"), Poison("documents.events", "p-2")]
    dead = [
        Record("documents.events.dlq", 0, 0, b"xx chaos-poison-1", {"dlq_consumer": b"portal"}),
        Record("documents.events.dlq", 0, 1, b"a real event", {"dlq_reason": b"boom"}),
    ]
    findings = Findings()
    check_dead_letters(findings, _Observer(), poison, dead)  # type: ignore[arg-type]
    kinds = sorted(v.split(":")[0] for v in findings.violations)
    assert kinds == ["poison-not-dead-lettered", "unexpected-dead-letter"]
    assert findings.dead_letters == 2
