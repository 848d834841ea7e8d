"""Kafka transport: the relay's idempotent producer, dead letters, topics, and the FastStream
consumer whose partitions are sought to the positions tracked in the consumer's database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    TopicAlreadyExistsError,
    UnknownProducerId,
)
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from shared.faults import crash_point
from shared.messaging.consumer import ConsumerCore, connectivity_backoff, is_connectivity_error
from shared.messaging.records import OutboundRecord

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 3
FETCH_MAX_WAIT_MS = 20
# A batch subscriber's `getmany` returns as soon as records are buffered; after an empty poll
# FastStream sleeps this long before polling again, so it bounds the extra wait of a record
# that arrives after a quiet spell. Measured (bench figure 3, quick): command → read model p50
# 48 ms at 10 ms, 26 ms at 2 ms; an idle consumer's CPU 2.9 % at 10 ms, 3.1 % at 2 ms.
BATCH_POLL_MS = 2
MAX_BATCH = 500


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int = DEFAULT_PARTITIONS):
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=partitions, replication_factor=1)
            for name in topics
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


# Errors after which an idempotent producer cannot go on: its sequence numbers or producer id
# no longer match the broker's (seen after a broker restart: every later send failed with
# OutOfOrderSequenceNumber and the relay retried forever). A new producer starts afresh.
FATAL_PRODUCER_ERRORS = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    ProducerFenced,
    ProducerClosed,
)


class KafkaPublisher:
    """`acks=all`, idempotent; `publish` returns once every record is acknowledged.

    After an error no idempotent producer recovers from, the producer is replaced by a new
    one (started at the next send) and the error raised: the relay sends the batch again,
    and consumers are idempotent to what the old producer did get through."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.producer = self._new_producer()
        self._started = False
        self.renewals = 0

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=15000,
        )

    async def start(self) -> None:
        await self.producer.start()
        self._started = True

    async def stop(self) -> None:
        await self.producer.stop()

    async def ready(self) -> AIOKafkaProducer:
        """The producer, started (a renewed one starts here)."""
        if not self._started:
            await self.start()
        return self.producer

    async def renew(self) -> None:
        old, self.producer, self._started = self.producer, self._new_producer(), False
        self.renewals += 1
        with contextlib.suppress(Exception):
            await old.stop()

    @contextlib.asynccontextmanager
    async def renewing(self) -> AsyncIterator[AIOKafkaProducer]:
        """The producer, started; an error it does not recover from renews it, then is raised."""
        try:
            yield await self.ready()
        except FATAL_PRODUCER_ERRORS as exc:
            log.warning("producer failed for good (%s); a new one takes over", exc)
            await self.renew()
            raise

    async def publish(self, records: list[OutboundRecord]) -> None:
        async with self.renewing() as producer:
            futures = [
                await producer.send(r.topic, r.value, key=r.key.encode(), headers=list(r.headers))
                for r in records
            ]
            await asyncio.gather(*futures[: max(1, len(futures) // 2)])
            crash_point("relay.mid_publish")
            await asyncio.gather(*futures)


class KafkaDeadLetters:
    def __init__(self, publisher: KafkaPublisher) -> None:
        self.publisher = publisher

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
        dlq_headers = [(k, v) for k, v in headers.items() if k not in ("dlq_reason",)]
        dlq_headers += [
            ("dlq_reason", reason[:2000].encode()),
            ("dlq_consumer", consumer.encode()),
            ("dlq_source", f"{topic}:{partition}:{offset}".encode()),
        ]
        async with self.publisher.renewing() as producer:
            future = await producer.send(
                dead_letter_topic(topic),
                value,
                key=f"{topic}:{partition}".encode(),
                headers=dlq_headers,
            )
            await future


class _SeekToTrackedPositions(ConsumerRebalanceListener):
    """On assignment, continue each partition from the consumer's own database.

    The partitions are paused first, before anything is awaited, and resumed once every one is
    sought. Otherwise aiokafka starts fetching them from the group's committed offsets while the
    positions are read, and those run ahead of the database (FastStream acknowledges a fetch
    before it is applied): a record applied from there moves the database's position past the
    records of a handler the watchdog cancelled, and the seek that follows skips them. `make
    chaos` lost two events that way (a stuck consumer restarted while more records waited)."""

    def __init__(self, core: ConsumerCore) -> None:
        self.core = core
        self.subscriber = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self.subscriber.consumer  # type: ignore[union-attr]
        partitions = sorted(assigned)
        consumer.pause(*partitions)
        positions = await self._positions(partitions)
        for tp in partitions:
            position = positions[tp]
            if position is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, position + 1)
            log.info(
                "%s: %s[%s] continues after %s", self.core.name, tp.topic, tp.partition, position
            )
        consumer.resume(*partitions)

    async def _positions(
        self, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, int | None]:
        """Every partition's tracked position; a database that is away is waited for (the
        partitions stay paused meanwhile)."""

        def read() -> dict[TopicPartition, int | None]:
            return {tp: self.core.sink.position(tp.topic, tp.partition) for tp in partitions}

        attempt = 0
        while True:
            try:
                return await asyncio.to_thread(read)
            except Exception as exc:
                if not is_connectivity_error(exc):
                    raise
                log.warning("%s: database unavailable (%s); retrying", self.core.name, exc)
                await asyncio.sleep(connectivity_backoff(attempt))
                attempt += 1


def build_kafka_consumer(bootstrap: str, core: ConsumerCore, group_id: str) -> KafkaBroker:
    """A FastStream broker with one batch subscriber that feeds the records of each fetch to
    `core.handle_batch` (one transaction per fetch for a sink that can apply a run)."""
    broker = KafkaBroker(bootstrap, client_id=group_id, logger=log)
    listener = _SeekToTrackedPositions(core)
    subscriber = broker.subscriber(
        *core.topics,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK_FIRST,
        listener=listener,
        batch=True,
        max_records=MAX_BATCH,
        batch_timeout_ms=BATCH_POLL_MS,
        # aiokafka fetches only partitions with nothing buffered; a fetch of the idle ones is
        # held by the broker up to this long, and new records for the busy partition wait for
        # it. 500 ms (the default) made visible bursts every ~0.6 s under steady load.
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    listener.subscriber = subscriber

    @subscriber
    async def handle(message: KafkaMessage) -> None:
        # The raw records, not FastStream's decoded bodies: parsing (and dead-lettering what
        # does not parse) is the consumer core's job.
        records = message.raw_message
        await core.handle_batch(
            [
                (r.topic, r.partition, r.offset, r.value, dict(r.headers or ()))
                for r in records  # type: ignore[union-attr]
            ]
        )

    return broker
