"""A consumer whose effects are new events in an event-sourced service (a reaction).

Positions are `eventsourcing` tracking records (`<consumer>:<topic>:<partition>` → offset),
written in the same transaction as the new events. Idempotence per upstream
`(aggregate_id, aggregate_version)` comes from a `ProcessedEvent` marker aggregate with a
deterministic id, saved in that same transaction: a re-published event collides with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from uuid import UUID, uuid5

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, Tracking

from shared.contracts.envelope import Envelope, IntegrationEvent
from shared.eventstore import ServiceApplication, caused_by
from shared.faults import crash_point
from shared.messaging.records import Delivery
from shared.tracing import tracer

MARKER_NAMESPACE = UUID("0b7c3c43-6d8e-4a35-bb3c-62f4d8a0c5d2")
MAX_CONFLICT_RETRIES = 10

Reaction = Callable[[Envelope, IntegrationEvent], Sequence[Aggregate]]


class ProcessedEvent(Aggregate):
    """Marks that `consumer` applied the upstream event `(aggregate_id, version)`."""

    @staticmethod
    def create_id(consumer: str, aggregate_id: str, version: int) -> UUID:
        return uuid5(MARKER_NAMESPACE, f"{consumer}|{aggregate_id}|{version}")

    @event("Processed")
    def __init__(self, consumer: str, aggregate_id: str, version: int) -> None:
        self.consumer = consumer
        self.upstream = (aggregate_id, version)


class EventSourcedSink:
    def __init__(
        self,
        app: ServiceApplication,
        name: str,
        reactions: dict[type[IntegrationEvent], Reaction],
    ) -> None:
        self.app = app
        self.name = name
        self.reactions = reactions

    def _tracking_name(self, topic: str, partition: int) -> str:
        return f"{self.name}:{topic}:{partition}"

    def position(self, topic: str, partition: int) -> int | None:
        return self.app.process_recorder.max_tracking_id(self._tracking_name(topic, partition))

    def skip(self, topic: str, partition: int, offset: int) -> None:
        tracking = Tracking(self._tracking_name(topic, partition), offset)
        with contextlib.suppress(IntegrityError):
            self.app.process_recorder.insert_tracking(tracking)

    def apply(self, delivery: Delivery) -> bool:
        tracking = Tracking(
            self._tracking_name(delivery.topic, delivery.partition), delivery.offset
        )
        reaction = self.reactions.get(type(delivery.event)) if delivery.event else None
        if reaction is None:
            self.skip(delivery.topic, delivery.partition, delivery.offset)
            return False
        envelope = delivery.envelope
        aggregate_id, version = envelope.idempotency_key
        marker_id = ProcessedEvent.create_id(self.name, aggregate_id, version)
        for _ in range(MAX_CONFLICT_RETRIES):
            if self._already_applied(tracking, marker_id):
                self.skip(delivery.topic, delivery.partition, delivery.offset)
                return False
            span = tracer.start_as_current_span(
                f"react {envelope.event_type}",
                attributes={
                    "event_type": envelope.event_type,
                    "aggregate_version": envelope.aggregate_version,
                },
            )
            with span, caused_by("reaction", f"{self.name}:{envelope.event_type}"):
                aggregates = reaction(envelope, delivery.event)  # type: ignore[arg-type]
                marker = ProcessedEvent(self.name, aggregate_id, version)
                processing = ProcessingEvent(tracking=tracking)
                processing.collect_events(*aggregates, marker)
                crash_point("consumer.in_transaction")
                try:
                    self.app._record(processing)
                except IntegrityError:
                    continue  # a duplicate, or a concurrent command: look again
            self.app._take_snapshots(processing)
            return True
        raise RuntimeError(f"{self.name}: could not apply {envelope.event_id} after retries")

    def _already_applied(self, tracking: Tracking, marker_id: UUID) -> bool:
        recorder = self.app.process_recorder
        if recorder.has_tracking_id(tracking.application_name, tracking.notification_id):
            return True
        return bool(recorder.select_events(marker_id, limit=1))
