"""OpenTelemetry for every process: a tracer provider named after the service, a span per
HTTP request that continues the caller's W3C `traceparent`, and the relay's publish spans.

One trace per command: the HTTP span is current while its events are stored
(`eventstore.append`, whose context `eventstore.MetadataMapper` stores with each event); the
relay's `relay.publish <topic>` span continues it and its context goes to the Kafka headers;
each consumer's `consume <topic>` span continues from those headers (or, in the embedded
mode, straight from the stored context) down to `project <event_type>` / `react <event_type>`.

Exporter (`OTEL_TRACES_EXPORTER`): `console` prints spans; `otlp` sends them over OTLP/HTTP to
`OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. http://otel-collector:4318; the exporter reads the
standard `OTEL_EXPORTER_OTLP_*` variables itself) in batches — it needs the package
`opentelemetry-exporter-otlp-proto-http`, imported only then; anything else keeps spans
in-process only (the ids still propagate). Span attributes never carry personal data: request
spans name the route template, not the URL with its values; messaging spans carry topic,
partition, offset, event type and aggregate version only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.tracing import continued_span, tracer

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

    from shared.messaging.records import OutboundRecord

log = logging.getLogger(__name__)

_provider: TracerProvider | None = None
_propagator = TraceContextTextMapPropagator()


def otlp_exporter() -> SpanExporter:
    """The OTLP/HTTP span exporter (configured by the standard `OTEL_EXPORTER_OTLP_*`)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "OTEL_TRACES_EXPORTER=otlp needs the package opentelemetry-exporter-otlp-proto-http"
        ) from exc
    return OTLPSpanExporter()


def exporter_processors(exporter_name: str | None) -> list[SpanProcessor]:
    """The span processors `OTEL_TRACES_EXPORTER` asks for (none for unknown or `none`)."""
    names = {name.strip() for name in (exporter_name or "").split(",") if name.strip()}
    processors: list[SpanProcessor] = []
    if "console" in names:
        processors.append(SimpleSpanProcessor(ConsoleSpanExporter()))
    if "otlp" in names:
        try:
            processors.append(BatchSpanProcessor(otlp_exporter()))
        except RuntimeError as exc:
            log.warning("%s; spans stay in-process", exc)
    return processors


def setup_telemetry(service_name: str, *processors: SpanProcessor) -> TracerProvider:
    """Install the process's tracer provider (once; later calls add processors)."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        for processor in exporter_processors(os.environ.get("OTEL_TRACES_EXPORTER")):
            _provider.add_span_processor(processor)
        trace.set_tracer_provider(_provider)
    for processor in processors:
        _provider.add_span_processor(processor)
    return _provider


def instrument_http(app: FastAPI, service_name: str) -> None:
    """A server span per request, child of the caller's `traceparent` header if any."""

    async def _span(request: Request, call_next):
        with continued_span(
            f"{service_name} {request.method}",
            request.headers.get("traceparent"),
            **{"http.request.method": request.method},
        ) as span:
            response = await call_next(request)
            route = request.scope.get("route")  # known once routed: the template, no values
            if route is not None:
                span.update_name(f"{service_name} {request.method} {route.path}")
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    app.middleware("http")(_span)


def format_traceparent(span: trace.Span) -> str | None:
    """The W3C `traceparent` of `span`, or None for a span that is not recording anything."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


@contextmanager
def publish_spans(records: list[OutboundRecord]) -> Iterator[list[OutboundRecord]]:
    """One `relay.publish <topic>` span per record (child of the trace stored with its event),
    open until the broker acknowledged; yields the records with `traceparent` headers that
    point at those spans, so consumers continue the trace from the publish."""
    from dataclasses import replace

    spans: list[trace.Span] = []
    traced: list[OutboundRecord] = []
    for record in records:
        headers = dict(record.headers)
        stored = headers.get("traceparent")
        if not stored:
            traced.append(record)
            continue
        event_type = headers.get("event_type", b"").decode(errors="replace")
        span = tracer.start_span(
            f"relay.publish {record.topic}",
            context=_propagator.extract({"traceparent": stored.decode()}),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.outbox.position": record.position,
                "event_type": event_type,
            },
        )
        spans.append(span)
        own = format_traceparent(span)
        if own is not None:
            record = replace(
                record,
                headers=[(k, own.encode() if k == "traceparent" else v) for k, v in record.headers],
            )
        traced.append(record)
    try:
        yield traced
    except BaseException as exc:
        for span in spans:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        for span in spans:
            span.end()
