"""A consumer whose effects are rows in its own SQL database (read models, projections).

In one transaction: check the partition position (a redelivered offset is a no-op), check the
per-aggregate version watermark (a re-published event is a no-op: events of one aggregate
arrive in version order, because they share a key and so a partition), apply the handler,
then move both forward.

`apply_many` does the same for a run of deliveries in one transaction (a replay's run, or the
records of one Kafka fetch): the partition positions are locked once, positions and watermarks
are kept in memory through the run and written once, so a consumer pays one commit per run
instead of one per event. Projectors that defer their writes (`deferred_writes.py`) have them
sent together: before the next projector that does not, and before the positions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager as ContextManager
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared.contracts.envelope import Envelope, IntegrationEvent
from shared.faults import crash_point
from shared.messaging.deferred_writes import defer, is_deferring, send_deferred
from shared.messaging.records import Delivery
from shared.sqldb import create_tables
from shared.tracing import tracer

tracking_metadata = MetaData()

consumer_positions = Table(
    "consumer_positions",
    tracking_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, nullable=False),
)

aggregate_watermarks = Table(
    "aggregate_watermarks",
    tracking_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("aggregate_id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
)

# The tracking writes, built once: they are deferred with the projectors' writes and sent in
# the same pipeline (`deferred_writes.py` compiles each statement once).
_NEW_WATERMARK = aggregate_watermarks.insert()
_MOVED_WATERMARK = (
    aggregate_watermarks.update()
    .where(
        aggregate_watermarks.c.consumer == bindparam("consumer_name"),
        aggregate_watermarks.c.aggregate_id == bindparam("aggregate"),
    )
    .values(version=bindparam("new_version"))
)
_NEW_POSITION = consumer_positions.insert()
_MOVED_POSITION = (
    consumer_positions.update()
    .where(
        consumer_positions.c.consumer == bindparam("consumer_name"),
        consumer_positions.c.topic == bindparam("on_topic"),
        consumer_positions.c.partition == bindparam("on_partition"),
    )
    .values(offset=bindparam("new_offset"))
)
_WATERMARKS_OF = select(aggregate_watermarks.c.aggregate_id, aggregate_watermarks.c.version).where(
    aggregate_watermarks.c.consumer == bindparam("consumer"),
    aggregate_watermarks.c.aggregate_id.in_(bindparam("aggregate_ids", expanding=True)),
)

Projector = Callable[[Session, Envelope, IntegrationEvent], None]


class SqlSink:
    def __init__(self, engine: Engine, name: str, projectors: dict[type, Projector]) -> None:
        self.engine = engine
        self.name = name
        self.projectors = projectors
        create_tables(tracking_metadata, engine)

    def position(self, topic: str, partition: int) -> int | None:
        with Session(self.engine) as session:
            return session.scalar(
                select(consumer_positions.c.offset).where(
                    consumer_positions.c.consumer == self.name,
                    consumer_positions.c.topic == topic,
                    consumer_positions.c.partition == partition,
                )
            )

    def skip(self, topic: str, partition: int, offset: int) -> None:
        with Session(self.engine) as session, session.begin():
            self._advance(session, topic, partition, offset)
            send_deferred(session)

    def apply(self, delivery: Delivery) -> bool:
        envelope = delivery.envelope
        projector = self.projectors.get(type(delivery.event)) if delivery.event else None
        with Session(self.engine) as session, session.begin():
            position = self._locked_position(session, delivery.topic, delivery.partition)
            if position is not None and position >= delivery.offset:
                return False
            aggregate_id = str(envelope.aggregate_id)
            watermark = self._watermarks(session, {aggregate_id})[aggregate_id]
            fresh = watermark is None or envelope.aggregate_version > watermark
            if fresh and projector is not None:
                self._project(session, projector, envelope, delivery.event)
            if fresh:
                self._set_watermark(session, aggregate_id, envelope.aggregate_version, watermark)
            self._advance(session, delivery.topic, delivery.partition, delivery.offset, position)
            send_deferred(session)
            crash_point("consumer.in_transaction")
            return fresh and projector is not None

    def apply_many(
        self,
        deliveries: Sequence[Delivery],
        around: Callable[[Delivery], ContextManager[Any]] | None = None,
    ) -> int:
        """Apply `deliveries` in order, in ONE transaction; how many changed the read models.

        Same checks as `apply`, per delivery; `around(delivery)` is entered around each
        projector call (the live consumer's per-message spans). Any error rolls the whole run
        back and raises: the caller applies that run again one by one to find the culprit."""
        if not deliveries:
            return 0
        applied = 0
        with Session(self.engine) as session, session.begin():
            # Positions locked first (in one order, so two members never wait on each other),
            # then the watermarks read: what a member that held the lock before committed is
            # seen by both reads.
            first_positions = {
                where: self._locked_position(session, *where)
                for where in sorted({(d.topic, d.partition) for d in deliveries})
            }
            positions = dict(first_positions)
            watermarks = self._watermarks(
                session, {str(d.envelope.aggregate_id) for d in deliveries}
            )
            first_watermarks = dict(watermarks)
            for delivery in deliveries:
                where = (delivery.topic, delivery.partition)
                position = positions[where]
                if position is not None and position >= delivery.offset:
                    continue
                positions[where] = delivery.offset
                envelope = delivery.envelope
                aggregate_id = str(envelope.aggregate_id)
                watermark = watermarks[aggregate_id]
                if watermark is not None and envelope.aggregate_version <= watermark:
                    continue
                watermarks[aggregate_id] = envelope.aggregate_version
                projector = self.projectors.get(type(delivery.event)) if delivery.event else None
                if projector is None:
                    continue
                if not is_deferring(projector):
                    send_deferred(session)  # what earlier events deferred goes first
                if around is None:  # a replay: no span per event
                    projector(session, envelope, delivery.event)  # type: ignore[arg-type]
                else:
                    with around(delivery):
                        self._project(session, projector, envelope, delivery.event)
                applied += 1
            for aggregate_id, version in watermarks.items():
                before = first_watermarks[aggregate_id]
                if version is not None and version != before:
                    self._set_watermark(session, aggregate_id, version, before)
            for (topic, partition), offset in positions.items():
                if offset is not None and offset != first_positions[(topic, partition)]:
                    self._advance(
                        session, topic, partition, offset, first_positions[(topic, partition)]
                    )
            send_deferred(session)
            crash_point("consumer.in_transaction")
        return applied

    @staticmethod
    def _project(
        session: Session,
        projector: Projector,
        envelope: Envelope,
        event: IntegrationEvent | None,
    ) -> None:
        with tracer.start_as_current_span(
            f"project {envelope.event_type}",
            attributes={
                "event_type": envelope.event_type,
                "aggregate_version": envelope.aggregate_version,
            },
        ):
            projector(session, envelope, event)  # type: ignore[arg-type]

    def _watermarks(self, session: Session, aggregate_ids: set[str]) -> dict[str, int | None]:
        """The watermarks of a run's aggregates in one query (None: none yet)."""
        rows = session.execute(
            _WATERMARKS_OF, {"consumer": self.name, "aggregate_ids": sorted(aggregate_ids)}
        )
        found = {aggregate_id: version for aggregate_id, version in rows}
        return {aggregate_id: found.get(aggregate_id) for aggregate_id in aggregate_ids}

    def _locked_position(self, session: Session, topic: str, partition: int) -> int | None:
        query = select(consumer_positions.c.offset).where(
            consumer_positions.c.consumer == self.name,
            consumer_positions.c.topic == topic,
            consumer_positions.c.partition == partition,
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        return session.scalar(query)

    def _set_watermark(
        self, session: Session, aggregate_id: str, version: int, current: int | None
    ) -> None:
        if current is None:
            row = {"consumer": self.name, "aggregate_id": aggregate_id, "version": version}
            defer(session, _NEW_WATERMARK, row)
        else:
            moved = {"consumer_name": self.name, "aggregate": aggregate_id, "new_version": version}
            defer(session, _MOVED_WATERMARK, moved)

    def _advance(
        self,
        session: Session,
        topic: str,
        partition: int,
        offset: int,
        current: int | None = -1,
    ) -> None:
        if current == -1:
            current = self._locked_position(session, topic, partition)
        if current is None:
            row = {"consumer": self.name, "topic": topic, "partition": partition, "offset": offset}
            defer(session, _NEW_POSITION, row)
        elif offset > current:
            moved = {
                "consumer_name": self.name,
                "on_topic": topic,
                "on_partition": partition,
                "new_offset": offset,
            }
            defer(session, _MOVED_POSITION, moved)
