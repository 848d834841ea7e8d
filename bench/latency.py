"""Figure 3: a command accepted → its row visible in the portal read model, through Kafka; and
the bare Kafka hop and the commit latency that make up its floor."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from eventsourcing.persistence import StoredEvent

from bench.common import Measure, Report, Sizes, closed_loop, percentile, progress, section
from bench.eventstore import create_raw_table, one_row_commit_ops
from services.billing.application import AccountNotFound, BillingApplication
from services.billing.main import billing_consumer, billing_outbox, build_billing
from services.policy.api import create_policy_api
from services.policy.application import PolicyApplication
from services.policy.main import build_policy, policy_outbox
from services.portal.main import build_read_store, portal_consumer
from shared import personal_data
from shared.contracts.billing import PaymentReceived
from shared.messaging.kafka import KafkaPublisher, ensure_topics
from shared.runtime import run_consumer, run_relay
from shared.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "bench_payment_visible"
# The probe: a trigger on the read model's payments table that notifies at commit. The
# listener thread time-stamps each notification as it arrives (no polling interval).
TRIGGER_SQL = f"""
CREATE OR REPLACE FUNCTION bench_payment_visible() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', NEW.payment_id);
    RETURN NEW;
END $$;
CREATE TRIGGER bench_payment_visible AFTER INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION bench_payment_visible();
"""
CERTIFICATE = "4200000001"
# The back office's issue command, in the shape this bench knows (see `open_account`).
ISSUE_BODY = {
    "certificate_number": CERTIFICATE,
    "product_code": "WL",
    "application_date": "2015-09-18",
    "effective_date": "2015-12-01",
    "premium": "44.00",
    "payment_frequency": "Monthly",
    "payment_method": "Direct Premium Notice",
    "payor_name": "Bench Owner",
    "owner": {
        "party_id": "6e5527cd-c29f-5604-bdcf-b2b3e7355a7d",
        "first_name": "Bench",
        "last_name": "Owner",
        "date_of_birth": "1980-01-01",
        "government_id": "900-00-0001",
        "contact": {
            "address": {"street": ["1 Bench St"], "city": "Tolland", "state": "CT",
                        "zip_code": "06084"},
            "emails": ["bench@example.com"],
        },
    },
    "benefits": [
        {
            "benefit_id": "B1",
            "coverage_code": "WL",
            "status": "Active Premium Paying",
            "effective_date": "2015-12-01",
            "coverage_amount": "10000.00",
            "net_benefit_value": "0.00",
            "insureds": [
                {"insured_id": "I1", "first_name": "Bench", "last_name": "Owner",
                 "relationship": "Owner", "date_of_birth": "1980-01-01"}
            ],
        }
    ],
}  # fmt: skip
AMOUNT = Decimal("44.00")
PERCENTILES = (50, 95, 99)
PAYMENT_RECEIVED = PaymentReceived.event_type


class Arrivals:
    """A thread that LISTENs on the probe's channel and keeps the first arrival time of each
    payload (time.perf_counter, the clock the command thread uses too)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bench-arrivals", daemon=True)

    def start(self) -> None:
        self.thread.start()
        if not self.ready.wait(10) or self.error:
            raise RuntimeError(f"the arrivals listener did not start: {self.error}")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)

    def _run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                self.ready.set()
                while not self.stopping.is_set():
                    for notify in connection.notifies(timeout=0.2):
                        self.seen.setdefault(notify.payload, time.perf_counter())
        except BaseException as exc:
            self.error = exc
            self.ready.set()


