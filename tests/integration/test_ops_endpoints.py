"""`/health`, `/ready`, `/metrics` of a relay, a consumer and an API process on the real broker
and database: lag per topic-partition shows what is not yet applied, and goes to 0."""

from __future__ import annotations

import re

import httpx
import pytest

from services.billing.api import create_billing_api
from services.policy.main import policy_outbox
from services.portal.main import portal_consumer
from shared.metrics import projection_freshness
from shared.ops import KafkaOffsets, add_ops_routes, consumer_ops, relay_ops
from shared.runtime import api_ops, run_consumer, run_relay
from tests.factories import certificate_body
from tests.integration.conftest import Stack, eventually
from tests.integration.test_distributed_processes import free_port

pytestmark = pytest.mark.integration


def lag_lines(text: str, metric: str, topic: str) -> dict[int, float]:
    """{partition: value} of one metric for one topic."""
    pattern = re.compile(rf'^{metric}{{[^}}]*topic="{re.escape(topic)}",partition="(\d+)"}} (\S+)$')
    return {
        int(m.group(1)): float(m.group(2))
        for line in text.splitlines()
        if (m := pattern.match(line))
    }


async def test_relay_and_consumer_report_lag_that_goes_to_zero(stack: Stack) -> None:
    settings, bootstrap = stack.settings, stack.settings.kafka_bootstrap_servers
    topic = settings.topic("policy.events")
    for number in ("0000300201", "0000300202", "0000300203"):
        issued = await stack.policy_api.post("/certificates", json=certificate_body(number))
        assert issued.status_code == 201, issued.text

    # Before the relay runs: the outbox is ahead of the published position.
    outbox = policy_outbox(stack.policy, settings)
    before = await relay_ops(outbox, None).metrics()
    assert re.search(rf'worksite_relay_lag_events{{topic="{topic}",relay="kafka"}} [1-9]', before)

    relay_port, consumer_port = free_port(), free_port()
    stack.start("relay", lambda stop: run_relay(outbox, bootstrap, stop, ops_port=relay_port))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{relay_port}") as relay:

        async def relay_caught_up() -> bool:
            try:
                text = (await relay.get("/metrics")).text
            except httpx.TransportError:
                return False
            return f'worksite_relay_lag_events{{topic="{topic}",relay="kafka"}} 0' in text

        await eventually(relay_caught_up)
        assert (await relay.get("/health")).status_code == 200
        ready = await relay.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}

    # The events are in Kafka; the portal's consumer group has not run yet: lag per partition.
    core = portal_consumer(stack.read_engine, settings)
    offsets = KafkaOffsets(bootstrap)
    await offsets.start()
    try:
        idle = await consumer_ops(core, offsets).metrics()
    finally:
        await offsets.stop()
    waiting = lag_lines(idle, "worksite_consumer_lag_events", topic)
    assert set(waiting) == {0, 1, 2} and sum(waiting.values()) >= 3
    seconds = lag_lines(idle, "worksite_consumer_lag_seconds", topic)
    for partition, lag in waiting.items():  # the age of the oldest unapplied record, or 0
        assert (seconds[partition] >= 0) if lag else (seconds[partition] == 0), seconds

    stack.start(
        "portal",
        lambda stop: run_consumer(
            core, bootstrap, settings.topic("portal"), stop, ops_port=consumer_port
        ),
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{consumer_port}") as consumer:

        async def consumer_caught_up() -> dict[int, float] | None:
            try:
                text = (await consumer.get("/metrics")).text
            except httpx.TransportError:
                return None
            lags = lag_lines(text, "worksite_consumer_lag_events", topic)
            return lags if lags and not any(lags.values()) else None

        lags = await eventually(consumer_caught_up)
        assert set(lags) == {0, 1, 2}
        text = (await consumer.get("/metrics")).text
        assert set(lag_lines(text, "worksite_consumer_lag_seconds", topic).values()) == {0.0}
        positions = lag_lines(text, "worksite_consumer_position", topic)
        assert positions == lag_lines(text, "worksite_consumer_head", topic)
        assert positions == {p: lag - 1 for p, lag in waiting.items()}  # from −1: lag = head + 1
        ready = await consumer.get("/ready")
        assert ready.status_code == 200, ready.text

    # The portal's freshness: positions and when the last applied event occurred.
    fresh = await eventually(
        lambda: (
            (f := projection_freshness(stack.read_engine)).get(topic)
            and f[topic]["last_event_at"]
            and f
        )
    )
    assert fresh[topic]["positions"] == {p: lag - 1 for p, lag in waiting.items() if lag}


async def test_an_api_process_answers_ready_and_reports_its_outbox(stack: Stack) -> None:
    app = create_billing_api(stack.billing)
    add_ops_routes(app, api_ops(lambda: policy_outbox(stack.policy, stack.settings), None))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://billing") as client:
        ready = await client.get("/ready")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
        metrics = await client.get("/metrics")
        assert "worksite_outbox_head{" in metrics.text
        assert (await client.get("/health")).status_code == 200
