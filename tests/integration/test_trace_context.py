"""W3C trace context crosses the bus: HTTP command → stored event → Kafka header → consumer."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.telemetry import setup_telemetry
from tests.factories import certificate_body
from tests.integration.conftest import Stack, eventually

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


async def test_a_command_trace_continues_in_kafka_and_in_every_consumer(stack: Stack) -> None:
    exporter = InMemorySpanExporter()
    setup_telemetry("tests", SimpleSpanProcessor(exporter))
    stack.start_relays()
    stack.start_consumer("billing")
    stack.start_consumer("portal")

    response = await stack.policy_api.post(
        "/certificates",
        json=certificate_body("0000300001"),
        headers={"traceparent": CALLER},
    )
    assert response.status_code == 201, response.text

    def consumer_spans() -> set[str]:
        return {
            span.name.split()[0]
            for span in exporter.get_finished_spans()
            if f"{span.context.trace_id:032x}" == TRACE_ID and " apply " in span.name
        }

    assert await eventually(lambda: {"billing", "portal"} <= consumer_spans())
    http_spans = [s for s in exporter.get_finished_spans() if s.name.startswith("policy POST")]
    assert http_spans[0].name == "policy POST /certificates"
    assert f"{http_spans[0].context.trace_id:032x}" == TRACE_ID

    consumer = AIOKafkaConsumer(
        stack.settings.topic("policy.events"),
        bootstrap_servers=stack.settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=10_000)
    finally:
        await consumer.stop()
    headers = [dict(r.headers) for records in batch.values() for r in records]
    assert headers, "the event reached Kafka"
    assert headers[0]["traceparent"].decode().split("-")[1] == TRACE_ID
    assert headers[0]["event_type"] == b"CertificateIssued"
    assert b'"kind": "command"' in headers[0]["cause"]
