"""One trace per command across the bus: the billing HTTP request, the event-store append,
the relay's publish to Kafka, the portal consumer group and its projection write."""

from __future__ import annotations

import asyncio
import re

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.telemetry import setup_telemetry
from tests.factories import certificate_body
from tests.integration.conftest import Stack, eventually

pytestmark = pytest.mark.integration

NUMBER = "0000300101"
SSN_LIKE = re.compile(r"\b\d{3}-?\d{2}-?\d{4}\b")
DOB_LIKE = re.compile(r"\b\d{2}/\d{2}/\d{4}\b|\b(19|20)\d{2}-\d{2}-\d{2}\b")


def chain_of(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = [span.name]
    while span.parent is not None:
        span = by_id[span.parent.span_id]  # KeyError: a broken chain
        names.append(span.name)
    return names


async def test_a_payment_is_one_trace_through_relay_kafka_and_the_projection(
    stack: Stack,
) -> None:
    exporter = InMemorySpanExporter()
    setup_telemetry("tests", SimpleSpanProcessor(exporter))
    try:
        stack.start_relays()
        stack.start_consumer("billing")
        stack.start_consumer("portal")
        issued = await stack.policy_api.post("/certificates", json=certificate_body(NUMBER))
        assert issued.status_code == 201, issued.text

        async def account_open() -> bool:
            return (await stack.billing_api.get(f"/accounts/{NUMBER}")).status_code == 200

        for _ in range(600):
            if await account_open():
                break
            await asyncio.sleep(0.1)
        exporter.clear()
        paid = await stack.billing_api.post(
            f"/accounts/{NUMBER}/payments",
            json={"amount": "44.00", "transaction_date": "2016-01-05"},
        )
        assert paid.status_code == 201, paid.text

        def payment_projected() -> list[ReadableSpan]:
            return [s for s in exporter.get_finished_spans() if s.name == "project PaymentApplied"]

        projected = await eventually(payment_projected)
        spans = list(exporter.get_finished_spans())
    finally:
        exporter.shutdown()

    http = [s for s in spans if s.name == "billing POST /accounts/{number}/payments"]
    assert len(http) == 1
    trace_id = http[0].context.trace_id
    assert projected[0].context.trace_id == trace_id
    in_trace = {s.context.span_id: s for s in spans if s.context.trace_id == trace_id}
    topic = stack.settings.topic("billing.events")
    chain = chain_of(projected[0], in_trace)
    assert chain[:5] == [
        "project PaymentApplied",
        "portal apply PaymentApplied",
        f"consume {topic}",
        f"relay.publish {topic}",
        "eventstore.append",
    ]
    # Above the append: FastAPI's own endpoint and request spans, and the service's.
    assert "billing POST /accounts/{number}/payments" in chain[5:]
    consume = next(s for s in in_trace.values() if s.name == f"consume {topic}")
    assert consume.attributes["messaging.kafka.partition"] in (0, 1, 2)
    assert consume.attributes["messaging.kafka.offset"] >= 0
    assert consume.attributes["messaging.consumer.group.name"] == "portal"
    publish = next(s for s in in_trace.values() if s.name == f"relay.publish {topic}")
    assert publish.attributes["messaging.destination.name"] == topic
    # The certificate's issue carried an SSN and a date of birth: no span repeats them.
    for span in spans:
        for text in [span.name, *(f"{k}={v}" for k, v in (span.attributes or {}).items())]:
            assert not SSN_LIKE.search(text), (span.name, text)
            assert not DOB_LIKE.search(text), (span.name, text)