class Stamps:
    """When each billing record left the outbox (the relay's read returned) and when the
    portal consumer started on the fetch that holds it: appends only while measuring, parsed
    afterwards."""

    def __init__(self) -> None:
        self.reads: list[tuple[float, list[bytes]]] = []
        self.handles: list[tuple[float, bytes]] = []

    def wrap_outbox(self, outbox) -> None:
        read = outbox.read

        def timed_read(after: int, limit: int = 500):
            records, last = read(after, limit)
            if records:
                self.reads.append((time.perf_counter(), [r.value for r in records]))
            return records, last

        outbox.read = timed_read

    def wrap_core(self, core) -> None:
        handle_batch = core.handle_batch

        async def timed_handle_batch(records) -> None:
            at = time.perf_counter()
            self.handles.extend((at, value) for _, _, _, value, _ in records)
            await handle_batch(records)

        core.handle_batch = timed_handle_batch

    @staticmethod
    def _payment_id(value: bytes) -> str | None:
        envelope = json.loads(value)
        if envelope.get("event_type") != PAYMENT_RECEIVED:
            return None
        return envelope.get("data", {}).get("payment_id")

    def payments(self) -> tuple[dict[str, float], dict[str, float]]:
        read_at: dict[str, float] = {}
        for at, values in self.reads:
            for value in values:
                if payment_id := self._payment_id(value):
                    read_at.setdefault(payment_id, at)
        handled_at: dict[str, float] = {}
        for at, value in self.handles:
            if payment_id := self._payment_id(value):
                handled_at.setdefault(payment_id, at)
        return read_at, handled_at


@dataclass
class Tasks:
    """Relays and consumers as tasks of this loop, each with its own stop event."""

    running: list[tuple[str, asyncio.Task, asyncio.Event]] = field(default_factory=list)

    def start(self, name: str, factory: Callable[[asyncio.Event], Awaitable[None]]) -> None:
        stop = asyncio.Event()
        self.running.append((name, asyncio.create_task(factory(stop), name=name), stop))

    def check(self) -> None:
        for name, task, _ in self.running:
            if task.done():
                exc = task.exception()
                raise RuntimeError(f"{name} stopped: {exc!r}")

    async def stop_all(self) -> None:
        for _, _, stop in self.running:
            stop.set()
        for name, task, _ in self.running:
            try:
                await asyncio.wait_for(task, 30)
            except Exception as exc:
                progress.log(f"[yellow]{name} did not stop cleanly: {exc!r}[/yellow]")
        self.running.clear()


