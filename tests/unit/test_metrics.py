"""Metrics text, lag arithmetic, the ops endpoints and projection freshness, with fakes."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from shared.messaging.sql_sink import SqlSink
from shared.metrics import (
    Metric,
    Progress,
    consumer_metrics,
    persist_progress,
    projection_freshness,
    relay_metrics,
    render,
    save_progress,
)
from shared.ops import Ops, OpsServer, add_ops_routes
from shared.settings import REPO_ROOT

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)


def test_render_is_prometheus_text_with_escaped_labels() -> None:
    text = render(
        [
            Metric("a_total", "Things.", "counter").add(3, group='x"y', topic="t\\1"),
            Metric("b", "Ratio.").add(0.25).add(math.nan, partition=2),
            Metric("a_total", "Things.", "counter").add(4, group="z", topic="t"),
        ]
    )
    assert text == (
        "# HELP a_total Things.\n"
        "# TYPE a_total counter\n"
        'a_total{group="x\\"y",topic="t\\\\1"} 3\n'
        'a_total{group="z",topic="t"} 4\n'
        "# HELP b Ratio.\n"
        "# TYPE b gauge\n"
        "b 0.25\n"
        'b{partition="2"} NaN\n'
    )


def test_lag_is_head_minus_position_and_zero_seconds_when_caught_up() -> None:
    behind = Progress("t", 0, position=7, head=10, oldest_unapplied_at=NOW - timedelta(seconds=42))
    assert behind.lag_events == 3
    assert behind.lag_seconds(NOW) == 42.0
    caught_up = Progress("t", 0, position=10, head=10, last_applied_at=NOW - timedelta(hours=1))
    assert caught_up.lag_events == 0
    assert caught_up.lag_seconds(NOW) == 0.0  # idle is not lag


def test_lag_seconds_falls_back_to_the_last_applied_event_then_unknown() -> None:
    fallback = Progress("t", 1, 3, 5, None, last_applied_at=NOW - timedelta(seconds=5))
    assert fallback.lag_seconds(NOW) == 5.0
    assert math.isnan(Progress("t", 1, 3, 5).lag_seconds(NOW))
    # An empty Kafka partition: head −1, position −1 (nothing before the beginning).
    assert Progress("t", 2, -1, -1).lag_events == 0
    # A position past the head (a topic recreated): never a negative lag.
    assert Progress("t", 2, 9, 4).lag_events == 0


def test_consumer_and_relay_metrics_name_group_topic_partition() -> None:
    core = SimpleNamespace(applied=5, duplicates=1, dead_lettered=2)
    progress = [
        Progress("billing.events", 0, 4, 6, NOW - timedelta(seconds=2)),
        Progress("billing.events", 1, 9, 9),
    ]
    text = render(consumer_metrics("portal", progress, NOW, core))  # type: ignore[arg-type]
    labels = 'group="portal",topic="billing.events",partition'
    assert f'worksite_consumer_lag_events{{{labels}="0"}} 2' in text
    assert f'worksite_consumer_lag_seconds{{{labels}="0"}} 2' in text
    assert f'worksite_consumer_lag_events{{{labels}="1"}} 0' in text
    assert f'worksite_consumer_position{{{labels}="1"}} 9' in text
    assert 'worksite_consumer_messages_total{group="portal",outcome="dead_lettered"} 2' in text
    relay = render(relay_metrics("kafka", Progress("policy.events", 0, 3, 8), NOW))
    assert 'worksite_outbox_head{topic="policy.events",relay="kafka"} 8' in relay
    assert 'worksite_relay_position{topic="policy.events",relay="kafka"} 3' in relay
    assert 'worksite_relay_lag_events{topic="policy.events",relay="kafka"} 5' in relay


async def _failing() -> None:
    raise ConnectionError("away")


async def _fine() -> None:
    return None


async def test_ready_reports_each_dependency_and_fails_if_one_is_away() -> None:
    ok, report = await Ops(checks={"database": _fine}).ready()
    assert ok and report == {"database": "ok"}
    ok, report = await Ops(checks={"database": _fine, "broker": _failing}).ready()
    assert not ok
    assert report == {"database": "ok", "broker": "unavailable (ConnectionError)"}


async def test_a_failing_collector_is_counted_not_fatal() -> None:
    async def broken(now: datetime) -> list[Metric]:
        raise RuntimeError("no")

    async def fine(now: datetime) -> list[Metric]:
        return [Metric("x", "X.").add(1)]

    text = await Ops([broken, fine]).metrics(NOW)
    assert "worksite_up 1" in text and "worksite_scrape_errors 1" in text and "\nx 1\n" in text


async def _get(port: int, path: str, method: str = "GET") -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    answer = (await reader.read()).decode()
    writer.close()
    status = int(answer.split(" ", 2)[1])
    return status, answer.split("\r\n\r\n", 1)[1]


async def test_the_ops_server_answers_health_ready_metrics() -> None:
    async def collect(now: datetime) -> list[Metric]:
        return relay_metrics("kafka", Progress("claims.events", 0, 1, 2), now)

    server = await OpsServer(Ops([collect], {"database": _fine}), "127.0.0.1", 0).start()
    try:
        assert await _get(server.port, "/health") == (200, '{"status": "ok"}')
        status, body = await _get(server.port, "/ready")
        assert status == 200 and '"database": "ok"' in body
        status, body = await _get(server.port, "/metrics")
        assert status == 200
        assert 'worksite_relay_lag_events{topic="claims.events",relay="kafka"} 1' in body
        assert (await _get(server.port, "/nope"))[0] == 404
        assert (await _get(server.port, "/metrics", "POST"))[0] == 405
        server.ops.checks["broker"] = _failing
        assert (await _get(server.port, "/ready"))[0] == 503
    finally:
        await server.stop()


def test_api_processes_get_ready_and_metrics_and_keep_their_own_health() -> None:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "mine"}

    add_ops_routes(app, Ops(checks={"database": _failing}))
    client = TestClient(app)
    assert client.get("/health").json() == {"status": "mine"}
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("unav")
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "worksite_up 1" in metrics.text


async def test_freshness_comes_from_positions_and_saved_event_times(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'read.sqlite'}")
    sink = SqlSink(engine, "portal", {})
    sink.skip("billing.events", 0, 41)
    assert projection_freshness(engine) == {
        "billing.events": {"positions": {0: 41}, "last_event_at": None}
    }
    core = SimpleNamespace(name="portal", sink=sink, last_applied={})
    core.last_applied[("billing.events", 0)] = (41, NOW - timedelta(days=1))
    core.last_applied[("billing.events", 1)] = (7, NOW)
    stop = asyncio.Event()
    stop.set()  # one round, then return
    await persist_progress([core], stop)  # type: ignore[list-item]
    fresh = projection_freshness(engine)
    assert fresh["billing.events"]["last_event_at"] == NOW
    assert fresh["billing.events"]["positions"] == {0: 41}
    core.last_applied[("billing.events", 1)] = (8, NOW + timedelta(minutes=1))
    saved: dict = {}
    save_progress(engine, core, saved)  # type: ignore[arg-type]
    assert projection_freshness(engine)["billing.events"]["last_event_at"] == NOW + timedelta(
        minutes=1
    )
    assert projection_freshness(engine, consumer="someone-else") == {}


def test_docker_compose_adds_collector_and_jaeger_and_points_services_at_it() -> None:
    yaml = pytest.importorskip("yaml", reason="pyyaml is not installed in this environment")
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["jaeger"]["image"].startswith("jaegertracing/all-in-one")
    assert any("16686" in str(port) for port in services["jaeger"]["ports"])
    collector = services["otel-collector"]
    assert collector["image"].startswith("otel/opentelemetry-collector")
    config = yaml.safe_load((REPO_ROOT / "deploy" / "otel-collector.yaml").read_text())
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger"]
    assert config["exporters"]["otlp/jaeger"]["endpoint"].startswith("jaeger:")
    ours = {n: s for n, s in services.items() if "services." in " ".join(s.get("command", []))}
    assert len(ours) == 20  # every role of deploy/up.sh
    for name, service in ours.items():
        env = service["environment"]
        assert env["OTEL_TRACES_EXPORTER"] == "otlp", name
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318", name
        if "SERVICE_PORT" not in env:
            assert env["METRICS_PORT"] == "9464", name


def test_the_exporter_is_chosen_by_otel_traces_exporter() -> None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from shared.telemetry import exporter_processors

    assert exporter_processors(None) == [] and exporter_processors("none") == []
    assert [type(p) for p in exporter_processors("console")] == [SimpleSpanProcessor]
    try:
        import opentelemetry.exporter.otlp.proto.http  # noqa: F401
    except ImportError:  # not installed: a warning, spans stay in-process
        assert exporter_processors("otlp") == []
    else:
        assert [type(p) for p in exporter_processors("otlp")] == [BatchSpanProcessor]


def test_the_relay_publish_span_becomes_the_parent_sent_to_kafka() -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from shared.messaging.records import OutboundRecord
    from shared.telemetry import publish_spans, setup_telemetry

    exporter = InMemorySpanExporter()
    setup_telemetry("tests", SimpleSpanProcessor(exporter))
    stored = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    records = [
        OutboundRecord(7, "t", "k", b"{}", [("traceparent", stored.encode()), ("x", b"1")]),
        OutboundRecord(8, "t", "k", b"{}", [("x", b"2")]),  # stored before trace context
    ]
    try:
        with publish_spans(records) as traced:
            assert traced[1] is records[1]
        (span,) = exporter.get_finished_spans()
    finally:
        exporter.shutdown()
    assert span.name == "relay.publish t" and span.parent.span_id == 0x00F067AA0BA902B7
    sent = dict(traced[0].headers)
    assert sent["x"] == b"1"
    assert sent["traceparent"].decode() == (
        f"00-4bf92f3577b34da6a3ce929d0e0e4736-{span.context.span_id:016x}-01"
    )
