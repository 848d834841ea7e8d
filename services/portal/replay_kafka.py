"""`portal replay --from-kafka`: the portal's topics from offset 0, for when its read database
was lost (distributed mode).

A plain aiokafka consumer without a group (no commits, no rebalancing, invisible to the live
consumer groups) is assigned every partition, reads from where the previous call stopped (the
beginning, the first time) up to the end offsets of the moment, and returns the messages
parsed as the live consumer parses them. Each call runs its own event loop (the replay is a
synchronous command) and streams: one `getmany` batch (at most `max_records` messages) is
parsed and handed on before the next is fetched, so memory does not grow with the topics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.portal.replay_sources import parse_or_skip
from shared.messaging.records import Delivery
from shared.personal_data import prefetch_keys_of


class KafkaSource:
    def __init__(
        self, bootstrap: str, topics: list[str], poll_ms: int = 500, max_records: int = 2_000
    ) -> None:
        self.bootstrap = bootstrap
        self.max_records = max_records
        self.topics = topics
        self.poll_ms = poll_ms
        self.next_offsets: dict[TopicPartition, int] = {}

    def totals(self) -> dict[str, int]:
        ends = asyncio.run(self._end_offsets())
        totals = dict.fromkeys(self.topics, 0)
        for partition, end in ends.items():
            totals[partition.topic] += end
        return totals

    def read_new(self) -> Iterator[Delivery]:
        loop = asyncio.new_event_loop()
        try:
            yield from self._stream(loop)
        finally:
            loop.close()

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    async def _started(self) -> AIOKafkaConsumer:
        """A started consumer (made, like every call that touches its state, inside the
        loop: aiokafka binds to the running one)."""
        consumer = self._consumer()
        await consumer.start()
        return consumer

    async def _positioned(
        self, consumer: AIOKafkaConsumer
    ) -> tuple[list[TopicPartition], dict[TopicPartition, int]]:
        """Every partition assigned and placed where the previous call stopped (the
        beginning, the first time); and the end offsets of the moment."""
        partitions = await self._partitions(consumer)
        if not partitions:
            return [], {}
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        beginnings = await consumer.beginning_offsets(partitions)
        for partition in partitions:
            start = self.next_offsets.get(partition, beginnings[partition])
            consumer.seek(partition, start)
            self.next_offsets[partition] = start
        return partitions, ends

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        partitions = []
        for topic in self.topics:
            numbers = consumer.partitions_for_topic(topic)
            if numbers is None:
                await consumer._client.force_metadata_update()
                numbers = consumer.partitions_for_topic(topic) or set()
            partitions += [TopicPartition(topic, n) for n in sorted(numbers)]
        return partitions

    async def _end_offsets(self) -> dict[TopicPartition, int]:
        consumer = self._consumer()
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
            return await consumer.end_offsets(partitions) if partitions else {}
        finally:
            await consumer.stop()

    def _stream(self, loop: asyncio.AbstractEventLoop) -> Iterator[Delivery]:
        consumer = loop.run_until_complete(self._started())
        try:
            partitions, ends = loop.run_until_complete(self._positioned(consumer))
            if not partitions:
                return
            while any(self.next_offsets[p] < ends[p] for p in partitions):
                batches = loop.run_until_complete(
                    consumer.getmany(timeout_ms=self.poll_ms, max_records=self.max_records)
                )
                prefetch_keys_of(m.value for ms in batches.values() for m in ms if m.value)
                for partition, messages in batches.items():
                    for message in messages:
                        if message.offset >= ends[partition]:
                            continue
                        self.next_offsets[partition] = message.offset + 1
                        envelope, event = parse_or_skip(message.value)
                        if envelope is not None:
                            yield Delivery(
                                partition.topic,
                                partition.partition,
                                message.offset,
                                envelope,
                                event,
                            )
        finally:
            loop.run_until_complete(consumer.stop())