async def eventually(check: Callable[[], object], tasks: Tasks, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks.check()
        result = await asyncio.to_thread(check)
        if result:
            return result
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{what}: not within {timeout}s")


async def open_loop(count: int, rate: float, submit: Callable[[int], Awaitable[None]]):
    """Start `submit(i)` at t0 + i/rate whatever the earlier ones do; answers the lateness
    of each start (s) after all of them finished."""
    start = time.perf_counter() + 0.02
    lateness: list[float] = []
    started: list[asyncio.Future] = []
    for i in range(count):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(time.perf_counter() - at)
        started.append(asyncio.ensure_future(submit(i)))
    await asyncio.gather(*started)
    return lateness


def latencies_ms(sent: dict, seen: dict) -> tuple[list[float], int]:
    values = [(seen[k] - t) * 1000 for k, t in sent.items() if k in seen]
    return values, len(sent) - len(values)


def _ms_summary(values: list[float]) -> dict[str, float]:
    return {
        "min_ms": min(values) if values else None,
        "mean_ms": sum(values) / len(values) if values else None,
        "max_ms": max(values) if values else None,
        **{f"p{q}_ms": percentile(values, q) for q in PERCENTILES},
    }


# --- the pipeline ------------------------------------------------------------------------------


async def open_account(policy: PolicyApplication, billing: BillingApplication) -> str:
    """Issue the certificate through policy's API (billing opens the account when it consumes
    CertificateIssued). If the API rejects this bench's body (the command's shape changed),
    open the account in billing directly, as billing's reaction does: the measured path
    (billing → relay → Kafka → portal) is the same. Answers which way it went."""
    transport = httpx.ASGITransport(app=create_policy_api(policy))
    async with httpx.AsyncClient(transport=transport, base_url="http://policy") as client:
        response = await client.post("/certificates", json=ISSUE_BODY)
    if response.status_code != 201:
        raise RuntimeError(f"the policy API refused the bench certificate: {response.text}")
    return "the policy API (POST /certificates) and the billing consumer"


async def measure_pipeline(report: Report, sizes: Sizes, settings: Settings) -> None:
    # Personal fields are sealed at rest and on the wire: the key store, as composition roots do.
    personal_data.install(personal_data.vault_at(settings.database_url_for("keystore")))
    policy: PolicyApplication = build_policy(settings)
    billing: BillingApplication = build_billing(settings)
    read_engine = build_read_store(settings)
    portal_url = settings.database_url_for("portal")
    with psycopg.connect(portal_url, autocommit=True) as connection:
        connection.execute(TRIGGER_SQL)
    arrivals = Arrivals(portal_url)
    arrivals.start()
    tasks = Tasks()
    commands = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-commands")
    bootstrap = settings.kafka_bootstrap_servers
    try:
        stamps = Stamps()
        payments_outbox = billing_outbox(billing, settings)
        stamps.wrap_outbox(payments_outbox)
        portal_core = portal_consumer(read_engine, settings)
        stamps.wrap_core(portal_core)
        for outbox in (policy_outbox(policy, settings), payments_outbox):
            tasks.start(f"relay {outbox.topic}", lambda s, o=outbox: run_relay(o, bootstrap, s))
        for name, core in (
            ("billing", billing_consumer(billing, settings)),
            ("portal", portal_core),
        ):
            group = settings.topic(name)
            tasks.start(
                f"consumer {name}", lambda s, c=core, g=group: run_consumer(c, bootstrap, g, s)
            )

        number = CERTIFICATE
        how = await open_account(policy, billing)
        report.notes.append(f"figure 3: the billing account was opened by {how}")

        def account_open() -> bool:
            try:
                billing.get_account(number)
            except AccountNotFound:
                return False
            return True

        def account_visible() -> bool:
            with psycopg.connect(portal_url) as connection:
                query = "SELECT 1 FROM billing_accounts WHERE certificate_number = %s"
                return connection.execute(query, (number,)).fetchone() is not None

        await eventually(account_open, tasks, 60, "billing account opened")
        await eventually(account_visible, tasks, 60, "billing account in the portal")

        returned: dict[str, float] = {}
        durations: list[float] = []

        def pay(payment_id: str) -> None:
            t0 = time.perf_counter()
            billing.record_payment(
                number, amount=AMOUNT, transaction_date=date(2016, 1, 5), payment_id=payment_id
            )
            t1 = time.perf_counter()
            returned[payment_id] = t1
            durations.append(t1 - t0)

        loop = asyncio.get_running_loop()

        async def phase(tag: str, count: int) -> tuple[list[str], list[float]]:
            ids = [f"{tag}{i:05d}" for i in range(count)]

            async def submit(i: int) -> None:
                await loop.run_in_executor(commands, pay, ids[i])

            lateness = await open_loop(count, sizes.latency_rate, submit)
            # Wait for the stragglers; whatever has not arrived by then counts as missing.
            with contextlib.suppress(TimeoutError):
                await eventually(
                    lambda: all(i in arrivals.seen for i in ids),
                    tasks,
                    sizes.latency_drain_seconds,
                    f"{tag}: payments visible in the portal",
                )
            return ids, lateness

        await phase("W", sizes.latency_warmup)
        durations.clear()
        ids, lateness = await phase("M", sizes.latency_commands)
        sent = {i: returned[i] for i in ids}
        values, missing = latencies_ms(sent, arrivals.seen)
        if missing:
            report.notes.append(
                f"figure 3: {missing} of {len(sent)} payments were not visible within "
                f"{sizes.latency_drain_seconds:g} s of the last command (left out)"
            )
        detail = {
            **_ms_summary(values),
            "missing": missing,
            "rate_per_s": sizes.latency_rate,
            "warmup_commands": sizes.latency_warmup,
            "command_p50_ms": percentile([d * 1000 for d in durations], 50),
            "command_p99_ms": percentile([d * 1000 for d in durations], 99),
            "start_lateness_p99_ms": percentile([t * 1000 for t in lateness], 99),
            "probe": "LISTEN/NOTIFY from an AFTER INSERT trigger on payments",
            # In sending order, to see whether slow ones come together (a stall) or alone.
            "series_ms": [
                round((arrivals.seen[k] - sent[k]) * 1000, 2) for k in sent if k in arrivals.seen
            ],
        }
        for q in PERCENTILES:
            report.figure(
                "3",
                Measure(
                    f"fig3.p{q}",
                    f"record_payment returned → payment row visible in the portal, p{q}",
                    percentile(values, q),
                    "ms",
                    len(values),
                    len(ids) / sizes.latency_rate,
                    detail if q == 50 else {},
                ),
                f"floor.p{q}",
                f"kafka.hop.p{q}",
                note=f"{sizes.latency_rate:g}/s open loop" if q == 50 else "",
            )
        read_at, handled_at = stamps.payments()
        # Where the time goes: (key, label, from, to, limit compared with).
        stages = (
            ("outbox", "· returned → read by the billing relay", returned, read_at, None),
            ("hop", "· read by the relay → portal consumer", read_at, handled_at, "kafka.hop.p50"),
            (
                "apply",
                "· portal consumer → row committed (probe)",
                handled_at,
                arrivals.seen,
                "raw.commit_latency.fig3",
            ),
        )
        for key, label, start, end, limit in stages:
            spans = [(end[i] - start[i]) * 1000 for i in ids if i in start and i in end]
            report.figure(
                "3",
                Measure(
                    f"fig3.stage.{key}.p50",
                    f"{label}, p50",
                    percentile(spans, 50),
                    "ms",
                    len(spans),
                    detail=_ms_summary(spans),
                ),
                *([limit] if limit else []),
            )
        report.figure(
            "3",
            Measure(
                "fig3.command.p50",
                "record_payment itself (load account, save), p50",
                detail["command_p50_ms"],
                "ms",
                len(durations),
                detail={"p99_ms": detail["command_p99_ms"]},
            ),
            "raw.commit_latency.fig3",
        )
    finally:
        await tasks.stop_all()
        commands.shutdown(wait=True)
        arrivals.stop()
        policy.close()
        billing.close()
        read_engine.dispose()


def measure_commit_latency(report: Report, sizes: Sizes, url: str) -> None:
    """Single-row INSERT+COMMIT latency on the read model's database, 1 thread."""
    create_raw_table(url)
    sample = StoredEvent(uuid.uuid4(), 1, "bench", b"x" * 700)
    connections, ops = one_row_commit_ops(url, sample, 1, lock=False)
    try:
        result = closed_loop(
            ops,
            seconds=sizes.run_seconds,
            max_ops=max(sizes.latency_commands, 300),
            warmup=sizes.warmup_ops,
            latencies=True,
        )
    finally:
        for connection in connections:
            connection.close()
    ms = [t * 1000 for t in result.latencies]
    report.limit(
        Measure(
            "raw.commit_latency.fig3",
            "psycopg 1-row INSERT (autocommit) latency p50, read-model database, 1 thread",
            percentile(ms, 50),
            "ms",
            len(ms),
            result.elapsed,
            _ms_summary(ms),
        )
    )


# --- the bare hop ------------------------------------------------------------------------------


async def measure_bare_hop(report: Report, sizes: Sizes, bootstrap: str, topic: str) -> None:
    """The relay's producer settings (acks=all, idempotent, linger 2 ms) → a consumer in a
    group on a fresh topic; same count and rate as the pipeline."""
    await ensure_topics(bootstrap, [topic])
    publisher = KafkaPublisher(bootstrap)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}.group",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
    )
    received: dict[str, float] = {}
    sent: dict[str, float] = {}
    acks: list[asyncio.Future] = []
    await publisher.start()
    try:
        await consumer.start()

        async def consume() -> None:
            async for message in consumer:
                received.setdefault(message.value.decode(), time.perf_counter())

        reader = asyncio.create_task(consume())
        try:

            async def send(key: str) -> None:
                sent[key] = time.perf_counter()
                acks.append(await publisher.producer.send(topic, key.encode(), key=b"bench"))

            # Until the group has joined and fetches: one probe message every 100 ms.
            deadline = time.monotonic() + 60
            probe = 0
            while not received:
                if time.monotonic() > deadline:
                    raise TimeoutError("the bare consumer received nothing within 60 s")
                await send(f"probe{probe}")
                probe += 1
                await asyncio.sleep(0.1)

            async def phase(tag: str, count: int) -> list[str]:
                keys = [f"{tag}{i:05d}" for i in range(count)]

                async def submit(i: int) -> None:
                    await send(keys[i])

                await open_loop(count, sizes.latency_rate, submit)
                await asyncio.gather(*acks)
                deadline = time.monotonic() + sizes.latency_drain_seconds
                while not all(k in received for k in keys) and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                return keys

            await phase("W", sizes.latency_warmup)
            keys = await phase("M", sizes.latency_commands)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    finally:
        await consumer.stop()
        await publisher.stop()
    values, missing = latencies_ms({k: sent[k] for k in keys}, received)
    summary = {**_ms_summary(values), "missing": missing, "rate_per_s": sizes.latency_rate}
    for q in PERCENTILES:
        report.limit(
            Measure(
                f"kafka.hop.p{q}",
                f"bare aiokafka produce→consume (acks=all, idempotent, group), p{q}",
                percentile(values, q),
                "ms",
                len(values),
                detail=summary if q == 50 else {},
            )
        )


