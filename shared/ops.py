"""Operations endpoints of every process: `/health` (alive), `/ready` (dependencies
reachable: database, broker) and `/metrics` (Prometheus text, see `shared/metrics.py`).

API processes get the three routes on their FastAPI app (`add_ops_routes`); relays and
consumers, which serve no HTTP otherwise, run `OpsServer`, a minimal asyncio HTTP/1.1
responder (GET only, one response per connection) on `METRICS_PORT` (see `shared/runtime.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.messaging.consumer import ConsumerCore
from shared.messaging.inprocess import InProcessDelivery
from shared.messaging.outbox import Outbox
from shared.metrics import (
    Metric,
    Progress,
    consumer_metrics,
    inprocess_progress,
    relay_metrics,
    relay_progress,
    render,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

Collector = Callable[[datetime], Awaitable[list[Metric]]]
Check = Callable[[], Awaitable[Any]]
CHECK_TIMEOUT = 5.0


class Ops:
    """What a process reports: metric collectors and readiness checks by dependency name."""

    def __init__(
        self, collectors: list[Collector] | None = None, checks: dict[str, Check] | None = None
    ) -> None:
        self.collectors = collectors or []
        self.checks = checks or {}

    async def metrics(self, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        metrics = [Metric("worksite_up", "The process answers.").add(1)]
        for collector in self.collectors:
            try:
                metrics += await asyncio.wait_for(collector(now), CHECK_TIMEOUT * 2)
            except Exception as exc:  # one failing source must not hide the others
                log.warning("metrics collector failed: %s", type(exc).__name__)
                metrics.append(Metric("worksite_scrape_errors", "Collectors that failed.").add(1))
        return render(metrics)

    async def ready(self) -> tuple[bool, dict[str, str]]:
        report: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                await asyncio.wait_for(check(), CHECK_TIMEOUT)
                report[name] = "ok"
            except Exception as exc:
                report[name] = f"unavailable ({type(exc).__name__})"
        return all(v == "ok" for v in report.values()), report


def database_check(probe: Callable[[], Any]) -> Check:
    """A readiness check that runs a (blocking) database probe in a thread."""

    async def check() -> None:
        await asyncio.to_thread(probe)

    return check


class KafkaOffsets:
    """A group-less Kafka client for end offsets, record timestamps and broker readiness."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=10_000
        )
        self.lock = asyncio.Lock()

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def ping(self) -> None:
        await self.consumer.topics()  # a metadata round trip

    async def partitions(self, topics: list[str]) -> list[TopicPartition]:
        client = self.consumer._client  # no public way to add topics to a group-less client
        for topic in topics:
            client.add_topic(topic)
        await client.force_metadata_update()
        return [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(self.consumer.partitions_for_topic(topic) or ())
        ]

    async def timestamp_at(self, tp: TopicPartition, offset: int) -> datetime | None:
        """When the record at `offset` was produced (None if it cannot be read quickly)."""
        self.consumer.assign([tp])
        self.consumer.seek(tp, offset)
        batch = await self.consumer.getmany(tp, timeout_ms=1000, max_records=1)
        records = batch.get(tp) or []
        if not records:
            return None
        return datetime.fromtimestamp(records[0].timestamp / 1000, UTC)

    async def _standing(
        self, core: ConsumerCore, tps: list[TopicPartition]
    ) -> list[tuple[TopicPartition, int, int]]:
        """(partition, position in `core`'s database, last offset) for each of `tps`; the
        caller holds the lock and has fetched the topics' metadata."""
        ends = await self.consumer.end_offsets(tps)
        begins = await self.consumer.beginning_offsets(tps)
        found = []
        for tp in tps:
            tracked = await asyncio.to_thread(core.sink.position, tp.topic, tp.partition)
            found.append((tp, begins[tp] - 1 if tracked is None else tracked, ends[tp] - 1))
        return found

    async def lag(
        self, core: ConsumerCore, partitions: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        """Per partition: its last offset − the position in `core`'s database."""
        tps = [TopicPartition(topic, partition) for topic, partition in partitions]
        async with self.lock:
            await self.partitions(sorted({tp.topic for tp in tps}))  # metadata for these topics
            standing = await self._standing(core, tps)
        return {(tp.topic, tp.partition): max(0, head - pos) for tp, pos, head in standing}

    async def progress(self, core: ConsumerCore) -> list[Progress]:
        """Where `core` stands on every partition of its topics."""
        async with self.lock:
            found = []
            for tp, position, head in await self._standing(
                core, await self.partitions(core.topics)
            ):
                oldest = await self.timestamp_at(tp, position + 1) if head > position else None
                last = core.last_applied.get((tp.topic, tp.partition))
                found.append(
                    Progress(tp.topic, tp.partition, position, head, oldest, last and last[1])
                )
            return found


def add_ops_routes(app: FastAPI, ops: Ops) -> None:
    """`/ready` and `/metrics` (and `/health` unless the app has its own) on a FastAPI app."""
    from fastapi.responses import JSONResponse, PlainTextResponse

    async def ready() -> JSONResponse:
        ok, report = await ops.ready()
        return JSONResponse({"ready": ok, "checks": report}, status_code=200 if ok else 503)

    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(await ops.metrics(), media_type=PROMETHEUS_TYPE)

    async def health() -> dict[str, str]:
        return {"status": "ok"}

    paths = {getattr(route, "path", None) for route in app.router.routes}
    if "/health" not in paths:
        app.add_api_route("/health", health, methods=["GET"], include_in_schema=False)
    app.add_api_route("/ready", ready, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)


PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class OpsServer:
    """`/health`, `/ready`, `/metrics` over a minimal asyncio HTTP responder."""

    def __init__(self, ops: Ops, host: str, port: int) -> None:
        self.ops = ops
        self.host = host
        self.port = port
        self.server: asyncio.Server | None = None

    async def start(self) -> OpsServer:
        self.server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]  # the real one when given 0
        log.info("ops endpoints on http://%s:%s/metrics", self.host, self.port)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()

    async def respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        import json

        path = path.split("?", 1)[0]
        if method != "GET":
            return 405, "text/plain", b"method not allowed\n"
        if path == "/health":
            return 200, "application/json", b'{"status": "ok"}'
        if path == "/ready":
            ok, report = await self.ops.ready()
            body = json.dumps({"ready": ok, "checks": report}).encode()
            return (200 if ok else 503), "application/json", body
        if path == "/metrics":
            return 200, PROMETHEUS_TYPE, (await self.ops.metrics()).encode()
        return 404, "text/plain", b"not found\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reasons = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Unavailable"}
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, path, *_ = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            status, content_type, body = await self.respond(method, path)
        except Exception:
            status, content_type, body = 400, "text/plain", b"bad request\n"
        head = (
            f"HTTP/1.1 {status} {reasons.get(status, 'Bad Request')}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        with contextlib.suppress(Exception):
            writer.write(head.encode() + body)
            await writer.drain()
            writer.close()
            await writer.wait_closed()


# --- what each process role reports ----------------------------------------------------------


def relay_ops(outbox: Outbox, offsets: KafkaOffsets | None, reader: str = "kafka") -> Ops:
    """A relay (or an API process with an outbox): outbox head vs published position."""

    async def collect(now: datetime) -> list[Metric]:
        progress = await asyncio.to_thread(relay_progress, outbox, reader)
        return relay_metrics(reader, progress, now)

    checks: dict[str, Check] = {
        "database": database_check(outbox.app.process_recorder.max_notification_id)
    }
    if offsets is not None:
        checks["broker"] = offsets.ping
    return Ops([collect], checks)


def consumer_ops(
    core: ConsumerCore, offsets: KafkaOffsets, watchdog_restarts: Callable[[], int] | None = None
) -> Ops:
    """A consumer group member: position, head and lag per topic-partition, and how often its
    watchdog restarted it (`shared/messaging/watchdog.py`) when `watchdog_restarts` is given."""

    async def collect(now: datetime) -> list[Metric]:
        return consumer_metrics(core.name, await offsets.progress(core), now, core)

    collectors: list[Collector] = [collect]
    if (count := watchdog_restarts) is not None:

        async def restarts(now: datetime) -> list[Metric]:
            text = "Restarts of a stuck consumer by its watchdog."
            total = Metric("worksite_consumer_watchdog_restarts_total", text, "counter")
            return [total.add(count(), group=core.name)]

        collectors.append(restarts)
    checks: dict[str, Check] = {
        "database": database_check(lambda: core.sink.position(core.topics[0], 0)),
        "broker": offsets.ping,
    }
    return Ops(collectors, checks)


def inprocess_ops(delivery: InProcessDelivery) -> Ops:
    """The embedded process: every consumer's lag behind the outboxes it reads in-process.

    (`services/portal/embedded.py` can expose it: `add_ops_routes(app, inprocess_ops(
    system.delivery))`; the portal API's own `/health` stays.)"""

    async def collect(now: datetime) -> list[Metric]:
        metrics: list[Metric] = []
        for core in delivery.consumers:
            progress = await asyncio.to_thread(inprocess_progress, core, delivery.outboxes)
            metrics += consumer_metrics(core.name, progress, now, core)
        return metrics

    def probe() -> None:
        for core in delivery.consumers:
            core.sink.position(core.topics[0], 0)

    return Ops([collect], {"database": database_check(probe)})
