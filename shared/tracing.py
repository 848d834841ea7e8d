"""W3C trace context across the bus, on top of OpenTelemetry.

Producers store the current `traceparent` with each event (see `eventstore.MetadataMapper`),
the relay copies it to Kafka headers, and consumers continue the trace from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
tracer = trace.get_tracer("worksite-portal")


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def trace_headers(traceparent: str | None) -> list[tuple[str, bytes]]:
    return [("traceparent", traceparent.encode())] if traceparent else []


def traceparent_from_headers(headers: Mapping[str, bytes] | None) -> str | None:
    if not headers:
        return None
    value = headers.get("traceparent")
    return value.decode() if isinstance(value, bytes) else value


@contextmanager
def continued_span(
    name: str, traceparent: str | None, **attributes: str | int
) -> Iterator[trace.Span]:
    """A span that is a child of the caller's or producer's trace, when there is one."""
    parent = _propagator.extract({"traceparent": traceparent}) if traceparent else None
    token = otel_context.attach(parent) if parent is not None else None
    try:
        with tracer.start_as_current_span(name, attributes=attributes) as span:
            yield span
    finally:
        if token is not None:
            otel_context.detach(token)
