"""The faults the harness injects, one kind per function, and the wait for recovery after each.

A fault is injected, healed (where it is a state, such as a stopped broker or delayed
connections), and then the harness waits until the system has caught up: every relay has
published its outbox as it stood at the heal, and every consumer group has consumed its topics
as they stood once the relays had. That wait is the fault's recovery time.

Crash-point kills (`shared/faults.py`) need traffic to reach the armed line: a point that was
not reached within `ARM_TIMEOUT` is disarmed and the fault is not counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import psycopg
from aiokafka import AIOKafkaProducer

from bench.chaos.invariants import Poison
from bench.chaos.observer import Observer
from bench.chaos.topology import Topology
from shared.faults import arm_file
from shared.messaging.sql_sink import SqlSink

log = logging.getLogger(__name__)

ARM_TIMEOUT = 30.0
RELAYS = ("policy", "billing", "claims", "documents", "identity")
BUSY_RELAYS = ("policy", "billing", "documents", "claims")
CONSUMERS = ("policy", "billing", "claims", "documents", "identity", "portal")
BURSTY_CONSUMERS = ("portal", "documents", "billing")
REACTING_CONSUMERS = ("billing", "documents", "claims", "identity", "portal")
APIS = ("policy", "billing", "claims", "documents", "identity", "portal")


@dataclass
class FaultRecord:
    kind: str
    target: str
    injected_at: float  # seconds since the run started
    healed_after_s: float
    recovery_s: float | None = None
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Context:
    topology: Topology
    observer: Observer
    rng: random.Random
    started: float
    poison: list[Poison] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    producer: AIOKafkaProducer | None = None

    @property
    def supervisor(self):
        return self.topology.supervisor

    def now(self) -> float:
        return time.monotonic() - self.started


Injector = Callable[[Context], Awaitable[FaultRecord | None]]


# --- processes ------------------------------------------------------------------------------


async def _wait_for_exit(ctx: Context, name: str, exits_before: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    entry = ctx.supervisor.processes[name]
    while time.monotonic() < deadline:
        process = entry.process
        if len(entry.exits) > exits_before or (process and process.returncode is not None):
            return True
        await asyncio.sleep(0.1)
    return False


async def _crash_at(ctx: Context, kind: str, name: str, point: str, count: int = 1):
    """Arm `point` in process `name` and wait for it to die there (None if never reached)."""
    path: Path = arm_file(ctx.topology.control_dir, name, point)
    entry = ctx.supervisor.processes[name]
    exits_before = len(entry.exits)
    started = time.monotonic()
    path.write_text(str(count))
    died = await _wait_for_exit(ctx, name, exits_before, ARM_TIMEOUT)
    if not died:
        path.unlink(missing_ok=True)
        log.info("%s: %s never reached %s; not counted", kind, name, point)
        return None
    injected = ctx.now()
    return FaultRecord(kind, name, injected, time.monotonic() - started, detail={"point": point})


def crash_fault(
    kind: str, groups: tuple[str, ...], role: str, point: str, counts: tuple[int, int] = (1, 1)
) -> Injector:
    """`kill -9` of one of `groups`' `role` process when it reaches `point`; with `counts`
    (n, m), at a random n-th to m-th pass (the middle of a burst)."""

    async def inject(ctx: Context) -> FaultRecord | None:
        name = f"{ctx.rng.choice(groups)}-{role}"
        count = ctx.rng.randint(*counts)
        record = await _crash_at(ctx, kind, name, point, count)
        if record and count > 1:
            record.detail["after_messages"] = count
        return record

    return inject


async def _kill9(ctx: Context, kind: str, name: str):
    started = time.monotonic()
    if not ctx.supervisor.signal(name, signal.SIGKILL):
        return None
    return FaultRecord(kind, name, ctx.now(), time.monotonic() - started)


def kill9_fault(kind: str, groups: tuple[str, ...], role: str) -> Injector:
    """`kill -9` of one of `groups`' `role` process at a random moment (an API is then waited
    for until it answers again, so the workload's commands are not all refused)."""

    async def inject(ctx: Context) -> FaultRecord | None:
        name = f"{ctx.rng.choice(groups)}-{role}"
        record = await _kill9(ctx, kind, name)
        if record and role == "api":
            await ctx.supervisor.wait_healthy([name], timeout=90)
        return record

    return inject


