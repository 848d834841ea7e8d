"""Figures at scale: the generated data set (`bench.dataset`) at each size of `Sizes.scales`
(100k and 1M events by default), each figure next to its limit measured on the same data.

Per scale, on fresh databases (suffix `_b<run><scale>`) and topics (prefix `b<run><scale>.`):

1. Generate the data set into policy's, billing's and claims' stores (`gen.<scale>`).
2. Projection replay (figure 5): `portal replay`'s code in a process of its own
   (`bench.replay_process`: every read model from the event stores, swapped in).
   Limits: `raw.read_decode.<scale>` — the same outboxes read and decoded into envelopes and
   contracts by `OutboxSource` alone; `raw.upsert.<scale>` — the rows the replay produced,
   written again by binary COPY into empty tables with the same keys and indexes; and their
   serial combination `raw.read_upsert.<scale>` = events / (read time + write time).
3. The relays of policy, billing and claims (their processes) publish the stores to Kafka
   (acks=all, idempotent): `relay.<scale>`, events/s until every record is on its topic.
4. Rebuild from Kafka (figure 6): the same with the topics as source (`--from-kafka`). Limit
   `kafka.getmany.<scale>`: a bare aiokafka consumer (no group) assigned the same partitions,
   `getmany` from the beginning to the end offsets, nothing decoded.
5. At the largest scale only: the portal under load (figure 7, `bench.portal_load`).
Memory (figure 8): the peak RSS of every process started for the scale (`bench.processes`),
the replays' included.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import Databases, Measure, Report, Sizes, progress, section
from bench.latency import delete_topics
from bench.processes import (
    SECRET,
    RssSampler,
    ServiceProcesses,
    create_databases,
    service_env,
)
from shared.ops import KafkaOffsets
from shared.settings import REPO_ROOT, Settings

RELAYS = ("policy-relay", "billing-relay", "claims-relay")
PYTHON = str(REPO_ROOT / ".venv" / "bin" / "python")
SUMMARY = re.compile(r"(\d+) events replayed .* in ([\d.]+) s")


@dataclass(frozen=True)
class Scale:
    name: str
    owners: int
    events: int


def scale_settings(base_url: str, bootstrap: str, run_id: str, scale: Scale) -> Settings:
    return Settings(
        PORTAL_MODE="distributed",
        DATABASE_URL=base_url,
        DATABASE_SUFFIX=f"_b{run_id}{scale.name.lower()}",
        TOPIC_PREFIX=f"b{run_id}{scale.name.lower()}.",
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        PII_HMAC_SECRET=SECRET,
    )


def run(
    report: Report, sizes: Sizes, databases: Databases, base_url: str, bootstrap: str
) -> dict[str, Any]:
    """Every scale in turn; answers what the report's `scale` section holds."""
    results: dict[str, Any] = {}
    scales = [Scale(*s) for s in sizes.scales]
    for index, scale in enumerate(scales):
        result = results[scale.name] = {"scale": asdict(scale)}
        with section(report, f"scale {scale.name}"):
            asyncio.run(
                run_scale(
                    report,
                    sizes,
                    databases,
                    base_url,
                    bootstrap,
                    scale,
                    result,
                    with_load=index == len(scales) - 1,
                )
            )
    return results


async def run_scale(
    report: Report,
    sizes: Sizes,
    databases: Databases,
    base_url: str,
    bootstrap: str,
    scale: Scale,
    result: dict[str, Any],
    with_load: bool,
) -> None:
    """One scale; fills `result` as it goes (what was measured stays when a step fails)."""
    settings = scale_settings(base_url, bootstrap, databases.run_id, scale)
    create_databases(databases, settings)
    result["dataset"] = await asyncio.to_thread(_generate, report, settings, scale, sizes.seed)
    # What the outboxes map to integration events: what the relays publish and replays read.
    events = await asyncio.to_thread(_read_decode, report, settings, scale)
    rss = result["peak_rss_mb"] = {}
    rss["portal-replay"] = await asyncio.to_thread(
        _replay_process, report, settings, scale, events, False
    )
    await asyncio.to_thread(_upsert_limit, report, settings, scale, events)
    processes = ServiceProcesses(settings, SECRET, REPO_ROOT / "var" / "bench" / scale.name)
    try:
        await processes.start(*RELAYS)
        await _relayed(report, settings, scale, events)
        await _getmany_limit(report, settings, scale)
        rss["portal-replay-kafka"] = await asyncio.to_thread(
            _replay_process, report, settings, scale, events, True
        )
        if with_load:
            from bench import portal_load

            result["load"] = await portal_load.run(report, sizes, settings, processes, scale.name)
    finally:
        rss.update(await processes.stop())
        await delete_topics(bootstrap, settings.topic_prefix)
        report.notes.append(
            f"scale {scale.name}: peak RSS (MB) " + ", ".join(f"{k} {v}" for k, v in rss.items())
        )


