"""Figure 3: a command accepted → its row visible in the portal read model, through Kafka; and
the bare Kafka hop and the commit latency that make up its floor."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from eventsourcing.persistence import StoredEvent

from bench.common import Measure, Report, Sizes, closed_loop, percentile, progress, section
from bench.eventstore import create_raw_table, one_row_commit_ops
from bench.processes import SECRET, ServiceProcesses, create_databases
from services.billing.application import AccountNotFound, BillingApplication
from services.billing.main import build_billing
from services.policy.api import create_policy_api
from services.policy.application import PolicyApplication
from services.policy.main import build_policy
from services.portal.main import build_read_store
from shared import personal_data
from shared.contracts.billing import TOPIC as BILLING_TOPIC
from shared.contracts.billing import PaymentReceived
from shared.messaging.kafka import KafkaPublisher, ensure_topics
from shared.settings import REPO_ROOT, Settings

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
# Payments go round the accounts of these certificates, one after another: a real billing API
# takes payments for many accounts, and one account alone would grow a long history that
# each command reloads (so the commands, not the pipeline, would set the pace).
CERTIFICATES = tuple(f"42000000{i:02d}" for i in range(1, 17))
# The back office's issue command, in the shape this bench knows (see `open_accounts`).
ISSUE_BODY = {
    "certificate_number": CERTIFICATES[0],
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


def _listen(url: str, stopping, sink) -> None:
    """The probe's own process: LISTEN, and send (payload, time.perf_counter()) per first
    notification; its clock is the system-wide monotonic one, the command thread's too.
    Apart from the bench's threads, so that their work does not delay the time stamps."""
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            sink.send(("ready", None))
            seen: set[str] = set()
            while not stopping.is_set():
                for notify in connection.notifies(timeout=0.2):
                    at = time.perf_counter()
                    if notify.payload not in seen:
                        seen.add(notify.payload)
                        sink.send((notify.payload, at))
    except BaseException as exc:
        sink.send(("error", repr(exc)))
    finally:
        sink.send(("stopped", None))


class Arrivals:
    """The first arrival time of each payload on the probe's channel, stamped by a listening
    process (`_listen`) and collected here by a thread."""

    def __init__(self, url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.error: str | None = None
        self.stopping = context.Event()
        self._receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_listen, args=(url, self.stopping, sender), name="bench-arrivals", daemon=True
        )
        self.thread = threading.Thread(target=self._collect, name="bench-arrivals", daemon=True)

    def start(self) -> None:
        self.process.start()
        self.thread.start()
        if not self.ready.wait(30) or self.error:
            raise RuntimeError(f"the arrivals listener did not start: {self.error}")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()

    def _collect(self) -> None:
        while True:
            try:
                payload, at = self._receiver.recv()
            except EOFError:
                break
            if payload == "ready":
                self.ready.set()
            elif payload == "error":
                self.error = at
                self.ready.set()
            elif payload == "stopped":
                break
            else:
                self.seen[payload] = at


