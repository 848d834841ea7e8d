"""Process plumbing for the distributed mode: a relay process and a consumer process.

Each service's `main.py` (its composition root) builds the objects and calls one of these.

Every role answers `/health`, `/ready` and `/metrics` (`shared/ops.py`): an API on its own
HTTP port; a relay, a consumer or another loop (mailer) on `METRICS_PORT` when that is set
(no ops server otherwise; `docker-compose.yml` sets 9464 in every such container).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
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
from shared.messaging.watchdog import (
    DEFAULT_INTERVAL,
    DEFAULT_STALL_SECONDS,
    RestartableBroker,
    kafka_watchdog,
)
from shared.metrics import persist_progress
from shared.ops import KafkaOffsets, Ops, OpsServer, add_ops_routes, consumer_ops, relay_ops
from shared.settings import Settings

log = logging.getLogger(__name__)


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


@contextlib.asynccontextmanager
async def serving_ops(make_ops: Callable[[], Ops], host: str, port: int | None):
    """Run an ops server (`/health`, `/ready`, `/metrics`) while inside, when `port` is set."""
    if port is None:
        yield None
        return
    server = await OpsServer(make_ops(), host, port).start()
    try:
        yield server
    finally:
        await server.stop()


async def run_relay(
    outbox: Outbox,
    bootstrap: str,
    stop: asyncio.Event | None = None,
    ops_port: int | None = None,
    ops_host: str = "127.0.0.1",
) -> None:
    stop = stop or stop_on_signals()
    await ensure_topics(bootstrap, [outbox.topic, dead_letter_topic(outbox.topic)])
    publisher = KafkaPublisher(bootstrap)
    await publisher.start()
    offsets = KafkaOffsets(bootstrap)
    await offsets.start()
    log.info("relay for %s started", outbox.topic)
    try:
        async with serving_ops(lambda: relay_ops(outbox, offsets), ops_host, ops_port):
            await Relay(outbox, publisher).run_forever(stop)
    finally:
        await offsets.stop()
        await publisher.stop()


def seconds_from_env(name: str, default: float) -> float:
    """A duration from the environment; a value that is not a number ≥ 0 stops the process
    with a message naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also catches nan
        raise SystemExit(f"{name} must be a number of seconds (0 or more), got {raw!r}")
    return value


async def run_consumer(
    core: ConsumerCore,
    bootstrap: str,
    group_id: str | None = None,
    stop: asyncio.Event | None = None,
    ops_port: int | None = None,
    ops_host: str = "127.0.0.1",
    stall_seconds: float | None = None,
    watchdog_interval: float | None = None,
) -> None:
    """Run one consumer group member until stopped (group id: the consumer's name).

    A watchdog (`shared/messaging/watchdog.py`) restarts its Kafka consumer when it is stuck:
    partitions assigned, lag > 0 and no progress for `stall_seconds` (env
    `CONSUMER_STALL_SECONDS`, default 30; 0 turns the watchdog off), checked every
    `watchdog_interval` seconds (env `CONSUMER_WATCHDOG_INTERVAL`, default 5)."""
    stop = stop or stop_on_signals()
    if stall_seconds is None:
        stall_seconds = seconds_from_env("CONSUMER_STALL_SECONDS", DEFAULT_STALL_SECONDS)
    if watchdog_interval is None:
        watchdog_interval = seconds_from_env("CONSUMER_WATCHDOG_INTERVAL", DEFAULT_INTERVAL)
    topics = core.topics + [dead_letter_topic(t) for t in core.topics]
    await ensure_topics(bootstrap, topics)
    publisher = KafkaPublisher(bootstrap)
    await publisher.start()
    core.dead_letters = KafkaDeadLetters(publisher)
    group = group_id or core.name
    broker = RestartableBroker(lambda: build_kafka_consumer(bootstrap, core, group), core.name)
    offsets = KafkaOffsets(bootstrap)
    watchdog = kafka_watchdog(core, offsets, broker, stall_seconds, watchdog_interval)
    progress = asyncio.create_task(persist_progress([core], stop))
    watching: asyncio.Task | None = None
    try:
        await offsets.start()
        await broker.start()
        if stall_seconds > 0:
            watching = asyncio.create_task(watchdog.run(stop))
        log.info("consumer %s started on %s", core.name, core.topics)
        async with serving_ops(
            lambda: consumer_ops(core, offsets, lambda: watchdog.restarts), ops_host, ops_port
        ):
            await stop.wait()
    finally:
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        await broker.stop()
        stop.set()
        await asyncio.gather(progress, return_exceptions=True)
        await offsets.stop()
        await publisher.stop()


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def start_process(service: str, argv: list[str] | None) -> tuple[Settings, str]:
    """The first lines of every service process: settings, role, logging, telemetry, and the
    key store that seals personal fields at rest and on the wire."""
    import sys

    from shared import personal_data
    from shared.telemetry import setup_telemetry

    role = (argv or sys.argv[1:] or ["api"])[0]
    settings = Settings(PORTAL_MODE="distributed")
    configure_logging(settings.log_level)
    setup_telemetry(f"{service}-{role}")
    personal_data.install(personal_data.vault_at(settings.database_url_for("keystore")))
    return settings, role


def api_ops(
    outbox: Callable[[], Outbox] | None, consumer: Callable[[], ConsumerCore] | None
) -> Ops:
    """An API process reports its service's outbox (head vs relay position) and checks its
    database; the portal API (no outbox) checks its read store."""
    if outbox is not None:
        return relay_ops(outbox(), None)
    if consumer is not None:
        core = consumer()
        return Ops(checks={"database": lambda: asyncio.to_thread(core.sink.position, "", 0)})
    return Ops()


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
    metrics_port = int(os.environ["METRICS_PORT"]) if os.environ.get("METRICS_PORT") else None
    host = settings.host
    if role == "api" and api is not None:
        import uvicorn

        app = api()
        add_ops_routes(app, api_ops(outbox, consumer))
        uvicorn.run(app, host=host, port=settings.service_port or port, log_level="warning")
    elif role == "relay" and outbox is not None:
        asyncio.run(run_relay(outbox(), bootstrap, ops_port=metrics_port, ops_host=host))
    elif role == "consumer" and consumer is not None:
        group = settings.topic(service)
        asyncio.run(
            run_consumer(consumer(), bootstrap, group, ops_port=metrics_port, ops_host=host)
        )
    elif others and role in others:
        loop = others[role]

        async def run_other() -> None:
            async with serving_ops(Ops, host, metrics_port):
                await loop()

        asyncio.run(run_other())
    else:
        roles = [
            name
            for name, given in (("api", api), ("relay", outbox), ("consumer", consumer))
            if given
        ]
        roles += list(others or {})
        raise SystemExit(f"unknown role {role!r} for {service}: use {', '.join(roles)}")
