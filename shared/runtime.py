"""Process plumbing for the distributed mode: a relay process and a consumer process.

Each service's `main.py` (its composition root) builds the objects and calls one of these.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

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
from shared.settings import Settings

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


def start_process(service: str, argv: list[str] | None) -> tuple[Settings, str]:
    """The first lines of every service process: settings, role, logging, telemetry."""
    import sys

    from shared.telemetry import setup_telemetry

    role = (argv or sys.argv[1:] or ["api"])[0]
    settings = Settings(PORTAL_MODE="distributed")
    configure_logging(settings.log_level)
    setup_telemetry(f"{service}-{role}")
    return settings, role


def run_role(
    service: str,
    role: str,
    settings: Settings,
    *,
    port: int,
    api: Callable[[], Any] | None = None,
    outbox: Callable[[], Outbox] | None = None,
    consumer: Callable[[], ConsumerCore] | None = None,
    others: dict[str, Callable[[], Awaitable[None]]] | None = None,
) -> None:
    """Run one role of a service process: its HTTP API, its relay, its consumer group member,
    or another long-running loop (`others`)."""
    bootstrap = settings.kafka_bootstrap_servers
    if role == "api" and api is not None:
        import uvicorn

        uvicorn.run(
            api(), host=settings.host, port=settings.service_port or port, log_level="warning"
        )
    elif role == "relay" and outbox is not None:
        asyncio.run(run_relay(outbox(), bootstrap))
    elif role == "consumer" and consumer is not None:
        asyncio.run(run_consumer(consumer(), bootstrap, settings.topic(service)))
    elif others and role in others:
        asyncio.run(others[role]())
    else:
        roles = [
            name
            for name, given in (("api", api), ("relay", outbox), ("consumer", consumer))
            if given
        ]
        roles += list(others or {})
        raise SystemExit(f"unknown role {role!r} for {service}: use {', '.join(roles)}")