class Published:
    """A bench consumer on billing's topic (its own group, from the end): when each payment's
    record was produced by the relay process (the record's CreateTime, the relay's wall
    clock in ms), mapped onto this process's perf_counter."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}.bench-probe",
            auto_offset_reset="latest",
        )
        self.at: dict[str, float] = {}
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()

    async def _read(self) -> None:
        async for message in self.consumer:
            envelope = json.loads(message.value)
            if envelope.get("event_type") != PAYMENT_RECEIVED:
                continue
            payment_id = envelope.get("data", {}).get("payment_id")
            produced = message.timestamp / 1000 - time.time() + time.perf_counter()
            self.at.setdefault(payment_id, produced)


async def eventually(
    check: Callable[[], object], alive: Callable[[], None], timeout: float, what: str
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive()
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


async def open_accounts(policy: PolicyApplication) -> None:
    """Issue the certificates through policy's API; billing opens each account when it
    consumes CertificateIssued."""
    transport = httpx.ASGITransport(app=create_policy_api(policy))
    async with httpx.AsyncClient(transport=transport, base_url="http://policy") as client:
        for number in CERTIFICATES:
            body = {**ISSUE_BODY, "certificate_number": number}
            response = await client.post("/certificates", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"the policy API refused certificate {number}: {response.text}")


# The processes of the distributed topology that carry a payment to the portal (deploy/up.sh's).
PIPELINE = ("policy-relay", "billing-relay", "billing-consumer", "portal-consumer")


async def measure_pipeline(report: Report, sizes: Sizes, settings: Settings) -> None:
    """This process is the billing API's (commands run here, in a thread); the relays and
    consumers are service processes of their own, as `deploy/up.sh` runs them."""
    # Personal fields are sealed at rest and on the wire: the key store, as composition roots do.
    personal_data.install(personal_data.vault_at(settings.database_url_for("keystore")))
    policy: PolicyApplication = build_policy(settings)
    billing: BillingApplication = build_billing(settings)
    read_engine = build_read_store(settings)
    read_engine.dispose()
    portal_url = settings.database_url_for("portal")
    with psycopg.connect(portal_url, autocommit=True) as connection:
        connection.execute(TRIGGER_SQL)
    arrivals = Arrivals(portal_url)
    arrivals.start()
    processes = ServiceProcesses(settings, SECRET, REPO_ROOT / "var" / "bench" / "latency")
    published = Published(settings.kafka_bootstrap_servers, settings.topic(BILLING_TOPIC))
    commands = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-commands")
    try:
        await processes.start(*PIPELINE)
        await published.start()

        def alive() -> None:
            for name in PIPELINE:
                process = processes.supervisor.processes[name].process
                if process is None or process.returncode is not None:
                    raise RuntimeError(f"{name} stopped (see var/bench/latency/{name}.log)")

        await open_accounts(policy)

        def accounts_open() -> bool:
            try:
                for number in CERTIFICATES:
                    billing.get_account(number)
            except AccountNotFound:
                return False
            return True

        def accounts_visible() -> bool:
            with psycopg.connect(portal_url) as connection:
                query = "SELECT count(*) FROM billing_accounts WHERE certificate_number = ANY(%s)"
                found = connection.execute(query, (list(CERTIFICATES),)).fetchone()
                return found is not None and found[0] == len(CERTIFICATES)

        await eventually(accounts_open, alive, 60, "billing accounts opened")
        await eventually(accounts_visible, alive, 60, "billing accounts in the portal")

        returned: dict[str, float] = {}
        durations: list[float] = []

        def pay(i: int, payment_id: str) -> None:
            t0 = time.perf_counter()
            billing.record_payment(
                CERTIFICATES[i % len(CERTIFICATES)],
                amount=AMOUNT,
                transaction_date=date(2016, 1, 5),
                payment_id=payment_id,
            )
            t1 = time.perf_counter()
            returned[payment_id] = t1
            durations.append(t1 - t0)

        loop = asyncio.get_running_loop()

        async def phase(tag: str, count: int) -> tuple[list[str], list[float]]:
            ids = [f"{tag}{i:05d}" for i in range(count)]

            async def submit(i: int) -> None:
                await loop.run_in_executor(commands, pay, i, ids[i])

            lateness = await open_loop(count, sizes.latency_rate, submit)
            # Wait for the stragglers; whatever has not arrived by then counts as missing.
            with contextlib.suppress(TimeoutError):
                await eventually(
                    lambda: all(i in arrivals.seen for i in ids),
                    alive,
                    sizes.latency_drain_seconds,
                    f"{tag}: payments visible in the portal",
                )
            return ids, lateness

        await phase("W", sizes.latency_warmup)
        durations.clear()
        cpu_before, began = processes.cpu_now(), time.perf_counter()
        ids, lateness = await phase("M", sizes.latency_commands)
        service_cpu = processes.cpu_percent_since(cpu_before, time.perf_counter() - began)
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
            # CPU of each service process while measuring (incl. the drain), 100 = one core.
            "service_cpu_percent": service_cpu,
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
        # Where the time goes: (key, label, from, to, limit compared with). The record's
        # CreateTime has a resolution of 1 ms.
        stages = (
            ("outbox", "· returned → produced by the billing relay", returned, published.at, None),
            (
                "consume",
                "· produced → row committed by the portal consumer (probe)",
                published.at,
                arrivals.seen,
                "kafka.hop.p50",
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
        commands.shutdown(wait=True)
        await published.stop()
        peaks = await processes.stop()
        arrivals.stop()
        policy.close()
        billing.close()
    report.notes.append(
        "figure 3: peak RSS (MB) " + ", ".join(f"{k} {v}" for k, v in peaks.items())
    )


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
    settings = Settings(
        PORTAL_MODE="distributed",
        DATABASE_URL=base_url,
        DATABASE_SUFFIX=suffix,
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        TOPIC_PREFIX=prefix,
        PII_HMAC_SECRET=SECRET,
    )
    create_databases(databases, settings)  # every one a service process opens
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
