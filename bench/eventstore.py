"""Figures 1 and 2: appends to the event store, and the raw PostgreSQL limits beside them."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from bench.common import (
    Measure,
    Report,
    Sizes,
    closed_loop,
    median,
    percentile,
    progress,
    section,
)
from shared.eventstore import ServiceApplication, eventstore_env

RAW_TABLE = "raw_events"
RAW_INSERT = (
    f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, state) "
    "VALUES (%s, %s, %s, %s)"
)
RAW_LOCK = f"LOCK TABLE {RAW_TABLE} IN EXCLUSIVE MODE"
RAW_COPY = (
    f"COPY {RAW_TABLE} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"
)
RECORDERS = ("native", "sqlalchemy")
THREADS = (1, 8)
NAMESPACE = uuid.UUID("5b0e7a55-3c2d-4f7e-9a61-0d3b8c1e2f40")


class IssuedCertificate(Aggregate):
    """A stand-in for policy's `Certificate`: one `Issued` event with the same kind of
    payload (about 650 bytes stored), whatever the policy domain becomes."""

    @staticmethod
    def create_id(certificate_number: str, **_: object) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, certificate_number)

    @event("Issued")
    def __init__(
        self,
        certificate_number: str,
        owner_party_id: uuid.UUID,
        product_code: str,
        product_name: str,
        status: str,
        currency: str,
        application_date: date,
        effective_date: date,
        premium: Decimal,
        payment_frequency: str,
        payment_method: str,
        payor_name: str,
    ) -> None:
        self.certificate_number = certificate_number
        self.owner_party_id = owner_party_id
        self.product_code = product_code
        self.product_name = product_name
        self.status = status
        self.currency = currency
        self.application_date = application_date
        self.effective_date = effective_date
        self.premium = premium
        self.payment_frequency = payment_frequency
        self.payment_method = payment_method
        self.payor_name = payor_name


def new_certificate(number: int) -> IssuedCertificate:
    return IssuedCertificate(
        certificate_number=f"{number:010d}",
        owner_party_id=uuid.uuid5(NAMESPACE, f"party-{number}"),
        product_code="WL",
        product_name="Harborview@Work Whole Life",
        status="Active Premium Paying",
        currency="USD",
        application_date=date(2015, 9, 18),
        effective_date=date(2015, 12, 1),
        premium=Decimal("44.00"),
        payment_frequency="Monthly",
        payment_method="Direct Premium Notice",
        payor_name="Avery Demo",
    )


class BenchStore(ServiceApplication):
    """A service application: the project's mapper, transcodings and process recorder."""

    name = "bench"

    def issue(self, number: int) -> None:
        """One command: a new aggregate, one event, one `save()`."""
        self.save(new_certificate(number))


def sample_stored_event(app: BenchStore) -> StoredEvent:
    """The stored form of one `Issued` event: the row shape of the raw limits."""
    return app.mapper.to_stored_event(new_certificate(1).collect_events()[0])


# --- the raw table -----------------------------------------------------------------------------


def create_raw_table(url: str) -> None:
    """`raw_events`, created by the native recorder's own DDL (same columns, PK, index)."""
    parts = urlsplit(url)
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
    )
    try:
        PostgresApplicationRecorder(datastore, events_table_name=RAW_TABLE).create_table()
    finally:
        datastore.close()