def _generate(report: Report, settings: Settings, scale: Scale, seed: int) -> dict[str, Any]:
    from bench.dataset import generate

    progress.log(f"scale {scale.name}: generating {scale.owners} owners, ~{scale.events} events")
    summary = generate(settings, scale.owners, scale.events, seed=seed)
    total = sum(summary.events.values())
    report.limit(
        Measure(
            f"gen.{scale.name}",
            f"data set generated ({scale.owners} owners, seed {seed}) into 3 event stores",
            summary.events_per_second,
            "events/s",
            total,
            summary.seconds,
            {"events": summary.events},
        )
    )
    return asdict(summary)


def _read_decode(report: Report, settings: Settings, scale: Scale) -> int:
    """The outboxes read and decoded; answers how many integration events they hold (what
    the relays publish: the stores' internal events — indexes, markers — are not)."""
    from services.portal.replay_cli import outbox_source
    from shared import personal_data

    vault = personal_data.vault_at(settings.database_url_for("keystore"))
    with personal_data.using(vault), outbox_source(settings) as source:
        started = time.perf_counter()
        count = sum(1 for _ in source.read_new())
        seconds = time.perf_counter() - started
    report.limit(
        Measure(
            f"raw.read_decode.{scale.name}",
            "the outboxes read and decoded (OutboxSource: envelopes, contracts), not applied",
            count / seconds if seconds else None,
            "events/s",
            count,
            seconds,
        )
    )
    return count


def _replay_process(
    report: Report, settings: Settings, scale: Scale, events: int, from_kafka: bool
) -> float | None:
    """`portal replay` in its own process; its rate goes in the report, its peak RSS back."""
    args = [PYTHON, "-m", "bench.replay_process"]
    if from_kafka:
        args.append("--from-kafka")
    env = service_env(settings, SECRET)
    started = time.perf_counter()
    process = subprocess.Popen(
        args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    sampler = RssSampler(lambda: {"replay": process.pid}, interval=0.2).start()
    output, _ = process.communicate(timeout=1800)
    peak = sampler.stop().get("replay")
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"portal replay failed ({process.returncode}): {output[-2000:]}")
    found = SUMMARY.search(output)
    if not found:
        raise RuntimeError(f"portal replay printed no summary: {output[-500:]}")
    replayed, seconds = int(found.group(1)), float(found.group(2))
    key = "fig6.rebuild_kafka" if from_kafka else "fig5.replay"
    label = (
        "rebuild from Kafka: portal replay --from-kafka, every read model, swapped in"
        if from_kafka
        else "projection replay: portal replay, every read model from the event stores, swapped in"
    )
    limits = (
        (f"kafka.getmany.{scale.name}",)
        if from_kafka
        else (f"raw.read_upsert.{scale.name}", f"raw.read_decode.{scale.name}")
    )
    report.figure(
        "6" if from_kafka else "5",
        Measure(
            f"{key}.{scale.name}",
            f"{label} ({scale.name})",
            replayed / seconds if seconds else None,
            "events/s",
            replayed,
            seconds,
            {"process_wall_s": round(wall, 2), "peak_rss_mb": peak, "expected_events": events},
        ),
        *limits,
    )
    return peak


