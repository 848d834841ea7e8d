"""The relay: outbox → publisher, recording its position only after the broker acknowledged.

A crash between publish and record re-publishes the batch (consumers are idempotent);
nothing is ever skipped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from shared.faults import crash_point
from shared.messaging.doorbell import Doorbell
from shared.messaging.outbox import Outbox
from shared.messaging.records import OutboundRecord
from shared.telemetry import publish_spans

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def publish(self, records: list[OutboundRecord]) -> None:
        """Return only when every record is acknowledged."""


class Relay:
    def __init__(
        self, outbox: Outbox, publisher: Publisher, name: str = "kafka", batch_size: int = 500
    ) -> None:
        self.outbox = outbox
        self.publisher = publisher
        self.name = name
        self.batch_size = batch_size

    async def run_once(self) -> int:
        """Publish one batch; answers how many records were published."""
        after = await asyncio.to_thread(self.outbox.position, self.name)
        records, last = await asyncio.to_thread(self.outbox.read, after, self.batch_size)
        if last == after:
            return 0
        if records:
            crash_point("relay.before_publish")
            with publish_spans(records) as traced:  # `relay.publish <topic>` spans
                await self.publisher.publish(traced)
            crash_point("relay.after_publish")
        await asyncio.to_thread(self.outbox.record_position, self.name, last)
        return len(records)

    async def run_forever(
        self, stop: asyncio.Event, doorbell: Doorbell | None = None, idle_seconds: float = 0.5
    ) -> None:
        """Publish until stopped; between batches wait for the doorbell (or poll)."""
        doorbell = doorbell or Doorbell().follow(self.outbox.app)
        backoff = idle_seconds
        stopped = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            try:
                published = await self.run_once()
                backoff = idle_seconds
            except Exception:  # broker or database away: keep the position, try again
                log.exception("relay %s: publish failed; retrying", self.outbox.topic)
                published = 0
                backoff = min(backoff * 2 or 0.1, 5.0)
            if not published:
                bell = asyncio.ensure_future(doorbell.wait(backoff))
                await asyncio.wait({bell, stopped}, return_when=asyncio.FIRST_COMPLETED)
                bell.cancel()
        stopped.cancel()
        doorbell.close()
