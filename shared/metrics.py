"""Projection lag and relay progress as Prometheus text, and how fresh a projection is.

Offsets: a consumer's *position* is the offset of the last message it applied (or skipped) on a
topic-partition; the *head* is the offset of the last message there (Kafka: end offset − 1;
in-process: the producer's last notification id). Lag in events = head − position; lag in
seconds = 0 when caught up, else now − the time of the oldest unapplied message (or, when that
is unknown, of the last applied one).

Metrics (gauges unless noted; labels `group`, `topic`, `partition`):
  worksite_consumer_position, worksite_consumer_head, worksite_consumer_lag_events,
  worksite_consumer_lag_seconds, worksite_consumer_messages_total{group,outcome} (counter);
  relays (labels `topic`, `relay`): worksite_outbox_head, worksite_relay_position,
  worksite_relay_lag_events, worksite_relay_lag_seconds.

`projection_freshness(engine)` answers, from a consumer's own database, per topic: its
positions and when the last event it applied occurred ("payments applied as of …"). The times
come from `consumer_progress`, which `persist_progress` writes from the consumer's memory about
once a second (never inside the projection's transaction, so it may trail by that much).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.messaging.sql_sink import consumer_positions
from shared.sqldb import create_tables


@dataclass
class Metric:
    """One metric family: name, help, type (gauge/counter) and its labelled samples."""

    name: str
    help: str
    kind: str = "gauge"
    samples: list[tuple[dict[str, Any], float]] = field(default_factory=list)

    def add(self, value: float, **labels: Any) -> Metric:
        self.samples.append((labels, value))
        return self


def _escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def render(metrics: Iterable[Metric]) -> str:
    """Prometheus text exposition format 0.0.4 (families with the same name are merged)."""
    merged: dict[str, Metric] = {}
    for metric in metrics:
        if metric.name in merged:
            merged[metric.name].samples.extend(metric.samples)
        else:
            merged[metric.name] = Metric(metric.name, metric.help, metric.kind, [*metric.samples])
    lines: list[str] = []
    for metric in merged.values():
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            text = ",".join(f'{key}="{_escape(v)}"' for key, v in labels.items())
            lines.append(
                f"{metric.name}{{{text}}} {_number(value)}"
                if text
                else f"{metric.name} {_number(value)}"
            )
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Progress:
    """How far a reader (consumer group or relay) is on one topic-partition."""

    topic: str
    partition: int
    position: int
    head: int
    oldest_unapplied_at: datetime | None = None
    last_applied_at: datetime | None = None

    @property
    def lag_events(self) -> int:
        return max(0, self.head - self.position)

    def lag_seconds(self, now: datetime) -> float:
        if self.lag_events == 0:
            return 0.0
        since = self.oldest_unapplied_at or self.last_applied_at
        return max(0.0, (now - since).total_seconds()) if since else math.nan


def consumer_metrics(
    group: str, progress: Iterable[Progress], now: datetime, core: ConsumerCore | None = None
) -> list[Metric]:
    position = Metric("worksite_consumer_position", "Offset of the last message applied.")
    head = Metric("worksite_consumer_head", "Offset of the last message on the partition.")
    events = Metric("worksite_consumer_lag_events", "Messages not yet applied.")
    seconds = Metric("worksite_consumer_lag_seconds", "Age of the oldest unapplied message.")
    for p in progress:
        labels = {"group": group, "topic": p.topic, "partition": p.partition}
        position.add(p.position, **labels)
        head.add(p.head, **labels)
        events.add(p.lag_events, **labels)
        seconds.add(p.lag_seconds(now), **labels)
    metrics = [position, head, events, seconds]
    if core is not None:
        total = Metric("worksite_consumer_messages_total", "Messages handled.", "counter")
        for outcome, value in (
            ("applied", core.applied),
            ("duplicate", core.duplicates),
            ("dead_lettered", core.dead_lettered),
        ):
            total.add(value, group=group, outcome=outcome)
        metrics.append(total)
    return metrics


def relay_metrics(relay: str, progress: Progress, now: datetime) -> list[Metric]:
    labels = {"topic": progress.topic, "relay": relay}
    return [
        Metric("worksite_outbox_head", "Last notification id in the outbox.").add(
            progress.head, **labels
        ),
        Metric("worksite_relay_position", "Last notification id published.").add(
            progress.position, **labels
        ),
        Metric("worksite_relay_lag_events", "Notifications not yet published.").add(
            progress.lag_events, **labels
        ),
        Metric("worksite_relay_lag_seconds", "Age of the oldest unpublished event.").add(
            progress.lag_seconds(now), **labels
        ),
    ]


def _event_time(outbox: Outbox, notification_id: int) -> datetime | None:
    """When the event stored as `notification_id` (or the next one after it) occurred."""
    found = outbox.app.process_recorder.select_notifications(start=notification_id, limit=1)
    if not found:
        return None
    with contextlib.suppress(Exception):  # an undecodable event: the time stays unknown
        return outbox.app.mapper.to_domain_event(found[0]).timestamp
    return None


def outbox_progress(outbox: Outbox, position: int) -> Progress:
    """A reader of `outbox` at notification id `position` (partition 0, as in-process)."""
    head = outbox.app.process_recorder.max_notification_id() or 0
    oldest = _event_time(outbox, position + 1) if head > position else None
    return Progress(outbox.topic, 0, position, head, oldest)


def relay_progress(outbox: Outbox, reader: str = "kafka") -> Progress:
    return outbox_progress(outbox, outbox.position(reader))


def inprocess_progress(core: ConsumerCore, outboxes: dict[str, Outbox]) -> list[Progress]:
    """Embedded mode: each subscribed topic is its producer's outbox."""
    found = []
    for topic in core.topics:
        if topic in outboxes:
            position = core.sink.position(topic, 0) or 0
            progress = outbox_progress(outboxes[topic], position)
            last = core.last_applied.get((topic, 0))
            found.append(
                Progress(**{**progress.__dict__, "last_applied_at": last[1] if last else None})
            )
    return found