def _upsert_limit(report: Report, settings: Settings, scale: Scale, events: int) -> None:
    """The replayed rows written again by binary COPY into empty copies of their tables
    (same primary keys and indexes): the write half of the replay's raw bound."""
    from services.portal.readmodels import ReadModel

    url = _plain(settings.database_url_for("portal"))
    rows, seconds = 0, 0.0
    with psycopg.connect(url, autocommit=True) as connection:
        for table in ReadModel.metadata.sorted_tables:
            name = table.name
            copy = f"bench_copy_{name}"
            connection.execute(f'DROP TABLE IF EXISTS "{copy}"')
            connection.execute(f'CREATE TABLE "{copy}" (LIKE "{name}" INCLUDING ALL)')
            data = bytearray()
            with connection.cursor().copy(f'COPY "{name}" TO STDOUT (FORMAT BINARY)') as out:
                for chunk in out:
                    data += chunk
            count = connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            started = time.perf_counter()
            statement = f'COPY "{copy}" FROM STDIN (FORMAT BINARY)'
            with connection.transaction(), connection.cursor().copy(statement) as into:
                into.write(bytes(data))
            seconds += time.perf_counter() - started
            rows += count
            connection.execute(f'DROP TABLE "{copy}"')
    read = report.limits.get(f"raw.read_decode.{scale.name}")
    report.limit(
        Measure(
            f"raw.upsert.{scale.name}",
            f"the replay's {rows} rows written by binary COPY into empty tables (as events/s)",
            events / seconds if seconds else None,
            "events/s",
            rows,
            seconds,
            {"rows_per_s": round(rows / seconds) if seconds else None},
        )
    )
    if read is not None and read.seconds and seconds:
        both = read.seconds + seconds
        report.limit(
            Measure(
                f"raw.read_upsert.{scale.name}",
                "raw bound: read + decode, then COPY of the same rows (serial)",
                events / both,
                "events/s",
                events,
                both,
            )
        )


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    """The end offset of every partition of `topics` (shared.ops.KafkaOffsets' discovery)."""
    offsets = KafkaOffsets(bootstrap)
    await offsets.start()
    try:
        partitions = await offsets.partitions(topics)
        return await offsets.consumer.end_offsets(partitions) if partitions else {}
    finally:
        await offsets.stop()


def portal_topics(settings: Settings) -> list[str]:
    from services.portal.projections import SUBSCRIBED_TOPICS

    return [settings.topic(t) for t in SUBSCRIBED_TOPICS]


async def _relayed(report: Report, settings: Settings, scale: Scale, events: int) -> None:
    """Wait until the relays have put all `events` integration events on their topics
    (bounded)."""
    topics = [settings.topic(t) for t in ("policy.events", "billing.events", "claims.events")]
    started = time.perf_counter()
    deadline = started + max(300.0, events / 500)
    published = 0
    while time.perf_counter() < deadline:
        published = sum((await end_offsets(settings.kafka_bootstrap_servers, topics)).values())
        if published >= events:
            break
        await asyncio.sleep(1.0)
    seconds = time.perf_counter() - started
    if published < events:
        raise TimeoutError(f"the relays published {published} of {events} events")
    report.limit(
        Measure(
            f"relay.{scale.name}",
            "the three relays' processes publishing the stores (acks=all, idempotent)",
            published / seconds,
            "events/s",
            published,
            seconds,
        )
    )


async def _getmany_limit(report: Report, settings: Settings, scale: Scale) -> None:
    topics = portal_topics(settings)
    ends = await end_offsets(settings.kafka_bootstrap_servers, topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = [p for p, end in ends.items() if end > 0]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        count, started = 0, time.perf_counter()
        positions = dict.fromkeys(partitions, 0)
        deadline = started + 600
        while any(positions[p] < ends[p] for p in partitions) and time.perf_counter() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=2_000)
            for partition, messages in batches.items():
                count += len(messages)
                if messages:
                    positions[partition] = messages[-1].offset + 1
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
    report.limit(
        Measure(
            f"kafka.getmany.{scale.name}",
            "bare aiokafka getmany over the portal's topics from the beginning (nothing decoded)",
            count / seconds if seconds else None,
            "messages/s",
            count,
            seconds,
        )
    )
