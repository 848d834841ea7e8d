"""Shared plumbing of the benchmark: sizes, measurements, statistics, databases, CPU use."""

from __future__ import annotations

import math
import os
import platform
import resource
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from rich.console import Console

# Progress goes to stderr; the report table goes to stdout.
progress = Console(stderr=True, highlight=False)


# --- sizes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much each measurement does. Every loop is bounded by a count AND a duration."""

    mode: str
    # Figure 1 and the one-row limits: closed-loop runs.
    run_seconds: float
    run_max_ops: int
    warmup_ops: int
    pgbench_seconds: int
    # Batched INSERT / COPY limit: rows per batch, repeats (median reported).
    batch_rows: int
    batch_repeats: int
    # Figure 2: transactions of 100 events.
    batch_events: int
    batch_transactions: int
    batch_seconds: float
    # Figure 3: open-loop commands through Kafka.
    latency_commands: int
    latency_warmup: int
    latency_rate: float
    latency_drain_seconds: float
    # Figure 4: billing accounts × payments fed to the projection.
    projection_accounts: int
    projection_payments: int
    projection_repeats: int
    # Figures 5-8: the generated data set, (name, owners, events) per scale, smallest first;
    # the portal under load at the largest.
    scales: tuple[tuple[str, int, int], ...] = ()
    seed: int = 11
    load_owners: int = 50
    load_concurrency: int = 50
    load_seconds: float = 60.0
    load_max_requests: int = 40_000
    pgbench_load_seconds: float = 20.0
    load_ingestion_share: float = 0.3  # of the append capacity (figure 1, 8 clients)
    latency_share: float = 0.1  # figure 3's arrival rate, of the same capacity


FULL = Sizes(
    mode="full",
    run_seconds=4.0,
    run_max_ops=20_000,
    warmup_ops=20,
    pgbench_seconds=3,
    batch_rows=20_000,
    batch_repeats=3,
    batch_events=100,
    batch_transactions=60,
    batch_seconds=6.0,
    latency_commands=300,
    latency_warmup=20,
    latency_rate=25.0,
    latency_drain_seconds=30.0,
    projection_accounts=20,
    projection_payments=50,
    projection_repeats=3,
    scales=(("100k", 1_000, 100_000), ("1M", 10_000, 1_000_000)),
)

QUICK = Sizes(
    mode="quick",
    run_seconds=1.0,
    run_max_ops=3_000,
    warmup_ops=5,
    pgbench_seconds=1,
    batch_rows=5_000,
    batch_repeats=1,
    batch_events=100,
    batch_transactions=10,
    batch_seconds=2.0,
    latency_commands=50,
    latency_warmup=5,
    latency_rate=25.0,
    latency_drain_seconds=15.0,
    projection_accounts=5,
    projection_payments=20,
    projection_repeats=1,
    scales=(("2k", 20, 2_000), ("5k", 50, 5_000)),
    load_owners=5,
    load_concurrency=10,
    load_seconds=8.0,
    load_max_requests=2_000,
    pgbench_load_seconds=3.0,
)


# --- measurements -----------------------------------------------------------------------------


@dataclass
class Measure:
    """One measured number: a figure or a raw limit."""

    key: str
    label: str
    value: float | None
    unit: str
    samples: int
    seconds: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class FigureRow:
    """A figure next to the limits it is compared with (keys of raw Measures; the first is
    the primary one)."""

    figure: str
    measure: Measure
    limit_keys: tuple[str, ...]
    note: str = ""


@dataclass
class Report:
    sizes: Sizes
    figures: list[FigureRow] = field(default_factory=list)
    limits: dict[str, Measure] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def limit(self, measure: Measure) -> Measure:
        self.limits[measure.key] = measure
        return measure

    def figure(self, figure: str, measure: Measure, *limit_keys: str, note: str = "") -> Measure:
        self.figures.append(FigureRow(figure, measure, limit_keys, note))
        return measure

    def compared(self, row: FigureRow) -> list[tuple[str, Measure | None, float | None]]:
        """(key, limit, figure / limit) for each limit of the row (limit None if not run)."""
        out = []
        for key in row.limit_keys:
            limit = self.limits.get(key)
            ratio = None
            if limit is not None and limit.value and row.measure.value is not None:
                ratio = row.measure.value / limit.value
            out.append((key, limit, ratio))
        return out

    def to_json(self) -> dict[str, Any]:
        figures = []
        for row in self.figures:
            compared = [
                {"key": key, "value": limit.value if limit else None, "ratio": ratio}
                for key, limit, ratio in self.compared(row)
            ]
            primary = compared[0] if compared else {}
            figures.append(
                {
                    "figure": row.figure,
                    **asdict(row.measure),
                    "limit_key": primary.get("key"),
                    "limit_value": primary.get("value"),
                    "ratio": primary.get("ratio"),
                    "compared_with": compared,
                    "note": row.note,
                }
            )
        return {
            "sizes": asdict(self.sizes),
            "figures": figures,
            "limits": [asdict(m) for m in self.limits.values()],
            "errors": self.errors,
            "cpu": self.cpu,
            "notes": self.notes,
        }


def _rusage() -> tuple[float, float, float, float]:
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime, me.ru_stime, kids.ru_utime, kids.ru_stime