def truncate_raw(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {RAW_TABLE}")
        connection.execute(f"VACUUM ANALYZE {RAW_TABLE}")


def one_row_commit_ops(url: str, sample: StoredEvent, threads: int, lock: bool):
    """One connection per thread. Without lock, each call is one INSERT in autocommit: its own
    transaction and commit, one round trip (the fastest way psycopg has). With lock, each
    call pipelines BEGIN; LOCK TABLE … IN EXCLUSIVE MODE; INSERT; COMMIT."""
    connections = [psycopg.connect(url, autocommit=True) for _ in range(threads)]

    def make(connection: psycopg.Connection):
        def insert() -> None:
            connection.execute(
                RAW_INSERT, (uuid.uuid4(), 1, sample.topic, sample.state), prepare=True
            )

        def locked_insert() -> None:
            with connection.pipeline():
                connection.execute("BEGIN")
                connection.execute(RAW_LOCK, prepare=True)
                insert()
                connection.execute("COMMIT")

        return locked_insert if lock else insert

    return connections, [make(c) for c in connections]


def measure_one_row_commits(report: Report, sizes: Sizes, url: str, sample: StoredEvent) -> None:
    for threads, lock in ((1, False), (8, False), (8, True)):
        truncate_raw(url)
        connections, ops = one_row_commit_ops(url, sample, threads, lock)
        try:
            result = closed_loop(
                ops,
                seconds=sizes.run_seconds,
                max_ops=sizes.run_max_ops,
                warmup=sizes.warmup_ops,
                latencies=threads == 1,
            )
        finally:
            for connection in connections:
                connection.close()
        key = f"raw.commit1.{threads}" + (".lock" if lock else "")
        label = f"psycopg 1-row INSERT (autocommit), {threads} thread(s)"
        if lock:
            label = (
                f"psycopg BEGIN; LOCK TABLE EXCLUSIVE; 1-row INSERT; COMMIT, {threads} threads "
                "(the recorders' lock)"
            )
        report.limit(Measure(key, label, result.rate, "rows/s", result.ops, result.elapsed))
        if threads == 1:
            ms = [t * 1000 for t in result.latencies]
            detail = {"p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99)}
            report.limit(
                Measure(
                    "raw.commit_latency.p50",
                    "psycopg 1-row INSERT (autocommit) latency p50, 1 thread",
                    percentile(ms, 50),
                    "ms",
                    len(ms),
                    result.elapsed,
                    detail,
                )
            )


# --- pgbench -----------------------------------------------------------------------------------


def find_pgbench(server_version: str) -> str | None:
    major = server_version.split(".")[0].split()[0]
    versioned = Path(f"/usr/lib/postgresql/{major}/bin/pgbench")
    if versioned.exists():
        return str(versioned)
    return shutil.which("pgbench")


def measure_pgbench(
    report: Report, sizes: Sizes, url: str, sample: StoredEvent, server_version: str
) -> None:
    pgbench = find_pgbench(server_version)
    if pgbench is None:
        report.notes.append("pgbench not found: its limits are missing")
        return
    parts = urlsplit(url)
    # pgbench reads ":name" as a variable: spell the topic's colons as chr(58).
    topic = "'" + sample.topic.replace("'", "''").replace(":", "' || chr(58) || '") + "'"
    script = (
        f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, state) "
        f"VALUES (gen_random_uuid(), 1, {topic}, '\\x{sample.state.hex()}'::bytea);\n"
    )
    env = {**os.environ, "PGPASSWORD": unquote(parts.password or "")}
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
        script_path = file.name
    try:
        for clients in THREADS:
            truncate_raw(url)
            command = [
                pgbench,
                "--no-vacuum",
                "--protocol=prepared",
                f"--file={script_path}",
                f"--client={clients}",
                f"--jobs={min(clients, os.cpu_count() or 1)}",
                f"--time={sizes.pgbench_seconds}",
                f"--host={parts.hostname or '127.0.0.1'}",
                f"--port={parts.port or 5432}",
                f"--username={unquote(parts.username or 'postgres')}",
                parts.path.lstrip("/"),
            ]
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=env,
                timeout=sizes.pgbench_seconds + 30,
            )
            if done.returncode != 0:
                raise RuntimeError(f"pgbench failed: {done.stderr.strip()[-500:]}")
            tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
            count = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
            latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
            if not tps or not count:
                raise RuntimeError(f"unexpected pgbench output: {done.stdout[-500:]}")
            report.limit(
                Measure(
                    f"raw.pgbench.{clients}",
                    f"pgbench 1-row INSERT (autocommit), {clients} client(s)",
                    float(tps.group(1)),
                    "rows/s",
                    int(count.group(1)),
                    float(sizes.pgbench_seconds),
                    {"latency_avg_ms": float(latency.group(1)) if latency else None},
                )
            )
    finally:
        Path(script_path).unlink(missing_ok=True)


# --- batched -----------------------------------------------------------------------------------


