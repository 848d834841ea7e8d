"""`portal replay`: rebuild the portal's read models from the event stores, aside, then swap
them in, compare them with the live ones (`verify`), or export them as of an instant.

Source: each producing service's outbox (`Outbox.read` from 0, in pages) for the topics the
portal subscribes to — the very envelopes its live consumer receives — or, with
`--from-kafka`, the topics themselves from offset 0 (`replay_kafka.py`). Topics are merged by
`occurred_at`, each in its own order. Every envelope goes through the SAME projection code
(`portal_sink` → `SqlSink.apply`) writing into the shadow (`replay_shadow.py`). The shadow's
own positions count its replay sequence (a held-back envelope, see below, is applied after
later ones of its topic); they are dropped with it — the live positions are what stays.

Replay-safe by construction: only the portal's projections run. No service application
command is called (the services' applications are opened to READ their notification logs,
nothing is saved, so no log grows), no relay publishes, no mail dispatcher or document
generator runs, and an event the projections refuse is counted, never dead-lettered.

Positions and watermarks at the swap. The live consumer's positions are transport offsets
(notification ids embedded, Kafka offsets distributed) and are KEPT: the consumer carries on
from where it was. What makes that safe is the per-aggregate version watermark, which is
rebuilt with the shadow: an event re-delivered after the swap whose version is at or below
its aggregate's watermark is a no-op. From the outbox, the shadow is cut at the LIVE
watermarks — an envelope is applied only if its aggregate's live watermark has reached its
version (the rest are held back, then applied during the locked catch-up if the live
consumer got there meanwhile) — so the rebuilt tables are exactly what the live ones should
be at the live consumer's progress, even when it lags; that is also what makes `verify`
meaningful on a running system, and what lets `--read-model` swap one read model's tables
while the others and the watermarks stay live. With `--from-kafka` (the read database was
lost) there is nothing live to cut at: the shadow takes everything and its watermarks replace
the live ones, so what the consumer re-reads afterwards is a no-op.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.portal.projections import portal_sink
from services.portal.replay_shadow import (
    Shadow,
    differences,
    live_watermarks,
    sealed_aware,
    tables_of,
)
from services.portal.replay_sources import NoProgress, Progress, Source
from shared.messaging.records import Delivery
from shared.messaging.sql_sink import SqlSink

log = logging.getLogger(__name__)

Difference = tuple[str, str, str, str, str]


@dataclass
class ReplayReport:
    events: int = 0  # envelopes read from the source
    applied: int = 0  # that changed the shadow (others: no projector, duplicate)
    held_back: int = 0  # beyond the live watermarks (not yet in the live read models)
    after_instant: int = 0  # later than --as-of
    failed: int = 0  # a projector raised (the live consumer would have dead-lettered it)
    tables: int = 0
    seconds: float = 0.0
    differences: list[Difference] = field(default_factory=list)

    def summary(self) -> str:
        rate = self.events / self.seconds if self.seconds else 0.0
        extra = "".join(
            f", {n} {label}"
            for n, label in (
                (self.held_back, "held back (beyond the live consumer)"),
                (self.after_instant, "after the instant"),
                (self.failed, "failed"),
            )
            if n
        )
        return (
            f"{self.events} events replayed ({self.applied} applied{extra}) into "
            f"{self.tables} tables in {self.seconds:.2f} s ({rate:.0f} events/s)"
        )


class Feeder:
    """Feeds deliveries into the shadow's sink: optionally only up to an instant, and/or cut at
    a ceiling of per-aggregate versions (the live watermarks); what is above the ceiling waits
    in `held` (in delivery order) until `raise_ceiling`.

    Deliveries are applied in runs of `BATCH`, one transaction each (`SqlSink.apply_many`): a
    run that fails is applied again one by one, so the failing event is counted (as the live
    consumer would dead-letter it) and the others still land."""

    BATCH = 500

    def __init__(
        self,
        sink: SqlSink,
        report: ReplayReport,
        progress: Progress,
        ceiling: dict[str, int] | None = None,
        until: datetime | None = None,
    ) -> None:
        self.sink = sink
        self.report = report
        self.progress = progress
        self.ceiling = ceiling
        self.until = until
        self.held: list[Delivery] = []
        self.sequence = 0
        self._run: list[Delivery] = []

    def feed(self, deliveries: Iterable[Delivery]) -> None:
        for delivery in deliveries:
            self.report.events += 1
            self.progress.update(delivery.topic, delivery.offset)
            self._one(delivery)
        self._flush()

    def raise_ceiling(self, ceiling: dict[str, int]) -> None:
        self.ceiling = ceiling
        held, self.held = self.held, []
        self.report.held_back = 0
        for delivery in held:
            self._one(delivery)
        self._flush()

    def _one(self, delivery: Delivery) -> None:
        envelope = delivery.envelope
        if self.until is not None and envelope.occurred_at > self.until:
            self.report.after_instant += 1
            return
        ceiling = self.ceiling
        if ceiling is not None and envelope.aggregate_version > ceiling.get(
            str(envelope.aggregate_id), 0
        ):
            self.held.append(delivery)
            self.report.held_back += 1
            return
        # The shadow's positions are its own replay sequence, not the source's offsets: a
        # held-back delivery is applied after later ones of its topic, and must not look like
        # a duplicate to the sink's position check (the live positions are kept anyway).
        self.sequence += 1
        self._run.append(replace(delivery, offset=self.sequence))
        if len(self._run) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        run, self._run = self._run, []
        try:
            self.report.applied += self.sink.apply_many(run)
        except Exception:  # rolled back whole: one by one, to count the culprit alone
            for delivery in run:
                self._apply_alone(delivery)

    def _apply_alone(self, delivery: Delivery) -> None:
        envelope = delivery.envelope
        try:
            if self.sink.apply(delivery):
                self.report.applied += 1
        except Exception as exc:  # counted and reported, as a dead letter would be
            self.report.failed += 1
            log.warning(
                "replay: %s v%s of %s failed: %s",
                envelope.event_type,
                envelope.aggregate_version,
                envelope.aggregate_id,
                type(exc).__name__,
            )
            self.sink.skip(delivery.topic, delivery.partition, delivery.offset)


def _rebuild(
    shadow: Shadow,
    source: Source,
    report: ReplayReport,
    progress: Progress,
    ceiling: dict[str, int] | None,
    until: datetime | None = None,
) -> Feeder:
    shadow.create()
    for topic, total in source.totals().items():
        progress.start(topic, total)
    feeder = Feeder(portal_sink(shadow.engine), report, progress, ceiling, until)
    feeder.feed(source.read_new())
    return feeder


def _catch_up(feeder: Feeder, source: Source, cut: bool) -> Callable[[Connection], None]:
    """What the rebuild missed, under the lock (swap) or in the live snapshot (verify): the
    live watermarks are read FIRST — that fixes the snapshot — so everything the live read
    models hold is already in the outboxes read next."""

    def catch_up(live: Connection) -> None:
        ceiling = live_watermarks(live) if cut else None
        feeder.feed(source.read_new())
        if ceiling is not None:
            feeder.raise_ceiling(ceiling)

    return catch_up


def replay(
    live_url: str,
    source: Source,
    *,
    read_model: str | None = None,
    cut: bool = True,
    progress: Progress | None = None,
) -> ReplayReport:
    """Rebuild aside and swap (every read model, or the tables of `read_model`)."""
    if read_model not in (None, "all") and not cut:
        raise ValueError("one read model can be swapped only at the live watermarks")
    started, report, progress = time.perf_counter(), ReplayReport(), progress or NoProgress()
    tables = tables_of(read_model)
    shadow = Shadow(live_url)
    try:
        with shadow.raw.connect() as connection:
            ceiling = live_watermarks(connection) if cut else None
        feeder = _rebuild(shadow, source, report, progress, ceiling)
        shadow.swap(tables, _catch_up(feeder, source, cut), adopt_watermarks=not cut)
    finally:
        shadow.close()
    report.tables, report.seconds = len(tables), time.perf_counter() - started
    return report


def verify(
    live_url: str,
    source: Source,
    *,
    read_model: str | None = None,
    cut: bool = True,
    progress: Progress | None = None,
    open_sealed: Callable[[str], str | None] | None = None,
) -> ReplayReport:
    """Rebuild aside and list every difference with the live read models (nothing swapped).

    `open_sealed` (the key store's `Vault.open`) compares sealed values by what they hold."""
    started, report, progress = time.perf_counter(), ReplayReport(), progress or NoProgress()
    tables = tables_of(read_model)
    shadow = Shadow(live_url)
    try:
        with shadow.raw.connect() as connection:
            ceiling = live_watermarks(connection) if cut else None
        feeder = _rebuild(shadow, source, report, progress, ceiling)
        with shadow.live_snapshot() as live:
            _catch_up(feeder, source, cut)(live)
            same = sealed_aware(open_sealed)
            report.differences = list(differences(live, shadow.engine, tables, same))
    finally:
        shadow.close()
    report.tables, report.seconds = len(tables), time.perf_counter() - started
    return report


def as_of(
    live_url: str,
    source: Source,
    instant: datetime,
    output: Path,
    *,
    owner: str | None = None,
    progress: Progress | None = None,
) -> ReplayReport:
    """Rebuild aside from the envelopes that occurred at or before `instant` and write what
    the portal showed then (one owner's, or everything) as JSON to `output`."""
    from services.portal.replay_export import export

    started, report, progress = time.perf_counter(), ReplayReport(), progress or NoProgress()
    shadow = Shadow(live_url, name="portal_asof")
    try:
        _rebuild(shadow, source, report, progress, ceiling=None, until=instant)
        with Session(shadow.engine) as session:
            document = export(session, instant, owner)
        output.write_text(json.dumps(document, indent=2, default=_json_value) + "\n")
        report.tables = len(document["read_models"])
    finally:
        shadow.close()
    report.seconds = time.perf_counter() - started
    return report


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