async def watchdog_restarts(ctx: Context, name: str) -> float | None:
    spec = ctx.supervisor.processes[name].spec
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            text = (await client.get(f"{spec.url}/metrics")).text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if line.startswith("worksite_consumer_watchdog_restarts_total"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def stuck_consumer(ctx: Context):
    """A handler that never returns: the consumer's watchdog must notice and restart it."""
    group = ctx.rng.choice(("portal", "documents", "billing", "identity"))
    name = f"{group}-consumer"
    path = arm_file(ctx.topology.control_dir, name, "consumer.stall")
    entry = ctx.supervisor.processes[name]
    exits_before = len(entry.exits)
    before = await watchdog_restarts(ctx, name)
    started = time.monotonic()
    path.write_text("1")
    deadline = started + ARM_TIMEOUT
    while path.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if path.exists():
        path.unlink(missing_ok=True)
        return None
    stalled_at = ctx.now()
    # The watchdog restarts the consumer in the process (counter up) or exits the process
    # for the supervisor to restart (an exit): either is a detection.
    limit = float(ctx.topology.env["CONSUMER_STALL_SECONDS"]) + 60
    detected = None
    while time.monotonic() - started < limit:
        after = await watchdog_restarts(ctx, name)
        if len(entry.exits) > exits_before:
            detected = "process restarted"
            break
        if before is not None and after is not None and after > before:
            detected = "consumer restarted in process"
            break
        await asyncio.sleep(0.5)
    if detected is None:
        ctx.violations.append(f"watchdog: {name} stalled and was not restarted within {limit}s")
    record = FaultRecord("stuck_consumer", name, stalled_at, time.monotonic() - started)
    record.detail["detected"] = detected
    return record


# --- broker and database --------------------------------------------------------------------


async def broker_restart(ctx: Context):
    started = time.monotonic()
    injected = ctx.now()
    await ctx.topology.infra.stop_kafka()
    await asyncio.sleep(ctx.rng.uniform(0.5, 3.0))
    await ctx.topology.infra.start_kafka()
    return FaultRecord("broker_restart", "kafka", injected, time.monotonic() - started)


async def broker_kill9(ctx: Context):
    started = time.monotonic()
    injected = ctx.now()
    await ctx.topology.infra.kill_kafka()
    await asyncio.sleep(ctx.rng.uniform(0.5, 3.0))
    await ctx.topology.infra.start_kafka()
    return FaultRecord("broker_kill9", "kafka", injected, time.monotonic() - started)


async def pg_terminate_backends(ctx: Context):
    started = time.monotonic()
    url = ctx.topology.infra.database_url
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        cursor = await connection.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        row = await cursor.fetchone()
    record = FaultRecord("pg_terminate_backends", "postgres", ctx.now(), time.monotonic() - started)
    record.detail["terminated"] = row[0] if row else 0
    return record


async def pg_restart(ctx: Context):
    started = time.monotonic()
    injected = ctx.now()
    await ctx.topology.infra.restart_postgres()
    return FaultRecord("pg_restart", "postgres", injected, time.monotonic() - started)


# --- connections through the proxies ---------------------------------------------------------


def _proxy(ctx: Context, which: str):
    infra = ctx.topology.infra
    return infra.kafka_proxy if which == "kafka" else infra.pg_proxy


async def _drop(ctx: Context, kind: str, which: str):
    started = time.monotonic()
    dropped = await _proxy(ctx, which).drop_connections()
    record = FaultRecord(kind, which, ctx.now(), 0.0)
    record.detail["connections"] = dropped
    record.healed_after_s = time.monotonic() - started
    return record


async def kafka_connections_dropped(ctx: Context):
    return await _drop(ctx, "kafka_connections_dropped", "kafka")


async def pg_connections_dropped(ctx: Context):
    return await _drop(ctx, "pg_connections_dropped", "postgres")


async def _delay(ctx: Context, kind: str, which: str):
    proxy = _proxy(ctx, which)
    delay = ctx.rng.choice((0.02, 0.05, 0.1, 0.25))
    seconds = ctx.rng.uniform(2.0, 6.0)
    started = time.monotonic()
    injected = ctx.now()
    await proxy.set_delay(delay)
    try:
        await asyncio.sleep(seconds)
    finally:
        await proxy.set_delay(0.0)
    record = FaultRecord(kind, which, injected, time.monotonic() - started)
    record.detail["delay_s"] = delay
    return record


async def kafka_connections_delayed(ctx: Context):
    return await _delay(ctx, "kafka_connections_delayed", "kafka")


async def pg_connections_delayed(ctx: Context):
    return await _delay(ctx, "pg_connections_delayed", "postgres")


async def _partition(ctx: Context, kind: str, which: str):
    """Drop every connection and refuse new ones for a few seconds (a network partition)."""
    proxy = _proxy(ctx, which)
    seconds = ctx.rng.uniform(1.0, 5.0)
    started = time.monotonic()
    injected = ctx.now()
    await proxy.set_refusing(True)
    dropped = await proxy.drop_connections()
    try:
        await asyncio.sleep(seconds)
    finally:
        await proxy.set_refusing(False)
    record = FaultRecord(kind, which, injected, time.monotonic() - started)
    record.detail["connections"] = dropped
    return record


async def kafka_partition(ctx: Context):
    return await _partition(ctx, "kafka_partition", "kafka")


async def pg_partition(ctx: Context):
    return await _partition(ctx, "pg_partition", "postgres")


# --- forced redelivery and poison -------------------------------------------------------------


async def _stopped(ctx: Context, name: str) -> bool:
    """SIGTERM `name` and keep the supervisor from restarting it; False if it would not stop."""
    ctx.supervisor.hold(name)
    entry = ctx.supervisor.processes[name]
    exits = len(entry.exits)
    ctx.supervisor.signal(name, signal.SIGTERM)
    if not await _wait_for_exit(ctx, name, exits, 30):
        ctx.supervisor.signal(name, signal.SIGKILL)
        await _wait_for_exit(ctx, name, exits, 10)
    return True


def _rewind_consumer(ctx: Context, group: str, by: int) -> int:
    """Move the consumer's recorded positions back `by` offsets on every partition."""
    url = ctx.observer.settings.database_url_for(group)
    core = ctx.observer.consumers[group]
    with psycopg.connect(url, autocommit=True) as connection:
        if isinstance(core.sink, SqlSink):
            cursor = connection.execute(
                'UPDATE consumer_positions SET "offset" = greatest("offset" - %s, -1)'
                " WHERE consumer = %s",
                (by, core.name),
            )
        else:
            table = core.sink.app.process_recorder.tracking_table_name
            cursor = connection.execute(
                f'UPDATE "{table}" SET notification_id = greatest(notification_id - %s, -1)'
                " WHERE application_name LIKE %s",
                (by, f"{core.name}:%"),
            )
        return cursor.rowcount


def _rewind_relay(ctx: Context, service: str, by: int) -> int:
    url = ctx.observer.settings.database_url_for(service)
    with psycopg.connect(url, autocommit=True) as connection:
        table = ctx.observer.outboxes[service].app.process_recorder.tracking_table_name
        cursor = connection.execute(
            f'UPDATE "{table}" SET notification_id = greatest(notification_id - %s, 0)'
            " WHERE application_name = 'outbox:kafka'",
            (by,),
        )
        return cursor.rowcount


async def redelivery_consumer_rewind(ctx: Context):
    group = ctx.rng.choice(CONSUMERS)
    name = f"{group}-consumer"
    by = ctx.rng.randint(5, 60)
    started = time.monotonic()
    injected = ctx.now()
    await _stopped(ctx, name)
    try:
        rows = await asyncio.to_thread(_rewind_consumer, ctx, group, by)
    finally:
        ctx.supervisor.release(name)
    record = FaultRecord("redelivery_consumer_rewind", name, injected, time.monotonic() - started)
    record.detail.update(offsets_back=by, partitions=rows)
    return record


async def redelivery_relay_rewind(ctx: Context):
    service = ctx.rng.choice(BUSY_RELAYS)
    name = f"{service}-relay"
    by = ctx.rng.randint(5, 60)
    started = time.monotonic()
    injected = ctx.now()
    await _stopped(ctx, name)
    try:
        await asyncio.to_thread(_rewind_relay, ctx, service, by)
    finally:
        ctx.supervisor.release(name)
    record = FaultRecord("redelivery_relay_rewind", name, injected, time.monotonic() - started)
    record.detail["notifications_back"] = by
    return record


async def poison_message(ctx: Context):
    """An unparseable, an unknown or an invalid message on a live topic."""
    if ctx.producer is None:
        ctx.producer = AIOKafkaProducer(
            bootstrap_servers=ctx.topology.infra.bootstrap, acks="all", request_timeout_ms=15000
        )
        await ctx.producer.start()
    topic = ctx.rng.choice(ctx.observer.topics)
    marker = f"chaos-poison-{uuid.uuid4().hex}"
    form = ctx.rng.choice(("not-json", "unknown-type", "invalid-payload"))
    if form == "not-json":
        value = f"\x00\xff{marker} is not an envelope".encode("latin-1")
    else:
        envelope = {
            "event_id": str(uuid.uuid4()),
            "event_type": "NoSuchEvent" if form == "unknown-type" else "CertificateIssued",
            "schema_version": 1 if form == "unknown-type" else 2,
            "occurred_at": "2026-11-22T00:00:00+00:00",
            "aggregate_id": str(uuid.uuid4()),
            "aggregate_version": 1,
            "certificate_number": "0000999999",
            "data": {"marker": marker},
        }
        value = json.dumps(envelope).encode()
    started = time.monotonic()
    await ctx.producer.send_and_wait(topic, value, key=b"0000999999")
    ctx.poison.append(Poison(topic, marker))
    record = FaultRecord("poison_message", topic, ctx.now(), time.monotonic() - started)
    record.detail["form"] = form
    return record


INJECTORS: dict[str, Injector] = {
    "kill_relay_before_publish": crash_fault(
        "kill_relay_before_publish", BUSY_RELAYS, "relay", "relay.before_publish"
    ),
    "kill_relay_mid_publish": crash_fault(
        "kill_relay_mid_publish", BUSY_RELAYS, "relay", "relay.mid_publish"
    ),
    "kill_relay_after_publish": crash_fault(
        "kill_relay_after_publish", BUSY_RELAYS, "relay", "relay.after_publish"
    ),
    "kill_consumer_in_transaction": crash_fault(
        "kill_consumer_in_transaction", REACTING_CONSUMERS, "consumer", "consumer.in_transaction"
    ),
    "kill_consumer_after_commit": crash_fault(
        "kill_consumer_after_commit", CONSUMERS, "consumer", "consumer.after_commit"
    ),
    "kill_consumer_mid_batch": crash_fault(
        "kill_consumer_mid_batch", BURSTY_CONSUMERS, "consumer", "consumer.after_commit", (3, 40)
    ),
    "kill9_relay": kill9_fault("kill9_relay", RELAYS, "relay"),
    "kill9_consumer": kill9_fault("kill9_consumer", CONSUMERS, "consumer"),
    "kill9_api": kill9_fault("kill9_api", APIS, "api"),
    "stuck_consumer": stuck_consumer,
    "broker_restart": broker_restart,
    "broker_kill9": broker_kill9,
    "pg_terminate_backends": pg_terminate_backends,
    "pg_restart": pg_restart,
    "kafka_connections_dropped": kafka_connections_dropped,
    "pg_connections_dropped": pg_connections_dropped,
    "kafka_connections_delayed": kafka_connections_delayed,
    "pg_connections_delayed": pg_connections_delayed,
    "kafka_partition": kafka_partition,
    "pg_partition": pg_partition,
    "redelivery_consumer_rewind": redelivery_consumer_rewind,
    "redelivery_relay_rewind": redelivery_relay_rewind,
    "poison_message": poison_message,
}

# Faults that take the broker away cost ~10 s each: fewer of them in a full run.
HEAVY = {"broker_restart", "broker_kill9", "pg_restart"}


async def wait_recovered(ctx: Context, timeout: float) -> float | None:
    """Seconds until relays and consumers caught up with where things stood now; None if not
    within `timeout` (the caller records a violation)."""
    started = time.monotonic()
    deadline = started + timeout
    phase_heads = None
    while time.monotonic() < deadline:
        try:
            if phase_heads is None:
                phase_heads = await ctx.observer.heads()
            lag = await ctx.observer.lag(phase_heads)
            relays_done = not any(v for k, v in lag.items() if k.endswith("-relay"))
            if relays_done:
                # Re-read the topics' ends once the relays caught up: the records they
                # published since must be consumed too.
                final = await ctx.observer.heads()
                final = type(final)(phase_heads.outboxes, final.ends)
                while time.monotonic() < deadline:
                    if await ctx.observer.caught_up(final) and all(ctx.supervisor.alive().values()):
                        return time.monotonic() - started
                    await asyncio.sleep(0.25)
                return None
        except Exception as exc:  # the database or broker still away: look again
            log.debug("recovery check failed: %s", exc)
        await asyncio.sleep(0.25)
    return None