def measure_batched(report: Report, sizes: Sizes, url: str, sample: StoredEvent) -> None:
    """One transaction of `batch_rows` rows, by COPY (binary) and by executemany (pipelined);
    and executemany of 100 rows per transaction, back to back."""
    rates: dict[str, list[float]] = {"copy": [], "executemany": []}
    with psycopg.connect(url, autocommit=True) as connection:
        for _ in range(sizes.batch_repeats):
            for method in rates:
                truncate_raw(url)
                rows = [
                    (uuid.uuid4(), 1, sample.topic, sample.state) for _ in range(sizes.batch_rows)
                ]
                started = time.perf_counter()
                with connection.transaction(), connection.cursor() as cursor:
                    if method == "copy":
                        with cursor.copy(RAW_COPY) as copy:
                            copy.set_types(["uuid", "int8", "text", "bytea"])
                            for row in rows:
                                copy.write_row(row)
                    else:
                        cursor.executemany(RAW_INSERT, rows)
                rates[method].append(len(rows) / (time.perf_counter() - started))
    for method, label in (
        ("copy", "COPY (binary)"),
        ("executemany", "executemany (pipelined) INSERT"),
    ):
        report.limit(
            Measure(
                f"raw.{method}",
                f"psycopg {label}, {sizes.batch_rows} rows in one transaction "
                f"(median of {sizes.batch_repeats})",
                median(rates[method]),
                "rows/s",
                sizes.batch_rows * sizes.batch_repeats,
                detail={"runs_rows_per_s": rates[method]},
            )
        )

    truncate_raw(url)
    n = sizes.batch_events
    connection = psycopg.connect(url, autocommit=True)
    try:

        def op() -> None:
            rows = [(uuid.uuid4(), 1, sample.topic, sample.state) for _ in range(n)]
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(RAW_INSERT, rows)

        result = closed_loop(
            [op], seconds=sizes.batch_seconds, max_ops=sizes.batch_transactions, warmup=1
        )
    finally:
        connection.close()
    report.limit(
        Measure(
            f"raw.executemany{n}",
            f"psycopg executemany INSERT, {n} rows per transaction, 1 thread",
            result.rate * n,
            "rows/s",
            result.ops * n,
            result.elapsed,
            {"transactions": result.ops},
        )
    )


# --- the recorders -----------------------------------------------------------------------------


def measure_recorder(report: Report, sizes: Sizes, url: str, recorder: str) -> None:
    app = BenchStore(env=eventstore_env(url, recorder))
    numbers = itertools.count(1)  # next() on a count is atomic under the GIL
    try:

        def one() -> None:
            app.issue(next(numbers))

        for threads in THREADS:
            result = closed_loop(
                [one] * threads,
                seconds=sizes.run_seconds,
                max_ops=sizes.run_max_ops,
                warmup=sizes.warmup_ops,
            )
            report.figure(
                "1",
                Measure(
                    f"fig1.{recorder}.{threads}",
                    f"{recorder} recorder: 1 new aggregate (1 event) per save(), "
                    f"{threads} thread(s)",
                    result.rate,
                    "events/s",
                    result.ops,
                    result.elapsed,
                ),
                *(
                    [f"raw.commit1.{threads}", "raw.commit1.8.lock", f"raw.pgbench.{threads}"]
                    if threads > 1
                    else [f"raw.commit1.{threads}", f"raw.pgbench.{threads}"]
                ),
            )

        n = sizes.batch_events

        def batch() -> None:
            app.save(*(new_certificate(next(numbers)) for _ in range(n)))

        result = closed_loop(
            [batch], seconds=sizes.batch_seconds, max_ops=sizes.batch_transactions, warmup=1
        )
        report.figure(
            "2",
            Measure(
                f"fig2.{recorder}",
                f"{recorder} recorder: save() of {n} new aggregates (1 event each), 1 thread",
                result.rate * n,
                "events/s",
                result.ops * n,
                result.elapsed,
                {"transactions": result.ops},
            ),
            "raw.copy",
            "raw.executemany100",
        )
    finally:
        app.close()


def run(report: Report, sizes: Sizes, databases, server_version: str) -> None:
    """Figures 1 and 2 with their limits, each part in a section of its own."""
    run_id = databases.run_id
    urls = {r: databases.create(f"bench_{r}_{run_id}") for r in RECORDERS}
    raw_url = databases.create(f"bench_raw_{run_id}")
    sample: StoredEvent | None = None

    with section(report, "event store: raw one-row commits"):
        app = BenchStore(env=eventstore_env(urls["native"], "native"))
        try:
            sample = sample_stored_event(app)
        finally:
            app.close()
        report.notes.append(
            f"raw rows copy one stored {sample.topic} event: {len(sample.state)} bytes of state"
        )
        create_raw_table(raw_url)
        measure_one_row_commits(report, sizes, raw_url, sample)
    if sample is not None:
        with section(report, "event store: pgbench"):
            measure_pgbench(report, sizes, raw_url, sample, server_version)
        with section(report, "event store: raw batched"):
            measure_batched(report, sizes, raw_url, sample)
    for recorder in RECORDERS:
        with section(report, f"event store: {recorder} recorder"):
            measure_recorder(report, sizes, urls[recorder], recorder)
    progress.log("event store figures done")
