"""Figure 7: the portal API under load at the largest scale, next to pgbench running the same
SQL, with ingestion running; the processes' memory is sampled throughout (`bench.processes`).

1. The read models were rebuilt from Kafka (`bench.scale`); the live portal consumer is placed
   at the end of the topics that rebuild read (its positions written as it records them), so
   it goes on with what arrives next, as after an operator's rebuild.
2. The processes an owner's visit needs start: identity's API, relay and consumer, the
   portal's API and consumer, policy's, billing's and documents' APIs, billing's relay.
3. `owners` owners of the data set register (identity's three steps, through the portal) and
   log in, once identity's consumer knows their certificates. Then the load waits for that
   consumer to finish the rest of policy's topic (`wait_caught_up`): a backlog being consumed
   is not part of the workload measured.
4. Ingestion: payments posted to billing's API, open loop at `load_ingestion_share` of the
   append capacity measured in this run (figure 1, 8 clients), at most 32 in flight (an
   arrival finding 32 in flight is counted as not sent). Billing's relay publishes them and the
   portal's consumer projects them while the pages are read.
5. `bench.chaos.load.run_load`: `concurrency` owners, the weighted page mix, bounded by count
   and time. Then, with ingestion still running, pgbench with as many clients runs the SQL the
   portal sends for the same pages and owners (`bench.portal_query`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
import psycopg

from bench.chaos.load import run_load
from bench.chaos.owners import OwnerLogin, credentials_step, identity_knows, preferences_step
from bench.common import Measure, Report, Sizes, busy_percent_since, cpu_ticks, progress
from bench.processes import ServiceProcesses
from services.identity.consumers import CONSUMER_NAME as IDENTITY_CONSUMER
from services.identity.consumers import SUBSCRIBED_TOPICS as IDENTITY_TOPICS
from shared.settings import Settings

VISIT = (
    "identity-consumer",
    "identity-relay",
    "identity-api",
    "policy-api",
    "documents-api",
    "portal-consumer",
    "portal-api",
    "billing-api",
    "billing-relay",
)
MAX_IN_FLIGHT = 32
PAY_ON = date(2024, 6, 28)  # the data set's last day


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


async def place_portal_consumer_at_the_end(settings: Settings) -> int:
    """Record, as the portal consumer would, that it is at the end of every partition the
    rebuild read; answers how many partitions."""
    from bench.scale import end_offsets, portal_topics

    ends = await end_offsets(settings.kafka_bootstrap_servers, portal_topics(settings))
    rows = [("portal", p.topic, p.partition, end - 1) for p, end in ends.items() if end > 0]
    with psycopg.connect(_plain(settings.database_url_for("portal"))) as connection:
        connection.cursor().executemany(
            'INSERT INTO consumer_positions (consumer, topic, partition, "offset") '
            "VALUES (%s, %s, %s, %s) ON CONFLICT (consumer, topic, partition) "
            'DO UPDATE SET "offset" = EXCLUDED."offset"',
            rows,
        )
    return len(rows)


async def wait_caught_up(
    settings: Settings, service: str, consumer: str, topics: list[str], timeout: float
) -> float:
    """Wait until `consumer` (a SQL sink of `service`) has recorded the end of every partition
    of `topics` in its database's `consumer_positions`; answers the seconds waited. Identity's
    consumer learns the data set's certificates from policy's topic: the owners the load
    registers are among the first, and the rest of that backlog would otherwise be consumed
    while the pages are measured (45 % of a core at 1M events)."""
    from bench.scale import end_offsets

    began = time.monotonic()
    ends = await end_offsets(settings.kafka_bootstrap_servers, [settings.topic(t) for t in topics])
    wanted = {(p.topic, p.partition): end - 1 for p, end in ends.items() if end > 0}
    url = _plain(settings.database_url_for(service))

    def behind() -> int:
        with psycopg.connect(url) as connection:
            rows = connection.execute(
                'SELECT topic, partition, "offset" FROM consumer_positions WHERE consumer = %s',
                (consumer,),
            ).fetchall()
        done = {(topic, partition): offset for topic, partition, offset in rows}
        return sum(1 for key, last in wanted.items() if done.get(key, -1) < last)

    while await asyncio.to_thread(behind):
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"{service}'s consumer did not catch up with {topics} in time")
        await asyncio.sleep(1.0)
    return time.monotonic() - began


async def register_owners(
    portal: str, identity_database: str, seed: int, count: int, timeout: float = 300.0
) -> list[OwnerLogin]:
    """Register and log in the first `count` owners of the data set (identity must know them
    first: it learns them from policy's CertificateIssued)."""
    from bench.dataset import owner_of

    owners = [owner_of(seed, i) for i in range(count)]
    numbers = [o.certificate_number for o in owners]
    deadline = time.monotonic() + timeout
    while len(await identity_knows(identity_database, numbers)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("identity's consumer did not learn the owners in time")
        await asyncio.sleep(1.0)
    logins: list[OwnerLogin] = []
    async with httpx.AsyncClient(base_url=portal, timeout=30.0) as client:
        answer = await client.get("/api/registration/security-questions")
        answer.raise_for_status()
        questions = list(answer.json()["questions"])
        for owner in owners:
            number = owner.certificate_number
            user_id, password = f"bench{number}", f"Bench-{number}-Owner!"
            step1 = await client.post("/api/registration/personal", json=owner.registration())
            step1.raise_for_status()
            registration = step1.json()["registration_id"]
            chosen = credentials_step(registration, user_id, password, questions)
            (await client.post("/api/registration/credentials", json=chosen)).raise_for_status()
            done = await client.post(
                "/api/registration/preferences", json=preferences_step(registration)
            )
            done.raise_for_status()
            session = await client.post(
                "/api/session", json={"user_id": user_id, "password": password}
            )
            session.raise_for_status()
            login = OwnerLogin(user_id, password, number, session.json()["token"])
            logins.append(login)
        for login in logins:  # the portal answers once its consumer projected the session
            while (await client.get("/api/profile", headers=login.headers)).status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError("the portal did not see the owners' sessions in time")
                await asyncio.sleep(0.5)
    return logins


class Ingestion:
    """Payments posted to billing's API at `rate`/s, open loop, until `stop`."""

    def __init__(self, billing: str, numbers: list[str], rate: float, run_id: str) -> None:
        self.billing, self.numbers, self.rate, self.run_id = billing, numbers, rate, run_id
        self.counts: Counter[str] = Counter()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.started = self.stopped = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._task is not None:
            await self._task
        self.stopped = time.monotonic()
        seconds = self.stopped - self.started
        return {
            "offered_per_s": round(self.rate, 1),
            "seconds": round(seconds, 1),
            "accepted_per_s": round(self.counts["201"] / seconds, 1) if seconds else 0.0,
            **dict(self.counts),
        }

    async def _run(self) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT)
        async with httpx.AsyncClient(base_url=self.billing, timeout=30.0, limits=limits) as http:
            n, began = 0, time.monotonic()
            while not self._stop.is_set():
                n += 1
                self.counts["offered"] += 1
                if len(in_flight) >= MAX_IN_FLIGHT:
                    self.counts["not_sent"] += 1
                else:
                    task = asyncio.create_task(self._pay(http, n))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                delay = began + n / self.rate - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _pay(self, http: httpx.AsyncClient, n: int) -> None:
        number = self.numbers[n % len(self.numbers)]
        body = {
            "amount": str(Decimal("25.00")),
            "transaction_date": PAY_ON.isoformat(),
            "payment_id": f"BENCH{self.run_id}-{n}",
        }
        try:
            answer = await http.post(f"/accounts/{number}/payments", json=body)
            self.counts[str(answer.status_code)] += 1
        except httpx.HTTPError as exc:
            self.counts[type(exc).__name__] += 1


def append_capacity(report: Report) -> tuple[float, str]:
    """Events/s the event store took in this run (figure 1, 8 clients, native recorder)."""
    for row in report.figures:
        if row.measure.key == "fig1.native.8" and row.measure.value:
            return row.measure.value, "fig1.native.8"
    return 1_000.0, "assumed 1,000 events/s (figure 1 was not run)"


async def run(
    report: Report, sizes: Sizes, settings: Settings, processes: ServiceProcesses, scale: str
) -> dict[str, Any]:
    from bench import portal_query
    from bench.dataset import certificate_numbers
    from shared.personal_data import vault_at
    from shared.sqldb import make_engine

    placed = await place_portal_consumer_at_the_end(settings)
    await processes.start(*VISIT)
    portal = processes.url("portal-api")
    owners = await register_owners(
        portal, _plain(settings.database_url_for("identity")), sizes.seed, sizes.load_owners
    )
    caught_up_s = await wait_caught_up(
        settings, "identity", IDENTITY_CONSUMER, IDENTITY_TOPICS, timeout=600.0
    )
    capacity, source = append_capacity(report)
    rate = sizes.load_ingestion_share * capacity
    numbers = certificate_numbers(sizes.seed, min(sizes.load_owners * 4, 2_000))
    ingestion = Ingestion(processes.url("billing-api"), numbers, rate, scale)
    ingestion.start()
    try:
        progress.log(f"load: {len(owners)} owners, ingestion offered {rate:.0f} payments/s")
        cpu_before, ticks, began = processes.cpu_now(), cpu_ticks(), time.perf_counter()
        load = await run_load(
            portal,
            owners,
            concurrency=sizes.load_concurrency,
            max_requests=sizes.load_max_requests,
            max_seconds=sizes.load_seconds,
        )
        cpu = {
            "machine_busy_percent": busy_percent_since(ticks),
            "service_percent_of_a_core": processes.cpu_percent_since(
                cpu_before, time.perf_counter() - began
            ),
        }
        engine = make_engine(settings.database_url_for("portal"))
        vault = vault_at(settings.database_url_for("keystore"))
        try:
            captured = await asyncio.to_thread(
                portal_query.capture_owners, engine, owners, open_sealed=vault.open
            )
        finally:
            engine.dispose()
        with TemporaryDirectory() as directory:
            scripts = portal_query.pgbench_scripts(captured, Path(directory))
            limit = await asyncio.to_thread(
                portal_query.run_pgbench,
                _plain(settings.database_url_for("portal")),
                scripts,
                clients=sizes.load_concurrency,
                seconds=sizes.pgbench_load_seconds,
            )
    finally:
        ingested = await ingestion.stop()
    row = portal_query.compare(load, limit)
    report.limit(
        Measure(
            f"pgbench.portal_sql.p99.{scale}",
            f"pgbench, {sizes.load_concurrency} clients, the portal's SQL for the same pages "
            "and owners (p99 per page)",
            limit.get("p99_ms"),
            "ms",
            limit.get("transactions") or 0,
            sizes.pgbench_load_seconds,
            {"tps": limit.get("tps"), "p50_ms": limit.get("p50_ms")},
        )
    )
    report.figure(
        "7",
        Measure(
            f"fig7.portal_p99.{scale}",
            f"portal API p99, {sizes.load_concurrency} owners, mixed pages, ingestion "
            f"{ingested['accepted_per_s']}/s of {rate:.0f}/s offered ({scale})",
            load.p99_ms,
            "ms",
            load.requests,
            load.seconds,
            {
                "throughput_rps": load.throughput_rps,
                "p50_ms": load.p50_ms,
                "server_errors": load.server_errors,
                "errors_by_status": load.errors_by_status,
                "by_page": load.by_page,
                "cpu_while_loaded": cpu,
            },
        ),
        f"pgbench.portal_sql.p99.{scale}",
    )
    return {
        "comparison": row,
        "ingestion": {**ingested, "capacity_events_per_s": round(capacity, 1), "from": source},
        "owners": len(owners),
        "identity_backlog_waited_s": round(caught_up_s, 1),
        "portal_consumer_partitions_placed": placed,
        "load": load.as_dict(),
        "cpu_while_loaded": cpu,
        "pgbench": {k: v for k, v in limit.items() if k != "by_page"},
    }