@contextmanager
def section(report: Report, name: str) -> Iterator[None]:
    """Time a part of the run, record its CPU use, and keep going if it fails."""
    progress.log(f"[bold]{name}[/bold] …")
    before, started = _rusage(), time.perf_counter()
    try:
        yield
    except Exception as exc:
        report.errors.append({"section": name, "error": f"{type(exc).__name__}: {exc}"[:2000]})
        progress.log(f"[red]{name} failed:[/red] {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
    finally:
        wall = time.perf_counter() - started
        after = _rusage()
        user, system = after[0] - before[0], after[1] - before[1]
        report.cpu[name] = {
            "wall_s": round(wall, 3),
            "user_s": round(user, 3),
            "sys_s": round(system, 3),
            "children_user_s": round(after[2] - before[2], 3),
            "children_sys_s": round(after[3] - before[3], 3),
            # 100 = one core busy for the whole section.
            "cpu_percent": round(100 * (user + system) / wall, 1) if wall else 0.0,
        }


def total_cpu(wall: float) -> dict[str, float]:
    u, s, cu, cs = _rusage()
    return {
        "wall_s": round(wall, 3),
        "user_s": round(u, 3),
        "sys_s": round(s, 3),
        "children_user_s": round(cu, 3),
        "children_sys_s": round(cs, 3),
        "cpu_percent": round(100 * (u + s) / wall, 1) if wall else 0.0,
    }


# --- statistics ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float:
    return percentile(values, 50)


@dataclass
class Throughput:
    ops: int
    elapsed: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.ops / self.elapsed if self.elapsed else 0.0


def closed_loop(
    operations: list[Callable[[], object]],
    *,
    seconds: float,
    max_ops: int,
    warmup: int,
    latencies: bool = False,
) -> Throughput:
    """Run each operation in a thread of its own, back to back, after `warmup` calls each;
    stop at `seconds` or when the threads together did `max_ops`. Answers ops and elapsed."""
    n = len(operations)
    per_thread = max(1, math.ceil(max_ops / n))
    barrier = threading.Barrier(n + 1)
    counts = [0] * n
    timings: list[list[float]] = [[] for _ in range(n)]
    failures: list[BaseException] = []

    def body(i: int) -> None:
        op = operations[i]
        try:
            for _ in range(warmup):
                op()
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        deadline = time.perf_counter() + seconds
        done = 0
        try:
            while done < per_thread:
                t0 = time.perf_counter()
                if t0 >= deadline:
                    break
                op()
                done += 1
                if latencies:
                    timings[i].append(time.perf_counter() - t0)
        except BaseException as exc:
            failures.append(exc)
        counts[i] = done

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):
        barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return Throughput(sum(counts), elapsed, [t for ts in timings for t in ts])


# --- databases ---------------------------------------------------------------------------------


def database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class Databases:
    """Databases created for this run; `drop_all` removes them (DROP DATABASE … WITH FORCE)."""

    def __init__(self, base_url: str, run_id: str) -> None:
        self.base_url = base_url
        self.run_id = run_id
        self.created: list[str] = []

    def create(self, name: str) -> str:
        with psycopg.connect(self.base_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return database_url(self.base_url, name)

    def drop_all(self) -> list[str]:
        dropped = []
        with psycopg.connect(self.base_url, autocommit=True) as connection:
            for name in reversed(self.created):
                try:
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    dropped.append(name)
                except psycopg.Error as exc:
                    progress.log(f"[yellow]could not drop {name}: {exc}[/yellow]")
        self.created = [n for n in self.created if n not in dropped]
        return dropped


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


# --- machine -----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total_mb() -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def cpu_ticks() -> tuple[int, int] | None:
    """All CPUs' (total, idle + iowait) ticks so far, from /proc/stat."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        return sum(values), values[3] + (values[4] if len(values) > 4 else 0)
    except (OSError, ValueError, IndexError):
        return None


def busy_percent_since(before: tuple[int, int] | None) -> float | None:
    """How busy all CPUs were since `before` (`cpu_ticks`; 100 = all cores)."""
    after = cpu_ticks()
    if before is None or after is None:
        return None
    total = after[0] - before[0]
    return round(100 * (total - (after[1] - before[1])) / total, 1) if total else None


def machine_cpu_busy_percent(seconds: float = 0.5) -> float | None:
    """How busy all CPUs were over the next `seconds` (100 = all cores)."""
    before = cpu_ticks()
    time.sleep(seconds)
    return busy_percent_since(before)


PG_SETTINGS = (
    "synchronous_commit",
    "fsync",
    "wal_sync_method",
    "full_page_writes",
    "shared_buffers",
    "max_connections",
    "commit_delay",
)

PACKAGES = (
    "eventsourcing",
    "eventsourcing-sqlalchemy",
    "psycopg",
    "SQLAlchemy",
    "aiokafka",
    "faststream",
)


def machine_info(base_url: str, kafka_bootstrap: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "nproc_available": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "cpu_model": _cpu_model(),
        "memory_total_mb": _memory_total_mb(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "kafka_bootstrap_servers": kafka_bootstrap,
        "packages": {},
    }
    for package in PACKAGES:
        try:
            info["packages"][package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info["packages"][package] = None
    info["load_average_at_start"] = os.getloadavg()
    info["cpu_busy_percent_at_start"] = machine_cpu_busy_percent()
    with psycopg.connect(base_url, autocommit=True) as connection:
        # Other clients of the cluster when the run starts (e.g. a test-suite running on the
        # same infrastructure): if there are any, the figures are perturbed.
        info["other_client_backends_at_start"] = connection.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()[0]
        info["postgresql_version"] = connection.execute("SHOW server_version").fetchone()[0]
        info["postgresql_version_full"] = connection.execute("SELECT version()").fetchone()[0]
        info["postgresql_settings"] = {
            name: connection.execute(f"SHOW {name}").fetchone()[0] for name in PG_SETTINGS
        }
    return info
