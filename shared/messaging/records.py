"""Plain data passed between outbox, transports and consumers."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.contracts.envelope import Envelope, IntegrationEvent


@dataclass(frozen=True)
class OutboundRecord:
    """One integration event ready to publish; `position` is its notification id."""

    position: int
    topic: str
    key: str
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class Delivery:
    """One parsed message as a consumer sees it, with where it came from."""

    topic: str
    partition: int
    offset: int
    envelope: Envelope
    event: IntegrationEvent | None
    traceparent: str | None = None


class RejectedMessage(Exception):
    """A handler's verdict that a message can never be applied (it goes to the DLQ)."""
