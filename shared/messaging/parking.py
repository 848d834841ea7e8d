"""Deliveries an event-sourced consumer cannot apply yet, kept until what they wait for arrives.

A consumer that reads several topics sees them in no guaranteed order between topics: after a
restart it can be behind on one topic (say policy.events) and read on another (billing.events)
an event about a certificate it has not registered yet. Such an event is not an anomaly, it is
early. Its reaction raises `WaitFor(key)`; the sink then parks the delivery in a `Parked`
aggregate for that key, in the same transaction as its position, and lists the key in the
consumer's `ParkingLot`. When an event that releases the key has been applied, the sink applies
the parked deliveries again through the normal reaction, each with its `ProcessedEvent` marker;
the lot lets a restarted consumer finish a release a crash interrupted.

The envelope is kept as it travelled on Kafka: its personal fields stay sealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

PARKING_NAMESPACE = UUID("5a0d7f6e-2b8c-4f0b-9d41-7c7e3f1e9a62")


class WaitFor(Exception):
    """A reaction's verdict that its event is early: it waits for something keyed `key`."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class ParkedDelivery:
    event_id: str
    topic: str
    partition: int
    offset: int
    envelope: str


class Parked(Aggregate):
    """The deliveries of one consumer waiting for one key, in the order they arrived."""

    @staticmethod
    def create_id(consumer: str, key: str) -> UUID:
        return uuid5(PARKING_NAMESPACE, f"{consumer}|parked|{key}")

    @event("Opened")
    def __init__(self, consumer: str, key: str) -> None:
        self.consumer = consumer
        self.key = key
        self.waiting: dict[str, dict] = {}

    @event("Waiting")
    def wait(self, event_id: str, topic: str, partition: int, offset: int, envelope: str) -> None:
        self.waiting[event_id] = {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "envelope": envelope,
        }

    @event("Released")
    def release(self, event_id: str) -> None:
        self.waiting.pop(event_id, None)

    @event("Refused")
    def refuse(self, event_id: str, reason: str) -> None:
        """Released, but its reaction rejected it: it was never applied (the reason says why)."""
        self.waiting.pop(event_id, None)

    def deliveries(self) -> list[ParkedDelivery]:
        return [ParkedDelivery(event_id, **entry) for event_id, entry in self.waiting.items()]


class ParkingLot(Aggregate):
    """The keys one consumer has deliveries parked under."""

    @staticmethod
    def create_id(consumer: str) -> UUID:
        return uuid5(PARKING_NAMESPACE, f"{consumer}|lot")

    @event("Opened")
    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self.keys: list[str] = []

    @event("KeyParked")
    def park(self, key: str) -> None:
        if key not in self.keys:
            self.keys.append(key)

    @event("KeyCleared")
    def clear(self, key: str) -> None:
        if key in self.keys:
            self.keys.remove(key)
