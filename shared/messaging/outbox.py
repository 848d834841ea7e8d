"""The outbox: a service's notification log, read as integration events.

No dual writes: a command stores its events in one transaction; whatever reads the outbox
(the Kafka relay, or in-process delivery) publishes afterwards, from a recorded position.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from shared.contracts.envelope import Envelope, IntegrationEvent
from shared.eventstore import ServiceApplication, event_metadata
from shared.messaging.records import OutboundRecord
from shared.personal_data import prefetch_keys_of
from shared.tracing import trace_headers

ToIntegration = Callable[[Any], IntegrationEvent | None]


@dataclass(frozen=True)
class Outgoing:
    """One integration event read from the outbox: its notification id, its envelope, the
    event itself (personal fields in clear, as a consumer parses it) and the domain event's
    metadata (trace context, cause)."""

    position: int
    envelope: Envelope
    event: IntegrationEvent
    metadata: dict[str, Any]


class Outbox:
    def __init__(self, app: ServiceApplication, topic: str, to_integration: ToIntegration) -> None:
        self.app = app
        self.topic = topic
        self.to_integration = to_integration

    def read_events(self, after: int, limit: int = 500) -> tuple[list[Outgoing], int]:
        """The integration events after notification id `after`, enveloped (personal fields
        sealed), and the last notification id read. Domain events without a public contract
        are skipped but still move the position on."""
        notifications = self.app.process_recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        # The keys the page's sealed values need, in one query (the mapper opens them next).
        prefetch_keys_of(n.state for n in notifications)
        outgoing = []
        for notification in notifications:
            domain_event = self.app.mapper.to_domain_event(notification)
            event = self.to_integration(domain_event)
            if event is None:
                continue
            envelope = Envelope.wrap(
                event,
                aggregate_id=notification.originator_id,
                aggregate_version=notification.originator_version,
                occurred_at=domain_event.timestamp,
                certificate_number=event.certificate_number,  # type: ignore[attr-defined]
            )
            outgoing.append(
                Outgoing(notification.id, envelope, event, event_metadata(domain_event))
            )
        last = notifications[-1].id if notifications else after
        return outgoing, last

    def read(self, after: int, limit: int = 500) -> tuple[list[OutboundRecord], int]:
        """`read_events` as the records a relay produces: the envelope's bytes, keyed by
        certificate number, with the trace context, event type and cause as headers."""
        outgoing, last = self.read_events(after, limit)
        return [self._record(o) for o in outgoing], last

    def _record(self, outgoing: Outgoing) -> OutboundRecord:
        envelope = outgoing.envelope
        headers = trace_headers(outgoing.metadata.get("traceparent"))
        headers.append(("event_type", envelope.event_type.encode()))
        if outgoing.metadata.get("cause"):
            headers.append(("cause", json.dumps(outgoing.metadata["cause"]).encode()))
        return OutboundRecord(
            position=outgoing.position,
            topic=self.topic,
            key=outgoing.event.certificate_number,  # type: ignore[attr-defined]
            value=envelope.to_bytes(),
            headers=headers,
        )

    def position(self, reader: str) -> int:
        return self.app.process_recorder.max_tracking_id(f"outbox:{reader}") or 0

    def record_position(self, reader: str, position: int) -> None:
        # IntegrityError: already at or past it (another relay instance, or a re-run).
        with contextlib.suppress(IntegrityError):
            self.app.process_recorder.insert_tracking(Tracking(f"outbox:{reader}", position))
