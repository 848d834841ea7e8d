"""OpenTelemetry for every process: a tracer provider named after the service, and a span per
HTTP request that continues the caller's W3C `traceparent`.

The command's span is current while its events are stored, so the event store records its
trace context (`eventstore.MetadataMapper`), the relay copies it to Kafka headers, and the
consumer's span continues the same trace (`tracing.continued_span`).

Exporter: `OTEL_TRACES_EXPORTER=console` prints spans; anything else keeps them in-process
only (the ids still propagate). Span attributes never carry personal data: request spans
name the route template, not the URL with its values.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from shared.tracing import continued_span

_provider: TracerProvider | None = None


def setup_telemetry(service_name: str, *processors: SpanProcessor) -> TracerProvider:
    """Install the process's tracer provider (once; later calls add processors)."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if os.environ.get("OTEL_TRACES_EXPORTER") == "console":
            _provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        trace.set_tracer_provider(_provider)
    for processor in processors:
        _provider.add_span_processor(processor)
    return _provider


def instrument_http(app: FastAPI, service_name: str) -> None:
    """A server span per request, child of the caller's `traceparent` header if any."""

    @app.middleware("http")
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