# --- freshness of a projection, from the consumer's own database ---------------------------

progress_metadata = MetaData()
consumer_progress = Table(
    "consumer_progress",
    progress_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("offset", Integer, nullable=False),
    Column("event_at", DateTime(timezone=True), nullable=False),
)


def save_progress(engine: Engine, core: ConsumerCore, saved: dict) -> None:
    """Write the event times `core` applied since the last call (`saved`: what is stored)."""
    changed = {k: v for k, v in list(core.last_applied.items()) if saved.get(k) != v}
    if not changed:
        return
    if not saved.get("table created"):
        create_tables(progress_metadata, engine)
        saved["table created"] = True
    table = consumer_progress
    with engine.begin() as connection:
        for (topic, partition), (offset, event_at) in changed.items():
            key = (table.c.consumer == core.name, table.c.topic == topic)
            where = (*key, table.c.partition == partition)
            updated = connection.execute(
                table.update().where(*where).values(offset=offset, event_at=event_at)
            )
            if not updated.rowcount:
                connection.execute(
                    table.insert().values(
                        consumer=core.name,
                        topic=topic,
                        partition=partition,
                        offset=offset,
                        event_at=event_at,
                    )
                )
    saved.update(changed)


async def persist_progress(
    cores: Iterable[ConsumerCore], stop: asyncio.Event, interval: float = 1.0
) -> None:
    """Until stopped, save the event times of every core whose sink is a SQL database."""
    targets = [(core, getattr(core.sink, "engine", None), {}) for core in cores]
    targets = [t for t in targets if t[1] is not None]
    while True:
        for core, engine, saved in targets:
            with contextlib.suppress(Exception):  # a database away: try again next round
                await asyncio.to_thread(save_progress, engine, core, saved)
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def projection_freshness(engine: Engine, consumer: str = "portal") -> dict[str, dict[str, Any]]:
    """Per topic the consumer reads: `{"positions": {partition: offset}, "last_event_at":
    datetime | None}` — the latest occurrence time among the events it has applied there."""
    positions = consumer_positions
    with engine.connect() as connection:
        rows = connection.execute(
            select(positions.c.topic, positions.c.partition, positions.c.offset).where(
                positions.c.consumer == consumer
            )
        ).all()
    try:
        with engine.connect() as connection:
            times = connection.execute(
                select(consumer_progress.c.topic, consumer_progress.c.event_at).where(
                    consumer_progress.c.consumer == consumer
                )
            ).all()
    except DBAPIError:  # no time saved yet (the table comes with the first one)
        times = []
    answer: dict[str, dict[str, Any]] = {}
    for topic, partition, offset in rows:
        answer.setdefault(topic, {"positions": {}, "last_event_at": None})
        answer[topic]["positions"][partition] = offset
    for topic, event_at in times:
        if event_at is not None and event_at.tzinfo is None:  # SQLite drops the zone
            event_at = event_at.replace(tzinfo=UTC)
        entry = answer.setdefault(topic, {"positions": {}, "last_event_at": None})
        if entry["last_event_at"] is None or event_at > entry["last_event_at"]:
            entry["last_event_at"] = event_at
    return answer
