"""`make chaos`: faults under a realistic workload on the distributed topology, then the
invariants, then a load test of the portal API; prints a table and writes `bench/chaos.json`.

    python -m bench.chaos.run [--profile full|small] [--seed N] [--output bench/chaos.json]

`full` injects at least 200 faults (every kind many times) within ~40 minutes on a 2-core
machine; `small` (run inside `make test` by tests/integration/test_chaos.py) injects each kind
once. See bench/chaos/faults.py for the kinds and bench/chaos/invariants.py for the checks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.chaos import faults
from bench.chaos.faults import HEAVY, INJECTORS, Context, FaultRecord, wait_recovered
from bench.chaos.invariants import check_all
from bench.chaos.load import run_load
from bench.chaos.observer import Observer
from bench.chaos.topology import Topology
from bench.chaos.workload import Workload
from shared.settings import REPO_ROOT

log = logging.getLogger("chaos")


@dataclass(frozen=True)
class Profile:
    name: str
    faults: int  # faults to inject (each counted only once it really happened)
    fault_minutes: float  # the fault phase stops here even if `faults` is not reached
    owners: int  # certificates issued before the faults start
    registered: int  # owners registered on the portal (owner commands, the load test)
    rate: float  # workload commands per second, while the faults run
    stall_seconds: float  # the consumers' watchdog threshold (CONSUMER_STALL_SECONDS)
    recovery_timeout: float  # a fault not recovered from within this is a violation
    final_timeout: float  # lag back to 0 after the last fault, or a violation
    load_concurrency: int
    load_requests: int
    load_seconds: float
    heavy_every: int  # broker/database restarts in one round out of this many


FULL = Profile(
    name="full",
    faults=230,
    fault_minutes=36,
    owners=40,
    registered=12,
    rate=3.0,
    stall_seconds=8,
    recovery_timeout=120,
    final_timeout=180,
    load_concurrency=50,
    load_requests=6000,
    load_seconds=60,
    heavy_every=2,
)
SMALL = Profile(
    name="small",
    faults=len(INJECTORS),
    fault_minutes=10,
    owners=8,
    registered=3,
    rate=3.0,
    stall_seconds=5,
    recovery_timeout=120,
    final_timeout=180,
    load_concurrency=20,
    load_requests=600,
    load_seconds=20,
    heavy_every=1,
)
PROFILES = {p.name: p for p in (FULL, SMALL)}


def schedule(profile: Profile, rng: random.Random):
    """Fault kinds in shuffled rounds (every kind once per round, the heavy ones only in one
    round out of `heavy_every`), endlessly."""
    round_number = 0
    while True:
        kinds = [k for k in INJECTORS if k not in HEAVY or round_number % profile.heavy_every == 0]
        rng.shuffle(kinds)
        yield from kinds
        round_number += 1


async def fault_phase(ctx: Context, profile: Profile) -> list[FaultRecord]:
    records: list[FaultRecord] = []
    deadline = time.monotonic() + profile.fault_minutes * 60
    misses: Counter[str] = Counter()
    for kind in schedule(profile, ctx.rng):
        if len(records) >= profile.faults or time.monotonic() > deadline:
            break
        if profile.name == "small" and any(r.kind == kind for r in records):
            continue
        try:
            record = await INJECTORS[kind](ctx)
        except Exception as exc:
            log.exception("injecting %s failed", kind)
            ctx.violations.append(f"harness: injecting {kind} failed: {exc!r}")
            record = None
        if record is None:
            misses[kind] += 1
            continue
        record.recovery_s = await wait_recovered(ctx, profile.recovery_timeout)
        if record.recovery_s is None:
            ctx.violations.append(
                f"no-recovery: {kind} on {record.target} at {record.injected_at:.0f}s:"
                f" not caught up within {profile.recovery_timeout:.0f}s"
            )
        records.append(record)
        log.info(
            "fault %d/%d %s on %s: healed after %.1fs, recovered in %s s",
            len(records),
            profile.faults,
            kind,
            record.target,
            record.healed_after_s,
            f"{record.recovery_s:.1f}" if record.recovery_s is not None else "—",
        )
        await asyncio.sleep(ctx.rng.uniform(0.0, 1.0))
    if profile.name == "small":  # a crash point never reached: try it again once
        for kind in [k for k in INJECTORS if not any(r.kind == k for r in records)]:
            record = await INJECTORS[kind](ctx)
            if record is not None:
                record.recovery_s = await wait_recovered(ctx, profile.recovery_timeout)
                records.append(record)
    return records


async def run(profile: Profile, seed: int, state_dir: Path) -> dict[str, Any]:
    started = time.monotonic()
    topology = Topology(state_dir, stall_seconds=profile.stall_seconds)
    report: dict[str, Any] = {"profile": profile.name, "seed": seed}
    observer: Observer | None = None
    ctx: Context | None = None
    try:
        log.info("starting the topology under %s", state_dir)
        await topology.start()
        observer = Observer(topology.settings())
        await observer.start()
        workload = Workload(
            topology.endpoints,
            seed=seed,
            first_certificate=400001,
            owners=profile.owners,
            register_fraction=profile.registered / profile.owners,
            rate=profile.rate,
        )
        log.info("workload set-up: %d certificates, %d owners", profile.owners, profile.registered)
        await workload.setup()
        ctx = Context(topology, observer, random.Random(seed), started=time.monotonic())
        stop = asyncio.Event()
        ingestion = asyncio.create_task(workload.run(stop))
        records = await fault_phase(ctx, profile)
        log.info("faults done (%d); load test while ingestion runs", len(records))
        await wait_recovered(ctx, profile.recovery_timeout)
        load = await run_load(
            topology.endpoints.portal,
            workload.owners,
            concurrency=profile.load_concurrency,
            max_requests=profile.load_requests,
            max_seconds=profile.load_seconds,
        )
        stop.set()
        await ingestion
        last_fault = time.monotonic()
        final = await wait_recovered(ctx, profile.final_timeout)
        if final is None:
            ctx.violations.append(
                f"lag-not-zero: consumers or relays still behind {profile.final_timeout:.0f}s"
                " after the last fault"
            )
        log.info("checking the invariants")
        findings = await check_all(observer, workload.acknowledged, ctx.poison)
        violations = ctx.violations + findings.violations
        if load.server_errors:
            violations.append(f"load: {load.server_errors} server errors (5xx or connection)")
        recoveries = [r.recovery_s for r in records if r.recovery_s is not None]
        restarts = {n: e.restarts for n, e in topology.supervisor.processes.items() if e.restarts}
        report.update(
            faults_injected=len(records),
            faults_by_kind=dict(sorted(Counter(r.kind for r in records).items())),
            commands_acknowledged=len(workload.acknowledged),
            events_checked=findings.events_checked,
            invariant_violations=len(violations),
            longest_recovery_s=round(max(recoveries, default=0.0), 2),
            median_recovery_s=round(statistics.median(recoveries), 2) if recoveries else None,
            final_lag_zero_after_s=round(final, 2) if final is not None else None,
            final_wait_started_s=round(last_fault - started, 1),
            violations=violations,
            checks={
                "store_events": findings.store_events,
                "topic_records": findings.topic_records,
                "duplicates_on_topics": findings.duplicates_on_topics,
                "acknowledged_commands_checked": findings.acknowledged_checked,
                "exactly_once_markers_checked": findings.markers_checked,
                "watermarks_checked": findings.watermarks_checked,
                "dead_letters": findings.dead_letters,
                "poison_injected": len(ctx.poison),
                "replay_verify": findings.replay_output.splitlines()[-1:]
                if findings.replay_output
                else [],
            },
            workload=dict(sorted(workload.counts.items())),
            process_restarts=restarts,
            load=asdict(load),
            faults=[r.as_dict() for r in records],
            duration_s=round(time.monotonic() - started, 1),
        )
        return report
    finally:
        if ctx is not None and ctx.producer is not None:
            with contextlib.suppress(Exception):
                await ctx.producer.stop()
        if observer is not None:
            with contextlib.suppress(Exception):
                await observer.stop()
        await topology.stop()


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"chaos ({report['profile']}): {report.get('duration_s', '?')} s")
    table.add_column("fault kind")
    table.add_column("injected", justify="right")
    table.add_column("longest recovery (s)", justify="right")
    by_kind: dict[str, list[float]] = {}
    for fault in report.get("faults", []):
        by_kind.setdefault(fault["kind"], []).append(fault["recovery_s"] or float("nan"))
    for kind, times in sorted(by_kind.items()):
        table.add_row(kind, str(len(times)), f"{max(times):.1f}")
    console.print(table)
    load = report.get("load", {})
    for key in (
        "faults_injected",
        "commands_acknowledged",
        "events_checked",
        "invariant_violations",
        "longest_recovery_s",
        "final_lag_zero_after_s",
    ):
        console.print(f"{key}: {report.get(key)}")
    if load:
        console.print(
            f"load: {load['requests']} requests, {load['throughput_rps']:.0f}/s,"
            f" p50 {load['p50_ms']:.1f} ms, p99 {load['p99_ms']:.1f} ms,"
            f" server errors {load['server_errors']}"
        )
    for violation in report.get("violations", [])[:50]:
        console.print(f"[red]violation[/red] {violation}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench" / "chaos.json")
    parser.add_argument("--state-dir", type=Path, default=REPO_ROOT / "var" / "chaos")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("aiokafka", "httpx", "eventsourcing"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    report = asyncio.run(run(PROFILES[args.profile], args.seed, args.state_dir))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_report(report)
    print(f"written: {args.output}")
    return 0 if report.get("invariant_violations") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["FULL", "SMALL", "Profile", "faults", "main", "run"]
