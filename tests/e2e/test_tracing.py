"""One trace per command in the embedded mode: the HTTP request, the event-store append, the
in-process delivery to the portal consumer and the projection write share one trace id and
form a parent chain; no span carries personal data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.telemetry import setup_telemetry
from tests.e2e.test_embedded_http import eventually, portal

pytestmark = pytest.mark.embedded

# The demo's unregistered owner (fictional): what registration sends and no span may carry.
TAYLOR = {
    "user_type": "Certificate Owner",
    "certificate_number": "0000100004",
    "name_type": "Person",
    "first_name": "Taylor",
    "last_name": "Sample",
    "email": "taylor@example.com",
    "date_of_birth": "07/15/1990",
    "government_id": "900-24-6810",
}
SSN_LIKE = re.compile(r"\b\d{3}-?\d{2}-?\d{4}\b")
DOB_LIKE = re.compile(r"\b\d{2}/\d{2}/\d{4}\b|\b(19|20)\d{2}-\d{2}-\d{2}\b")


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_telemetry("tests", SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the processor stays on the provider; a shut exporter drops spans


def trace_of(spans: list[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.context.trace_id == root.context.trace_id]


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """Names from `span` up to the root, following parent links within the trace."""
    names = [span.name]
    while span.parent is not None:
        span = by_id[span.parent.span_id]  # KeyError: a broken chain
        names.append(span.name)
    return names


def test_a_payment_is_one_trace_from_http_to_the_projection(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    with portal(tmp_path, seed=True) as client:
        exporter.clear()
        paid = client.post(
            "/backoffice/billing/accounts/0000100001/payments",
            json={"amount": "44.00", "transaction_date": "2024-01-15"},
        )
        assert paid.status_code == 201, paid.text

        def projection_spans() -> list[ReadableSpan]:
            return [
                s
                for s in exporter.get_finished_spans()
                if s.name == "project PaymentApplied" or s.name == "project PaymentReceived"
            ]

        projected = eventually(projection_spans)
        spans = list(exporter.get_finished_spans())

    http = [s for s in spans if s.name == "billing POST /accounts/{number}/payments"]
    assert len(http) == 1, [s.name for s in spans]
    in_trace = trace_of(spans, http[0])
    assert {s.context.trace_id for s in projected} == {http[0].context.trace_id}
    by_id = {s.context.span_id: s for s in in_trace}
    chain = ancestors(projected[0], by_id)
    # project → apply → consume → eventstore.append → … → billing's request span
    assert chain[0].startswith("project Payment")
    assert chain[1].startswith("portal apply Payment")
    assert chain[2] == "consume billing.events"
    assert chain[3] == "eventstore.append"
    assert "billing POST /accounts/{number}/payments" in chain[4:]
    consume = by_id[projected[0].parent.span_id].parent
    consume_span = by_id[consume.span_id]
    assert consume_span.attributes["messaging.destination.name"] == "billing.events"
    assert consume_span.attributes["messaging.kafka.partition"] == 0
    assert consume_span.attributes["event_type"].startswith("Payment")
    assert consume_span.attributes["aggregate_version"] > 1
    append = by_id[consume_span.parent.span_id]
    assert append.attributes["eventstore.application"] == "BillingApplication"


def test_no_span_carries_personal_data(tmp_path: Path, exporter: InMemorySpanExporter) -> None:
    with portal(tmp_path, seed=True) as client:
        exporter.clear()
        step1 = client.post("/api/registration/personal", json=TAYLOR)
        assert step1.status_code == 201, step1.text
        failed = client.post(
            "/api/registration/personal", json={**TAYLOR, "government_id": "900-24-6811"}
        )
        assert failed.status_code >= 400
        spans = list(exporter.get_finished_spans())
    names = {s.name for s in spans}
    assert {"portal POST /registration/personal", "identity POST /registration/personal"} <= names
    for span in spans:
        texts = [span.name] + [f"{k}={v}" for k, v in (span.attributes or {}).items()]
        for event in span.events:
            texts += [event.name] + [f"{k}={v}" for k, v in (event.attributes or {}).items()]
        for text in texts:
            assert not SSN_LIKE.search(text), (span.name, text)
            assert not DOB_LIKE.search(text), (span.name, text)
            assert "Taylor" not in text and "Sample" not in text, (span.name, text)


def test_the_embedded_process_reports_lag_that_goes_to_zero(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from services.portal.embedded import build_embedded, create_embedded_app
    from shared.mail import MailSettings, free_port
    from shared.ops import add_ops_routes, inprocess_ops
    from shared.settings import Settings
    from tests.factories import certificate_body

    system = build_embedded(Settings(PORTAL_VAR_DIR=tmp_path))
    app = create_embedded_app(system, seed=False, mail=MailSettings(SMTP_PORT=free_port()))
    add_ops_routes(app, inprocess_ops(system.delivery))
    line = 'worksite_consumer_lag_events{group="portal",topic="policy.events",partition="0"}'
    with TestClient(app) as client:
        assert client.get("/ready").json() == {"ready": True, "checks": {"database": "ok"}}
        assert f"{line} 0" in client.get("/metrics").text
        issued = client.post("/backoffice/policy/certificates", json=certificate_body("0000400001"))
        assert issued.status_code == 201, issued.text
        eventually(lambda: f"{line} 0" in client.get("/metrics").text)
        text = client.get("/metrics").text
    head = re.search(
        r'worksite_consumer_head\{group="portal",topic="policy.events",'
        r'partition="0"\} (\d+)',
        text,
    )
    assert head and int(head.group(1)) >= 1  # the certificate's events were delivered
    assert 'worksite_consumer_messages_total{group="portal",outcome="applied"}' in text