def add_floors(report: Report) -> None:
    """floor.pQ = commit latency p50 + bare hop pQ + read-model commit latency p50."""
    commit = report.limits.get("raw.commit_latency.fig3")
    for q in PERCENTILES:
        hop = report.limits.get(f"kafka.hop.p{q}")
        if commit is None or hop is None or commit.value is None or hop.value is None:
            continue
        report.limit(
            Measure(
                f"floor.p{q}",
                f"floor: commit p50 + bare hop p{q} + read-model commit p50",
                2 * commit.value + hop.value,
                "ms",
                min(commit.samples, hop.samples),
                detail={"commit_p50_ms": commit.value, f"hop_p{q}_ms": hop.value},
            )
        )


async def delete_topics(bootstrap: str, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if topics:
            await admin.delete_topics(topics)
        return topics
    finally:
        await admin.close()


async def run_async(report: Report, sizes: Sizes, databases, base_url: str, bootstrap: str) -> None:
    run_id = databases.run_id
    suffix = f"_bench{run_id}"
    prefix = f"bench{run_id}."
    # identity and keystore: what newer composition roots also open (harmless if unused).
    for name in ("policy", "billing", "portal", "identity", "keystore"):
        databases.create(f"{name}{suffix}")
    settings = Settings(
        PORTAL_MODE="distributed",
        DATABASE_URL=base_url,
        DATABASE_SUFFIX=suffix,
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        TOPIC_PREFIX=prefix,
    )
    try:
        with section(report, "latency: commit latency"):
            await asyncio.to_thread(
                measure_commit_latency, report, sizes, settings.database_url_for("portal")
            )
        with section(report, "latency: pipeline through Kafka"):
            await measure_pipeline(report, sizes, settings)
        with section(report, "latency: bare Kafka hop"):
            await measure_bare_hop(report, sizes, bootstrap, f"{prefix}hop")
        add_floors(report)
    finally:
        with contextlib.suppress(Exception):
            deleted = await delete_topics(bootstrap, prefix)
            progress.log(f"deleted {len(deleted)} topics {prefix}*")


def run(report: Report, sizes: Sizes, databases, base_url: str, bootstrap: str) -> None:
    asyncio.run(run_async(report, sizes, databases, base_url, bootstrap))
