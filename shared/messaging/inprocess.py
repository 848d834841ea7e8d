"""In-process delivery for the embedded mode: the same outboxes, handlers and tracking as with
Kafka, without a broker.

Each topic is backed by its producer's outbox (partition 0, offset = notification id), so a
consumer reads it from its own tracked position — a new read model catches up from the start,
as it would on a Kafka topic. Dead letters go to a table in `var/dlq.sqlite`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, MetaData, String, Table
from sqlalchemy import Text as SqlText
from sqlalchemy.engine import Engine

from shared.messaging.consumer import ConsumerCore
from shared.messaging.doorbell import Doorbell
from shared.messaging.outbox import Outbox
from shared.sqldb import create_tables

log = logging.getLogger(__name__)

_metadata = MetaData()
dead_letters_table = Table(
    "dead_letters",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("consumer", String(100), nullable=False),
    Column("reason", SqlText, nullable=False),
    Column("headers", SqlText, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)


class TableDeadLetters:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(_metadata, engine)

    async def publish(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: bytes,
        headers: dict[str, bytes],
        reason: str,
        consumer: str,
    ) -> None:
        row = {
            "topic": f"{topic}.dlq",
            "partition": partition,
            "offset": offset,
            "consumer": consumer,
            "reason": reason,
            "headers": json.dumps({k: v.decode(errors="replace") for k, v in headers.items()}),
            "value": value,
            "recorded_at": datetime.now(UTC),
        }

        def insert() -> None:
            with self.engine.begin() as connection:
                connection.execute(dead_letters_table.insert().values(**row))

        await asyncio.to_thread(insert)


class InProcessDelivery:
    """Feeds every consumer from the outboxes of the topics it subscribes to."""

    def __init__(self, outboxes: dict[str, Outbox], consumers: list[ConsumerCore]) -> None:
        self.outboxes = outboxes
        self.consumers = consumers

    async def deliver_once(self, batch_size: int = 500) -> int:
        delivered = 0
        for core in self.consumers:
            for topic in core.topics:
                outbox = self.outboxes.get(topic)
                if outbox is None:  # no producer of that topic in this process
                    continue
                position = await asyncio.to_thread(core.sink.position, topic, 0) or 0
                records, last = await asyncio.to_thread(outbox.read, position, batch_size)
                await core.handle_batch(
                    [(topic, 0, r.position, r.value, dict(r.headers)) for r in records]
                )
                delivered += len(records)
                if last > position and (not records or records[-1].position < last):
                    await asyncio.to_thread(core.sink.skip, topic, 0, last)
        return delivered

    async def settle(self, max_rounds: int = 10_000) -> None:
        """Deliver until every consumer has caught up (tests and the demo seed use this)."""
        for _ in range(max_rounds):
            if await self.deliver_once() == 0 and not await self._behind():
                return
        raise RuntimeError("in-process delivery did not settle")

    async def _behind(self) -> bool:
        for core in self.consumers:
            for topic in core.topics:
                if topic not in self.outboxes:
                    continue
                position = await asyncio.to_thread(core.sink.position, topic, 0) or 0
                latest = await asyncio.to_thread(
                    self.outboxes[topic].app.process_recorder.max_notification_id
                )
                if (latest or 0) > position:
                    return True
        return False

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 0.5) -> None:
        """Deliver until stopped; between rounds wait for a save (or poll)."""
        doorbell = Doorbell()
        for outbox in self.outboxes.values():
            doorbell.follow(outbox.app)
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                try:
                    delivered = await self.deliver_once()
                except Exception:
                    log.exception("in-process delivery failed; retrying")
                    delivered = 0
                if not delivered:
                    bell = asyncio.ensure_future(doorbell.wait(idle_seconds))
                    await asyncio.wait({bell, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    bell.cancel()
        finally:
            stopped.cancel()
            doorbell.close()
