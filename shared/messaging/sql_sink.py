"""A consumer whose effects are rows in its own SQL database (read models, projections).

In one transaction: check the partition position (a redelivered offset is a no-op), check the
per-aggregate version watermark (a re-published event is a no-op: events of one aggregate
arrive in version order, because they share a key and so a partition), apply the handler,
then move both forward.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select
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
            watermark = session.scalar(
                select(aggregate_watermarks.c.version).where(
                    aggregate_watermarks.c.consumer == self.name,
                    aggregate_watermarks.c.aggregate_id == aggregate_id,
                )
            )
            fresh = watermark is None or envelope.aggregate_version > watermark
            if fresh and projector is not None:
                with tracer.start_as_current_span(
                    f"project {envelope.event_type}",
                    attributes={
                        "event_type": envelope.event_type,
                        "aggregate_version": envelope.aggregate_version,
                    },
                ):
                    projector(session, envelope, delivery.event)  # type: ignore[arg-type]
            if fresh:
                self._set_watermark(session, aggregate_id, envelope.aggregate_version, watermark)
            self._advance(session, delivery.topic, delivery.partition, delivery.offset, position)
            crash_point("consumer.in_transaction")
            return fresh and projector is not None

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
