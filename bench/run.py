"""`make bench`: throughput and latency figures, each next to raw limits measured in the same
run on the same machine (no number is hard-coded), as a table and `bench/results.json`.

    python -m bench.run [--quick] [--only 1,2,3,4,5] [--output bench/results.json]

Needs `DATABASE_URL` (any database of the cluster; the run creates its own) and
`KAFKA_BOOTSTRAP_SERVERS`; `deploy/bench.sh` starts the local ones when they are not set.
Everything runs on loopback. Every loop is bounded by a count and a duration (`bench.common`
FULL and QUICK: `--quick` stays well under a minute, the default under three on two cores).
Each figure lists the limits it is compared with, the primary one first. Ratio = figure /
limit: for a throughput, the fraction of the limit reached; for a latency, times the floor.

Figure 1 — event-store append rate, one event per command.
    `bench.eventstore.BenchStore`, a `ServiceApplication` (the project's mapper, transcodings
    and process recorder) whose command creates one new aggregate and saves it: one `Issued`
    event carrying a certificate's issue data (654 bytes of state), one `save()`, one
    transaction. Back to back in 1 and in 8 threads sharing one application, after a
    warm-up; events/s (= commands/s). For the native recorder (`eventstore_env(url,
    "native")`) and for eventsourcing-sqlalchemy (`eventstore_env(url, "sqlalchemy")`), each
    on a fresh database. (Its own aggregate rather than policy's `issue_certificate`, so the
    figure stays one event per command whatever the policy domain becomes.)
    Limit (a) `raw.commit1.N`: psycopg, one connection per thread, each call one INSERT of one
    row in autocommit (its own transaction and commit: one round trip, psycopg's fastest)
    into `raw_events`, a table created by the native recorder's own DDL (same columns,
    primary key (originator_id, originator_version), bigserial notification_id and its unique
    index), each row a copy of one stored `Issued` event (its topic and its state bytes).
    Also `raw.pgbench.N`: the same INSERT by pgbench (prepared, 1 and 8 clients), when
    pgbench is installed; and for 8 threads `raw.commit1.8.lock`: `BEGIN; LOCK TABLE … IN
    EXCLUSIVE MODE; INSERT; COMMIT` pipelined — the lock both recorders take so that
    notification ids follow commit order, which serialises writers.
    Limit (b) `raw.copy` / `raw.executemany`: one transaction of `batch_rows` such rows by
    binary COPY and by pipelined executemany, median of `batch_repeats` runs.

Figure 2 — event-store append, 100 events per transaction.
    One `save()` of 100 new aggregates (100 events, one transaction; building them included),
    1 thread; events/s. Limits: `raw.copy`, and `raw.executemany100` (100 rows per
    transaction by executemany, back to back).

Figure 3 — command accepted → portal read model visible, through Kafka.
    The distributed topology, as `deploy/up.sh` runs it: policy's and billing's relays and
    the billing and portal consumers are service processes of their own (`bench.processes`),
    on fresh databases and topics under a fresh prefix; this process holds the policy and
    billing applications (the APIs' side). 16 certificates are issued through the policy API
    and their billing accounts waited for (in billing, then in the portal). Then
    `record_payment` runs in one command thread, started open loop at `latency_rate`/s, round
    the 16 accounts: a warm-up, then `latency_commands` measured. Latency: from
    `record_payment` returning to the commit of the payment's row in the portal's `payments`
    table, seen by a process of its own LISTENing to the NOTIFY of an AFTER INSERT trigger the
    bench adds to that table (no polling interval; both ends on the system's monotonic clock).
    p50/p95/p99 in ms, compared with `floor.pQ` = commit latency p50 + bare hop pQ +
    read-model commit latency p50, and with the bare hop `kafka.hop.pQ` alone: aiokafka with
    the relay's producer settings (acks=all, idempotent, linger 2 ms) to a consumer in a group
    on a fresh topic, same count and rate. Commit latency: `raw.commit_latency.fig3`, one-row
    INSERT in autocommit on the read-model database. The rows marked · split the p50 at the
    moment the billing relay produced the record (its CreateTime, 1 ms resolution, read by a
    bench consumer of billing's topic): command returned → produced, and produced → row
    committed by the portal consumer (vs the bare hop). `record_payment`'s own duration is
    shown too, and the CPU each service process used while measuring is in the detail.

Figure 4 — projection throughput without Kafka.
    Billing events generated into a billing event store (`projection_accounts` accounts, each
    opened and paid `projection_payments` times), read back through billing's `Outbox`, then
    fed to the portal's `ConsumerCore.handle_batch` + `SqlSink` (parse, apply, track) in
    fetches of 500, as the Kafka consumer gets them when it has a backlog (one transaction per
    fetch), into an empty read model; events/s. The same fed one by one (one transaction per
    event, the consumer's pace when it keeps up) is in the note. Limits:
    `proj.read_decode`, the same `Outbox.read` pages (read + decode + envelope) alone, median
    of `projection_repeats`; and `raw.commit1.1`, the bound of one commit per event.
    `proj.read` is the bare `select_notifications`.

Figures 5–8 — at scale (`bench.scale`, `--only 5`). The generated data set (`bench.dataset`:
    documented, deterministic seed) at each of `Sizes.scales` (100k events / 1,000 owners and
    1M events / 10,000 owners; the smaller is the first owners of the larger), on fresh
    databases and topics: 5, projection replay (`portal replay`'s code in its own process)
    against raw read + decode and a binary COPY of the rows it produced; 6, rebuild from Kafka
    against a bare aiokafka `getmany` loop, after the services' own relay processes published
    the stores; 7, at the largest scale, the portal API under load (`bench.portal_load`: 50
    registered owners, the chaos load test's page mix, ingestion at 30 % of figure 1's append
    capacity) against pgbench running the portal's SQL for the same pages and owners
    (`bench.portal_query`); 8, the peak RSS of every process started (`bench.processes`).
    Figure 3's arrival rate is 10 % of the same append capacity.

Targets: `bench.targets` turns the figures into the `targets` object of the results (one entry
per row of issue 11's table: value, limit, ratio, target, met, unit) and `growth` (each scale
figure per scale and its change from the smallest scale to the largest).

Also recorded: the machine (nproc, CPU model, memory, Python, package versions, PostgreSQL
version and settings: synchronous_commit, fsync, wal_sync_method, …) and the CPU use of this
process per section and in total (resource.getrusage; 100 % = one core busy; pgbench counts
as a child; PostgreSQL and Kafka are other processes and are not counted). A note flags a
run that started on a busy machine (CPUs over 20 % busy in the 0.5 s before it, from
/proc/stat, or other clients connected to PostgreSQL): its figures may be perturbed.

Exit status 0 — a report: a target not met is a finding, not a failure — even when a
section failed (it is listed under errors); 2 when DATABASE_URL or KAFKA_BOOTSTRAP_SERVERS is
missing. The databases made for the run are dropped at its end (DROP DATABASE … WITH
(FORCE)) and its topics deleted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import eventstore, latency, projection, scale
from bench.common import (
    FULL,
    QUICK,
    Databases,
    Report,
    Sizes,
    machine_info,
    new_run_id,
    progress,
    section,
    total_cpu,
)
from bench.targets import growth, targets

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:,.2f} ms"
    return f"{value:,.0f} {unit}"


def _ratio(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}×" if unit == "ms" else f"{value:.1%}"


def print_report(report: Report, machine: dict[str, Any], wall: float) -> None:
    console = Console(width=None if sys.stdout.isatty() else 150)
    figures = Table(
        title="Figures (ratio = figure / limit; the first limit is the primary one)",
        title_justify="left",
        show_lines=True,
    )
    for column in ("Fig", "Measure", "Value", "n", "Limit", "Limit value", "Ratio"):
        figures.add_column(column, justify="right" if column in ("Value", "n") else "left")
    for row in report.figures:
        compared = report.compared(row)
        label = row.measure.label + (f" [dim]({row.note})[/dim]" if row.note else "")
        figures.add_row(
            row.figure,
            label,
            _number(row.measure.value, row.measure.unit),
            str(row.measure.samples),
            "\n".join(key for key, _, _ in compared) or "—",
            "\n".join(_number(m.value, m.unit) if m else "—" for _, m, _ in compared) or "—",
            "\n".join(_ratio(r, row.measure.unit) for _, _, r in compared) or "—",
        )
    console.print(figures)

    limits = Table(title="Raw limits (same run, same machine)", title_justify="left")
    for column in ("Key", "Measure", "Value", "n"):
        limits.add_column(column, justify="right" if column in ("Value", "n") else "left")
    for measure in report.limits.values():
        limits.add_row(
            measure.key, measure.label, _number(measure.value, measure.unit), str(measure.samples)
        )
    console.print(limits)

    cpu = Table(title="CPU of the bench process (100 % = one core)", title_justify="left")
    for column in ("Section", "Wall s", "CPU s", "CPU %"):
        cpu.add_column(column, justify="left" if column == "Section" else "right")
    for name, use in {**report.cpu, "total": total_cpu(wall)}.items():
        cpu.add_row(
            name,
            f"{use['wall_s']:.1f}",
            f"{use['user_s'] + use['sys_s']:.1f}",
            f"{use['cpu_percent']:.0f}",
        )
    console.print(cpu)

    settings = machine.get("postgresql_settings", {})
    console.print(
        f"Machine: {machine.get('nproc')} CPUs ({machine.get('cpu_model')}), "
        f"Python {machine.get('python')}, PostgreSQL {machine.get('postgresql_version')} "
        f"(synchronous_commit={settings.get('synchronous_commit')}, "
        f"fsync={settings.get('fsync')}); mode {report.sizes.mode}, {wall:.0f} s"
    )
    for note in report.notes:
        console.print(f"[dim]note:[/dim] {note}")
    for error in report.errors:
        console.print(f"[red]error in {error['section']}:[/red] {error['error']}")


def print_targets(rows: dict[str, Any]) -> None:
    console = Console(width=None if sys.stdout.isatty() else 150)
    table = Table(title="Targets (bench/results.json `targets`)", title_justify="left")
    for column in ("Row", "Value", "Limit", "Ratio", "Target", "Met"):
        table.add_column(
            column, justify="right" if column in ("Value", "Limit", "Ratio") else "left"
        )
    for name, row in rows.items():
        unit = row["unit"]
        table.add_row(
            name,
            _number(row["value"], unit),
            _number(row["limit"], unit),
            "—" if row["ratio"] is None else f"{row['ratio']:.3f}×",
            row["target"],
            "[green]yes[/green]" if row["met"] else "[red]no[/red]",
        )
    console.print(table)


def _at_latency_share(report: Report, sizes: Sizes) -> Sizes:
    """Figure 3's arrival rate: `latency_share` of the append capacity figure 1 measured."""
    from bench.portal_load import append_capacity

    capacity, source = append_capacity(report)
    rate = round(sizes.latency_share * capacity, 1)
    report.notes.append(f"figure 3 runs at {rate}/s: {sizes.latency_share:.0%} of {source}")
    return replace(sizes, latency_rate=rate)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test, < 60 s)")
    parser.add_argument(
        "--only",
        default="1,2,3,4,5",
        help="comma-separated figures to run (default: all; 5 = the scale figures 5-8)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results JSON path")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base_url, bootstrap = os.environ.get("DATABASE_URL"), os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not base_url or not bootstrap:
        print("bench: DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS must be set", file=sys.stderr)
        return 2
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    scale_results: dict[str, Any] = {}
    sizes = QUICK if args.quick else FULL
    report = Report(sizes)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # aiokafka warns about retries it then makes (e.g. leadership of a just-made topic).
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    machine = machine_info(base_url, bootstrap)
    busy = machine["cpu_busy_percent_at_start"]
    if (busy or 0) > 20 or machine["other_client_backends_at_start"]:
        report.notes.append(
            f"the machine was not idle at the start (CPUs {busy} % busy, "
            f"{machine['other_client_backends_at_start']} other PostgreSQL clients): "
            "figures may be perturbed"
        )
    databases = Databases(base_url, new_run_id())
    progress.log(f"bench run {databases.run_id}, mode {sizes.mode}, figures {sorted(only)}")
    try:
        # Each part's own sections record failures and carry on; these catch the rest.
        if only & {"1", "2"}:
            with section(report, "figures 1-2 (total)"):
                eventstore.run(report, sizes, databases, machine["postgresql_version"])
        if "3" in only:
            with section(report, "figure 3 (total)"):
                latency.run(
                    report, _at_latency_share(report, sizes), databases, base_url, bootstrap
                )
        if "4" in only:
            with section(report, "figure 4 (total)"):
                projection.run(report, sizes, databases)
        if "5" in only:
            with section(report, "figures 5-8 at scale (total)"):
                scale_results = scale.run(report, sizes, databases, base_url, bootstrap)
    finally:
        dropped = databases.drop_all()
        progress.log(f"dropped {len(dropped)} databases")
    wall = time.perf_counter() - started
    machine["load_average_at_end"] = os.getloadavg()
    if only & {"1", "2"} != {"1", "2"}:
        shown = only | ({"6", "7", "8"} if "5" in only else set())
        report.figures = [r for r in report.figures if r.figure in shown]
    result = {
        "started_at": started_at.isoformat(),
        "duration_s": round(wall, 1),
        "run_id": databases.run_id,
        "mode": sizes.mode,
        "figures_run": sorted(only),
        "machine": machine,
        "targets": targets(report, scale_results),
        "growth": growth(report),
        "scales": scale_results,
        **report.to_json(),
        "cpu_total": total_cpu(wall),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print_report(report, machine, wall)
    print_targets(result["targets"])
    progress.log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
