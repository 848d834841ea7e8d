"""A consumer whose effects are rows in its own SQL database (read models, projections).

In one transaction: check the partition position (a redelivered offset is a no-op), check the
per-aggregate version watermark (a re-published event is a no-op: events of one aggregate
arrive in version order, because they share a key and so a partition), apply the handler,
then move both forward.

`apply_many` does the same for a run of deliveries in one transaction (a replay's run, or the
records of one Kafka fetch): the partition positions are locked once, positions and watermarks
are kept in memory through the run and written once, so a consumer pays one commit per run
instead of one per event.
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

    def apply(self, delivery: Delivery) -> bool:
        envelope = delivery.envelope
        projector = self.projectors.get(type(delivery.event)) if delivery.event else None
        with Session(self.engine) as session, session.begin():
            position = self._locked_position(session, delivery.topic, delivery.partition)
            if position is not None and position >= delivery.offset:
                return False
            aggregate_id = str(envelope.aggregate_id)
            watermark = self._watermark(session, aggregate_id)
            fresh = watermark is None or envelope.aggregate_version > watermark
            if fresh and projector is not None:
                self._project(session, projector, envelope, delivery.event)
            if fresh:
                self._set_watermark(session, aggregate_id, envelope.aggregate_version, watermark)
            self._advance(session, delivery.topic, delivery.partition, delivery.offset, position)
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
        positions: dict[tuple[str, int], int | None] = {}
        first_positions: dict[tuple[str, int], int | None] = {}
        with Session(self.engine) as session, session.begin():
            watermarks = self._watermarks(
                session, {str(d.envelope.aggregate_id) for d in deliveries}
            )
            first_watermarks = dict(watermarks)
            for delivery in deliveries:
                where = (delivery.topic, delivery.partition)
                if where not in positions:
                    found = self._locked_position(session, *where)
                    positions[where] = first_positions[where] = found
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
                if around is None:  # a replay: no span per event
                    projector(session, envelope, delivery.event)  # type: ignore[arg-type]
                else:
                    with around(delivery):
                        self._project(session, projector, envelope, delivery.event)
                applied += 1
            self._write_watermarks(session, watermarks, first_watermarks)
            for (topic, partition), offset in positions.items():
                if offset is not None and offset != first_positions[(topic, partition)]:
                    self._advance(
                        session, topic, partition, offset, first_positions[(topic, partition)]
                    )
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

    def _write_watermarks(
        self, session: Session, now: dict[str, int | None], before: dict[str, int | None]
    ) -> None:
        """Insert the new watermarks and update the moved ones, each as one executemany."""
        table = aggregate_watermarks
        new = [
            {"consumer": self.name, "aggregate_id": aggregate_id, "version": version}
            for aggregate_id, version in now.items()
            if before[aggregate_id] is None and version is not None
        ]
        moved = [
            {"aggregate": aggregate_id, "new_version": version}
            for aggregate_id, version in now.items()
            if before[aggregate_id] is not None and version != before[aggregate_id]
        ]
        if new:
            session.execute(table.insert(), new)
        if moved:
            session.execute(
                table.update()
                .where(
                    table.c.consumer == self.name,
                    table.c.aggregate_id == bindparam("aggregate"),
                )
                .values(version=bindparam("new_version")),
                moved,
            )

    def _watermarks(self, session: Session, aggregate_ids: set[str]) -> dict[str, int | None]:
        """The watermarks of a run's aggregates in one query (None: none yet)."""
        rows = session.execute(
            _WATERMARKS_OF, {"consumer": self.name, "aggregate_ids": sorted(aggregate_ids)}
        )
        found = {aggregate_id: version for aggregate_id, version in rows}
        return {aggregate_id: found.get(aggregate_id) for aggregate_id in aggregate_ids}

    def _watermark(self, session: Session, aggregate_id: str) -> int | None:
        return session.scalar(
            select(aggregate_watermarks.c.version).where(
                aggregate_watermarks.c.consumer == self.name,
                aggregate_watermarks.c.aggregate_id == aggregate_id,
            )
        )

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
        table = aggregate_watermarks
        if current is None:
            session.execute(
                table.insert().values(
                    consumer=self.name, aggregate_id=aggregate_id, version=version
                )
            )
        else:
            session.execute(
                table.update()
                .where(table.c.consumer == self.name, table.c.aggregate_id == aggregate_id)
                .values(version=version)
            )

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
        table = consumer_positions
        if current is None:
            session.execute(
                table.insert().values(
                    consumer=self.name, topic=topic, partition=partition, offset=offset
                )
            )
        elif offset > current:
            session.execute(
                table.update()
                .where(
                    table.c.consumer == self.name,
                    table.c.topic == topic,
                    table.c.partition == partition,
                )
                .values(offset=offset)
            )
