"""Where `portal replay` reads envelopes from, and how it reports progress.

`OutboxSource`: the producers' outboxes (`Outbox.read` in pages, from notification id 0), the
topics merged by `occurred_at`, each in its own order — what embedded delivery hands the live
consumer. `replay_kafka.KafkaSource`: the topics themselves.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterator
from typing import Any, Protocol

from shared.contracts.envelope import ContractError, Envelope, parse_event, unwrap
from shared.messaging.outbox import Outbox
from shared.messaging.records import Delivery

log = logging.getLogger(__name__)


class Progress(Protocol):
    def start(self, topic: str, total: int) -> None: ...
    def update(self, topic: str, position: int) -> None: ...


class NoProgress:
    def start(self, topic: str, total: int) -> None:
        pass

    def update(self, topic: str, position: int) -> None:
        pass


class Source(Protocol):
    """Where envelopes come from: `totals()` for progress, `read_new()` everything after what
    it already gave (it remembers its positions), in delivery order."""

    topics: list[str]

    def totals(self) -> dict[str, int]: ...
    def read_new(self) -> Iterator[Delivery]: ...


class OutboxSource:
    """The producers' outboxes, partition 0, offset = notification id (as embedded delivery)."""

    def __init__(self, outboxes: dict[str, Outbox], page: int = 500) -> None:
        self.outboxes = outboxes
        self.topics = list(outboxes)
        self.page = page
        self.positions = dict.fromkeys(self.topics, 0)

    def totals(self) -> dict[str, int]:
        return {
            topic: outbox.app.process_recorder.max_notification_id() or 0
            for topic, outbox in self.outboxes.items()
        }

    def read_new(self) -> Iterator[Delivery]:
        streams = [self._stream(topic) for topic in self.topics]
        return heapq.merge(*streams, key=lambda d: d.envelope.occurred_at)

    def _stream(self, topic: str) -> Iterator[Delivery]:
        """The outbox's envelopes unwrapped as a consumer parses them — personal fields
        opened from the sealed envelope, so a shredded key reads as erased — without the trip
        through bytes (serialize, then parse and validate the envelope)."""
        outbox = self.outboxes[topic]
        while True:
            position = self.positions[topic]
            outgoing, last = outbox.read_events(position, self.page)
            self.positions[topic] = last
            for o in outgoing:
                envelope, event = unwrap_or_skip(o.envelope)
                if envelope is not None:
                    yield Delivery(topic, 0, o.position, envelope, event)
            if last == position:
                return


def parse_or_skip(value: bytes) -> tuple[Any, Any]:
    try:
        return parse_event(value)
    except ContractError as exc:
        log.warning("replay: an envelope that does not parse is skipped (%s)", type(exc).__name__)
        return None, None


def unwrap_or_skip(envelope: Envelope) -> tuple[Any, Any]:
    try:
        return unwrap(envelope)
    except ContractError as exc:
        log.warning("replay: an event that does not validate is skipped (%s)", type(exc).__name__)
        return None, None
