"""The checks after a chaos run: nothing lost, nothing applied twice, read models equal a
fresh replay, nothing in the dead-letter topics but the injected poison.

1. Every acknowledged command left its event in the producing service's event store.
2. Every event in a store is on its topic (the relay lost nothing), and every parseable record
   on a topic is an event of a store (nothing invented).
3. Every consumer group reached the end of every partition it reads, and every event reached
   it exactly once in effect: an event-sourced consumer holds exactly one `ProcessedEvent`
   marker per event it reacts to (the marker's id is deterministic, so a second application
   cannot commit); a SQL consumer's per-aggregate watermark stands at the aggregate's last
   version; and the portal's read models equal `portal replay --verify`'s fresh rebuild.
4. Each dead-letter topic holds only injected poison messages, and each poison message was
   dead-lettered by every consumer group that reads its topic.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.chaos.observer import Observer
from bench.chaos.workload import Expectation
from shared.contracts.envelope import ContractError, Envelope, parse_event
from shared.messaging.eventsourced_sink import EventSourcedSink, ProcessedEvent
from shared.messaging.kafka import dead_letter_topic
from shared.messaging.sql_sink import SqlSink, aggregate_watermarks
from shared.settings import REPO_ROOT


@dataclass(frozen=True)
class Poison:
    topic: str
    marker: str


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes
    headers: dict[str, bytes]


@dataclass
class Findings:
    """What the checks counted, and each violation in words."""

    violations: list[str] = field(default_factory=list)
    events_checked: int = 0
    store_events: int = 0
    topic_records: int = 0
    duplicates_on_topics: int = 0
    acknowledged_checked: int = 0
    markers_checked: int = 0
    watermarks_checked: int = 0
    dead_letters: int = 0
    replay_output: str = ""

    def violate(self, check: str, detail: str) -> None:
        self.violations.append(f"{check}: {detail}")


async def read_topics(observer: Observer, topics: list[str]) -> list[Record]:
    """Every record of `topics`, from offset 0 to the end offsets of now."""
    partitions = await observer.partitions(topics)
    if not partitions:
        return []
    ends = await observer.kafka.end_offsets(partitions)
    wanted = [tp for tp in partitions if ends[tp] > 0]
    records: list[Record] = []
    if not wanted:
        return records
    consumer = observer.kafka
    consumer.assign(wanted)
    for tp in wanted:
        consumer.seek(tp, 0)
    remaining = set(wanted)
    while remaining:
        batch = await consumer.getmany(*remaining, timeout_ms=2000, max_records=5000)
        for tp, messages in batch.items():
            for m in messages:
                if m.offset < ends[tp]:
                    headers = {k: v for k, v in (m.headers or ())}
                    records.append(Record(tp.topic, tp.partition, m.offset, m.value, headers))
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
    return records


def store_events(observer: Observer) -> dict[str, tuple[str, Envelope, Any]]:
    """event_id → (topic, envelope, event) for every integration event in every store."""
    events: dict[str, tuple[str, Envelope, Any]] = {}
    for outbox in observer.outboxes.values():
        after = 0
        while True:
            records, last = outbox.read(after, 2000)
            for record in records:
                envelope, event = parse_event(record.value)
                events[str(envelope.event_id)] = (outbox.topic, envelope, event)
            if last == after:
                break
            after = last
    return events


def check_acknowledged(
    findings: Findings, expectations: list[Expectation], events: dict[str, tuple]
) -> None:
    index: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for _, envelope, event in events.values():
        payload = event.model_dump(mode="json")
        for key, value in payload.items():
            if isinstance(value, str | int):
                index[(envelope.event_type, key, str(value))].append(payload)
    for expectation in expectations:
        findings.acknowledged_checked += 1
        (key, value), *rest = expectation.match.items()
        candidates = index.get((expectation.event_type, key, str(value)), [])
        if not any(all(str(p.get(k)) == str(v) for k, v in rest) for p in candidates):
            findings.violate(
                "acknowledged-command-lost",
                f"{expectation.command}: no {expectation.event_type} with {expectation.match}",
            )


def check_relayed(findings: Findings, events: dict[str, tuple], records: list[Record]) -> dict:
    """Store ⊆ topics and parseable topic records ⊆ store; the parsed records per topic."""
    on_topics: dict[str, list[tuple[Record, Envelope]]] = defaultdict(list)
    seen: set[str] = set()
    for record in records:
        try:
            envelope, _ = parse_event(record.value)
        except ContractError:
            continue  # poison: checked against the dead letters
        event_id = str(envelope.event_id)
        if event_id in seen:
            findings.duplicates_on_topics += 1
        seen.add(event_id)
        on_topics[record.topic].append((record, envelope))
        if event_id not in events:
            findings.violate("phantom-event", f"{record.topic}@{record.offset} {event_id}")
    for event_id, (topic, envelope, _) in events.items():
        if event_id not in seen:
            findings.violate(
                "event-not-relayed", f"{topic}: {envelope.event_type} {event_id} not on the topic"
            )
    return on_topics


def check_consumers(
    findings: Findings,
    observer: Observer,
    on_topics: dict[str, list[tuple[Record, Envelope]]],
    ends: dict[tuple[str, int], int],
) -> None:
    for group, core in observer.consumers.items():
        for (topic, partition), end in ends.items():
            if topic not in core.topics:
                continue
            position = core.sink.position(topic, partition)
            if end > 0 and position != end - 1:
                findings.violate(
                    "consumer-not-at-end",
                    f"{group} at {position} on {topic}[{partition}], end offset {end}",
                )
        mine = {
            str(envelope.event_id): envelope
            for topic in core.topics
            for _, envelope in on_topics.get(topic, [])
        }
        sink = core.sink
        if isinstance(sink, EventSourcedSink):
            _check_markers(findings, observer, group, sink, mine)
        elif isinstance(sink, SqlSink):
            _check_watermarks(findings, group, sink, mine)


def _check_markers(
    findings: Findings, observer: Observer, group: str, sink: EventSourcedSink, events: dict
) -> None:
    reacted = {cls.event_type for cls in sink.reactions} if sink.reactions else set()
    expected = {
        ProcessedEvent.create_id(sink.name, *envelope.idempotency_key): envelope
        for envelope in events.values()
        if envelope.event_type in reacted
    }
    url = observer.settings.database_url_for(group)
    table = sink.app.process_recorder.events_table_name
    with psycopg.connect(url) as connection:
        found = {
            row[0]
            for row in connection.execute(
                f'SELECT originator_id FROM "{table}" WHERE originator_id = ANY(%s)',
                (list(expected),),
            )
        }
        counts = connection.execute(
            f'SELECT originator_id, count(*) FROM "{table}" WHERE originator_id = ANY(%s)'
            " GROUP BY originator_id HAVING count(*) > 1",
            (list(expected),),
        ).fetchall()
    for marker_id, envelope in expected.items():
        findings.markers_checked += 1
        if marker_id not in found:
            findings.violate(
                "event-not-applied",
                f"{group} never applied {envelope.event_type} {envelope.event_id}",
            )
    for marker_id, count in counts:
        findings.violate("event-applied-twice", f"{group}: marker {marker_id} recorded {count}×")


def _check_watermarks(findings: Findings, group: str, sink: SqlSink, events: dict) -> None:
    last: dict[str, int] = {}
    for envelope in events.values():
        key = str(envelope.aggregate_id)
        last[key] = max(last.get(key, 0), envelope.aggregate_version)
    with Session(sink.engine) as session:
        rows = session.execute(
            select(aggregate_watermarks.c.aggregate_id, aggregate_watermarks.c.version).where(
                aggregate_watermarks.c.consumer == sink.name
            )
        ).all()
    watermarks = {aggregate_id: version for aggregate_id, version in rows}
    for aggregate_id, version in last.items():
        findings.watermarks_checked += 1
        if watermarks.get(aggregate_id) != version:
            findings.violate(
                "event-not-applied",
                f"{group}: aggregate {aggregate_id} at {watermarks.get(aggregate_id)}, "
                f"last version on the topics {version}",
            )


def check_dead_letters(
    findings: Findings, observer: Observer, poison: list[Poison], dead: list[Record]
) -> None:
    findings.dead_letters = len(dead)
    markers = {p.marker: p for p in poison}
    reached: set[tuple[str, str]] = set()
    for record in dead:
        marker = next((m for m in markers if m.encode() in record.value), None)
        if marker is None:
            reason = record.headers.get("dlq_reason", b"").decode(errors="replace")[:300]
            source = record.headers.get("dlq_source", b"").decode(errors="replace")
            findings.violate("unexpected-dead-letter", f"{record.topic} from {source}: {reason}")
            continue
        consumer = record.headers.get("dlq_consumer", b"").decode()
        reached.add((marker, consumer))
    for p in poison:
        for core in observer.consumers.values():
            if p.topic in core.topics and (p.marker, core.name) not in reached:
                findings.violate(
                    "poison-not-dead-lettered", f"{core.name} on {p.topic}: {p.marker}"
                )


def replay_verify(observer: Observer) -> tuple[bool, str]:
    """`portal replay --verify` against the topology's databases, as an operator runs it."""
    settings = observer.settings
    env = {
        **os.environ,
        "PORTAL_MODE": "distributed",
        "DATABASE_URL": settings.database_url or "",
        "DATABASE_SUFFIX": settings.database_suffix,
        "TOPIC_PREFIX": settings.topic_prefix,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "PII_HMAC_SECRET": settings.pii_hmac_secret or "",
    }
    portal = str(REPO_ROOT / ".venv" / "bin" / "portal")
    result = subprocess.run(
        [portal, "replay", "--verify"], env=env, capture_output=True, text=True, timeout=600
    )
    output = (result.stdout + result.stderr).strip()
    return result.returncode == 0 and "0 differences" in output, output


async def check_all(
    observer: Observer, expectations: list[Expectation], poison: list[Poison]
) -> Findings:
    findings = Findings()
    events = await asyncio.to_thread(store_events, observer)
    findings.store_events = len(events)
    topics = observer.topics
    records = await read_topics(observer, topics)
    findings.topic_records = len(records)
    ends = await observer.end_offsets(topics)
    check_acknowledged(findings, expectations, events)
    on_topics = check_relayed(findings, events, records)
    findings.events_checked = len(events)
    await asyncio.to_thread(check_consumers, findings, observer, on_topics, ends)
    dead = await read_topics(observer, [dead_letter_topic(t) for t in topics])
    check_dead_letters(findings, observer, poison, dead)
    ok, output = await asyncio.to_thread(replay_verify, observer)
    findings.replay_output = output[-2000:]
    if not ok:
        findings.violate("read-models-differ-from-replay", output[-1500:])
    return findings


__all__ = ["Expectation", "Findings", "Poison", "check_all"]
