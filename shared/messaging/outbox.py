"""The outbox: a service's notification log, read as integration events.

No dual writes: a command stores its events in one transaction; whatever reads the outbox
(the Kafka relay, or in-process delivery) publishes afterwards, from a recorded position.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from shared.contracts.envelope import Envelope, IntegrationEvent
from shared.eventstore import ServiceApplication, event_metadata
from shared.messaging.records import OutboundRecord
from shared.tracing import trace_headers

ToIntegration = Callable[[Any], IntegrationEvent | None]


class Outbox:
    def __init__(self, app: ServiceApplication, topic: str, to_integration: ToIntegration) -> None:
        self.app = app
        self.topic = topic
        self.to_integration = to_integration

    def read(self, after: int, limit: int = 500) -> tuple[list[OutboundRecord], int]:
        """Records after notification id `after`, and the last notification id read.

        Domain events without a public contract are skipped but still move the position on.
        """
        notifications = self.app.process_recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        prefetch_keys = getattr(self.app.mapper, "prefetch_keys", None)  # a SealingMapper's
        if prefetch_keys is not None and notifications:
            prefetch_keys(notifications)
        records = []
        for notification in notifications:
            domain_event = self.app.mapper.to_domain_event(notification)
            event = self.to_integration(domain_event)
            if event is None:
                continue
            certificate_number = event.certificate_number  # type: ignore[attr-defined]
            envelope = Envelope.wrap(
                event,
                aggregate_id=notification.originator_id,
                aggregate_version=notification.originator_version,
                occurred_at=domain_event.timestamp,
                certificate_number=certificate_number,
            )
            meta = event_metadata(domain_event)
            headers = trace_headers(meta.get("traceparent"))
            headers.append(("event_type", envelope.event_type.encode()))
            if meta.get("cause"):
                headers.append(("cause", json.dumps(meta["cause"]).encode()))
            records.append(
                OutboundRecord(
                    position=notification.id,
                    topic=self.topic,
                    key=certificate_number,
                    value=envelope.to_bytes(),
                    headers=headers,
                )
            )
        last = notifications[-1].id if notifications else after
        return records, last

    def position(self, reader: str) -> int:
        return self.app.process_recorder.max_tracking_id(f"outbox:{reader}") or 0

    def record_position(self, reader: str, position: int) -> None:
        # IntegrityError: already at or past it (another relay instance, or a re-run).
        with contextlib.suppress(IntegrityError):
            self.app.process_recorder.insert_tracking(Tracking(f"outbox:{reader}", position))
