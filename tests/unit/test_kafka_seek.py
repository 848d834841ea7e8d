"""The rebalance listener of the Kafka consumer: every assigned partition is paused before
anything is awaited, sought to the position in the consumer's own database, and only then
resumed, so nothing is fetched from the group's committed offsets (which run ahead of the
database) in between."""

from __future__ import annotations

import psycopg
from aiokafka import TopicPartition

from shared.messaging import kafka as kafka_module
from shared.messaging.kafka import _SeekToTrackedPositions

ASSIGNED = {TopicPartition("policy.events", p) for p in range(3)} | {
    TopicPartition("billing.events", 0)
}


class FakeConsumer:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.paused: set[TopicPartition] = set()

    def pause(self, *partitions: TopicPartition) -> None:
        self.calls.append(("pause", set(partitions)))
        self.paused |= set(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.calls.append(("resume", set(partitions)))
        self.paused -= set(partitions)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        assert tp in self.paused, f"{tp} sought while fetchable"
        self.calls.append(("seek", tp, offset))

    async def seek_to_beginning(self, tp: TopicPartition) -> None:
        assert tp in self.paused, f"{tp} sought while fetchable"
        self.calls.append(("beginning", tp))


class Sink:
    """Positions: policy.events[p] at 10 + p, billing.events never applied."""

    name = "portal"

    def __init__(self, consumer: FakeConsumer, away: int = 0) -> None:
        self.consumer = consumer
        self.away = away

    def position(self, topic: str, partition: int) -> int | None:
        assert self.consumer.paused == ASSIGNED, "positions read while partitions fetchable"
        if self.away:
            self.away -= 1
            raise psycopg.OperationalError("the database system is starting up")
        return 10 + partition if topic == "policy.events" else None


class Core:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.name = sink.name


class Subscriber:
    def __init__(self, consumer: FakeConsumer) -> None:
        self.consumer = consumer


def listener(away: int = 0) -> tuple[_SeekToTrackedPositions, FakeConsumer]:
    consumer = FakeConsumer()
    seeker = _SeekToTrackedPositions(Core(Sink(consumer, away)))  # type: ignore[arg-type]
    seeker.subscriber = Subscriber(consumer)  # type: ignore[assignment]
    return seeker, consumer


async def test_partitions_are_paused_until_every_one_is_sought() -> None:
    seeker, consumer = listener()
    await seeker.on_partitions_assigned(set(ASSIGNED))
    assert consumer.calls[0] == ("pause", ASSIGNED)
    assert consumer.calls[-1] == ("resume", ASSIGNED)
    sought = consumer.calls[1:-1]
    assert sorted(sought, key=repr) == sorted(
        [("seek", TopicPartition("policy.events", p), 11 + p) for p in range(3)]
        + [("beginning", TopicPartition("billing.events", 0))],
        key=repr,
    )
    assert consumer.paused == set()


async def test_a_database_away_is_waited_for_with_the_partitions_paused(monkeypatch) -> None:
    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr(kafka_module.asyncio, "sleep", no_wait)
    seeker, consumer = listener(away=2)
    await seeker.on_partitions_assigned(set(ASSIGNED))
    assert [call[0] for call in consumer.calls].count("seek") == 3
    assert consumer.calls[-1] == ("resume", ASSIGNED)
