"""A consumer whose effects are new events in an event-sourced service (a reaction).

Positions are `eventsourcing` tracking records (`<consumer>:<topic>:<partition>` → offset),
written in the same transaction as the new events. Idempotence per upstream
`(aggregate_id, aggregate_version)` comes from a `ProcessedEvent` marker aggregate with a
deterministic id, saved in that same transaction: a re-published event collides with it.

A reaction that finds its event early (what it needs has not arrived on another topic yet)
raises `WaitFor`: the delivery is parked (`parking.py`) and applied once an event in
`releases` for the same key has been applied.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, Tracking

from shared.contracts.envelope import Envelope, IntegrationEvent, parse_event
from shared.eventstore import ServiceApplication, caused_by
from shared.faults import crash_point
from shared.messaging.parking import Parked, ParkedDelivery, ParkingLot, WaitFor
from shared.messaging.records import Delivery, RejectedMessage
from shared.tracing import tracer

MARKER_NAMESPACE = UUID("0b7c3c43-6d8e-4a35-bb3c-62f4d8a0c5d2")
MAX_CONFLICT_RETRIES = 10

Reaction = Callable[[Envelope, IntegrationEvent], Sequence[Aggregate]]
# What an applied event releases: the key of the parked deliveries that waited for it.
Release = Callable[[IntegrationEvent], str]

log = logging.getLogger(__name__)


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
        releases: dict[type[IntegrationEvent], Release] | None = None,
    ) -> None:
        self.app = app
        self.name = name
        self.reactions = reactions
        self.releases = releases or {}
        self._lot_checked = not self.releases

    def _tracking_name(self, topic: str, partition: int) -> str:
        return f"{self.name}:{topic}:{partition}"

    def position(self, topic: str, partition: int) -> int | None:
        return self.app.process_recorder.max_tracking_id(self._tracking_name(topic, partition))

    def skip(self, topic: str, partition: int, offset: int) -> None:
        tracking = Tracking(self._tracking_name(topic, partition), offset)
        with contextlib.suppress(IntegrityError):
            self.app.process_recorder.insert_tracking(tracking)

    def apply(self, delivery: Delivery) -> bool:
        """Apply (or park) one delivery; False when it was a duplicate or nothing reacts to it."""
        if not self._lot_checked:
            self.release_all()
        tracking = Tracking(
            self._tracking_name(delivery.topic, delivery.partition), delivery.offset
        )
        reaction = self.reactions.get(type(delivery.event)) if delivery.event else None
        if reaction is None:
            self.skip(delivery.topic, delivery.partition, delivery.offset)
            return False
        applied = self._react(reaction, delivery, tracking)
        release = self.releases.get(type(delivery.event))
        if release is not None:
            self._release(release(delivery.event))  # type: ignore[arg-type]
        return applied

    def _react(self, reaction: Reaction, delivery: Delivery, tracking: Tracking) -> bool:
        envelope = delivery.envelope
        marker_id = ProcessedEvent.create_id(self.name, *envelope.idempotency_key)
        for _ in range(MAX_CONFLICT_RETRIES):
            if self._already_applied(tracking, marker_id):
                self.skip(delivery.topic, delivery.partition, delivery.offset)
                return False
            processing = ProcessingEvent(tracking=tracking)
            try:
                processing.collect_events(*self._reaction(reaction, delivery))
                cause = "reaction"
            except WaitFor as early:
                processing.collect_events(*self._parking(delivery, early))
                cause = "parking"
            crash_point("consumer.in_transaction")
            if self._recorded(processing, cause, envelope.event_type):
                return True
        raise RuntimeError(f"{self.name}: could not apply {envelope.event_id} after retries")

    def _reaction(self, reaction: Reaction, delivery: Delivery) -> list[Aggregate]:
        """The reaction's aggregates, then the marker (the audit trail relies on that order)."""
        envelope = delivery.envelope
        span = tracer.start_as_current_span(
            f"react {envelope.event_type}",
            attributes={
                "event_type": envelope.event_type,
                "aggregate_version": envelope.aggregate_version,
            },
        )
        with span, caused_by("reaction", f"{self.name}:{envelope.event_type}"):
            aggregates = reaction(envelope, delivery.event)  # type: ignore[arg-type]
        return [*aggregates, ProcessedEvent(self.name, *envelope.idempotency_key)]

    def _recorded(self, processing: ProcessingEvent, cause: str, event_type: str) -> bool:
        """Record one transaction; False when it lost a race (a duplicate or a concurrent
        command saved first: look again)."""
        try:
            with caused_by(cause, f"{self.name}:{event_type}"):
                self.app._record(processing)
        except IntegrityError:
            return False
        self.app._take_snapshots(processing)
        return True

    def _parking(self, delivery: Delivery, early: WaitFor) -> list[Aggregate]:
        """The delivery parked under `early.key` (recorded with its position, no marker)."""
        envelope = delivery.envelope
        log.info("%s: parking %s %s: %s", self.name, envelope.event_type, envelope.event_id, early)
        parked = self._get(Parked.create_id(self.name, early.key), Parked) or Parked(
            self.name, early.key
        )
        if str(envelope.event_id) not in parked.waiting:
            parked.wait(
                str(envelope.event_id),
                delivery.topic,
                delivery.partition,
                delivery.offset,
                envelope.to_bytes().decode(),
            )
        lot = self._lot()
        if early.key not in lot.keys:
            lot.park(early.key)
        return [parked, lot]

    def release_all(self) -> None:
        """Apply what can be applied of everything parked (a restart after an interrupted
        release)."""
        for key in list(self._lot().keys):
            self._release(key)
        self._lot_checked = True

    def _release(self, key: str) -> None:
        parked = self._get(Parked.create_id(self.name, key), Parked)
        if parked is None:
            return
        for waiting in parked.deliveries():
            if not self._apply_parked(key, waiting):
                return

    def _apply_parked(self, key: str, waiting: ParkedDelivery) -> bool:
        """Apply one parked delivery and release it, in one transaction; False if it must
        wait longer."""
        envelope, event = parse_event(waiting.envelope.encode())
        delivery = Delivery(waiting.topic, waiting.partition, waiting.offset, envelope, event)
        reaction = self.reactions[type(event)]
        marker_id = ProcessedEvent.create_id(self.name, *envelope.idempotency_key)
        for _ in range(MAX_CONFLICT_RETRIES):
            parked = self._get(Parked.create_id(self.name, key), Parked)
            if parked is None or waiting.event_id not in parked.waiting:
                return True
            applied: list[Aggregate] = []
            if not self.app.process_recorder.select_events(marker_id, limit=1):
                try:
                    applied = self._reaction(reaction, delivery)
                except WaitFor:
                    return False
                except RejectedMessage as exc:
                    log.error(
                        "%s: parked %s %s rejected on release: %s",
                        self.name,
                        envelope.event_type,
                        envelope.event_id,
                        exc,
                    )
                    parked.refuse(waiting.event_id, str(exc))
            # else: applied meanwhile (redelivered after a rewind), so only released here
            if waiting.event_id in parked.waiting:
                parked.release(waiting.event_id)
            released: list[Aggregate] = [parked]
            if not parked.waiting:
                lot = self._lot()
                lot.clear(key)
                released.append(lot)
            processing = ProcessingEvent()
            # The release first, the reaction and its marker last: the audit trail links the
            # events stored right before a marker to the marker's upstream event.
            processing.collect_events(*released, *applied)
            cause = "reaction" if applied else "parking"
            if self._recorded(processing, cause, envelope.event_type):
                return True
        raise RuntimeError(f"{self.name}: could not release {waiting.event_id} after retries")

    def _lot(self) -> ParkingLot:
        return self._get(ParkingLot.create_id(self.name), ParkingLot) or ParkingLot(self.name)

    def _get(self, aggregate_id: UUID, kind: type) -> Any:
        try:
            found = self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(found, kind), f"{aggregate_id} is a {type(found).__name__}"
        return found

    def _already_applied(self, tracking: Tracking, marker_id: UUID) -> bool:
        recorder = self.app.process_recorder
        if recorder.has_tracking_id(tracking.application_name, tracking.notification_id):
            return True
        return bool(recorder.select_events(marker_id, limit=1))
