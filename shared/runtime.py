"""Process plumbing for the distributed mode: a relay process and a consumer process.

Each service's `main.py` (its composition root) builds the objects and calls one of these.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from shared.messaging.consumer import ConsumerCore
from shared.messaging.kafka import (
    KafkaDeadLetters,
    KafkaPublisher,
    build_kafka_consumer,
    dead_letter_topic,
    ensure_topics,
)
from shared.messaging.outbox import Outbox
from shared.messaging.relay import Relay

log = logging.getLogger(__name__)


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run_relay(outbox: Outbox, bootstrap: str, stop: asyncio.Event | None = None) -> None:
    stop = stop or stop_on_signals()
    await ensure_topics(bootstrap, [outbox.topic, dead_letter_topic(outbox.topic)])
    publisher = KafkaPublisher(bootstrap)
    await publisher.start()
    log.info("relay for %s started", outbox.topic)
    try:
        await Relay(outbox, publisher).run_forever(stop)
    finally:
        await publisher.stop()


async def run_consumer(
    core: ConsumerCore,
    bootstrap: str,
    group_id: str | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run one consumer group member until stopped (group id: the consumer's name)."""
    stop = stop or stop_on_signals()
    topics = core.topics + [dead_letter_topic(t) for t in core.topics]
    await ensure_topics(bootstrap, topics)
    publisher = KafkaPublisher(bootstrap)
    await publisher.start()
    core.dead_letters = KafkaDeadLetters(publisher)
    broker = build_kafka_consumer(bootstrap, core, group_id=group_id or core.name)
    try:
        await broker.start()
        log.info("consumer %s started on %s", core.name, core.topics)
        await stop.wait()
    finally:
        await broker.stop()
        await publisher.stop()


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
