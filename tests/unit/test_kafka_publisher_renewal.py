"""An idempotent producer that failed for good (OutOfOrderSequenceNumber after a broker
restart) is replaced: the batch fails once, the relay's retry goes through a new producer."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber

from shared.messaging.kafka import KafkaPublisher
from shared.messaging.records import OutboundRecord

RECORD = OutboundRecord(position=1, topic="billing.events", key="0000000001", value=b"{}")


class FakeProducer:
    def __init__(self, failure: Exception | None) -> None:
        self.failure, self.started, self.stopped, self.sent = failure, False, False, 0

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic, value, key=None, headers=None) -> asyncio.Future:
        assert self.started
        acknowledged = asyncio.get_running_loop().create_future()
        if self.failure is not None:
            acknowledged.set_exception(self.failure)
        else:
            self.sent += 1
            acknowledged.set_result(None)
        return acknowledged


def publisher_with(monkeypatch, *failures: Exception | None) -> tuple[KafkaPublisher, list]:
    made: list[FakeProducer] = []
    queue = list(failures)

    def new_producer(self) -> FakeProducer:
        made.append(FakeProducer(queue.pop(0) if queue else None))
        return made[-1]

    monkeypatch.setattr(KafkaPublisher, "_new_producer", new_producer)
    return KafkaPublisher("127.0.0.1:9"), made


async def test_a_producer_out_of_sequence_is_replaced_and_the_retry_goes_through(
    monkeypatch,
) -> None:
    publisher, made = publisher_with(monkeypatch, OutOfOrderSequenceNumber())
    await publisher.start()
    with pytest.raises(OutOfOrderSequenceNumber):
        await publisher.publish([RECORD])
    assert publisher.renewals == 1 and made[0].stopped
    await publisher.publish([RECORD])  # the relay's retry
    assert len(made) == 2 and made[1].started and made[1].sent == 1


async def test_a_broker_that_is_away_keeps_the_producer(monkeypatch) -> None:
    publisher, made = publisher_with(monkeypatch, KafkaConnectionError())
    await publisher.start()
    with pytest.raises(KafkaConnectionError):
        await publisher.publish([RECORD])
    assert publisher.renewals == 0 and len(made) == 1
