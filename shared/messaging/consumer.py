"""The consumer runner's core, the same for Kafka and in-process delivery.

For each message: parse and validate it; hand it to the consumer's `Sink`, which applies the
effect and records the position (topic, partition, offset) in one transaction of its own
database, idempotently per `(aggregate_id, aggregate_version)`. A message that cannot be
parsed or applied goes to the dead-letter topic with the reason, its position is recorded,
and the consumer carries on. A database that is away is waited for, never dead-lettered.

`handle_batch` takes the records one fetch returned. For a sink that can apply a run of
deliveries in one transaction (`SqlSink.apply_many`), each run of parsed messages between two
dead letters is applied and committed at once: one commit per fetch instead of one per event,
so a consumer that falls behind catches up in large transactions, while one that keeps up still
commits each event as it comes (a fetch then holds one record). A run that fails is applied
again one message at a time, with the same retries and dead-lettering as `handle`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError

from shared.contracts.envelope import ContractError, Envelope, IntegrationEvent, parse_event
from shared.faults import crash_point, stall_point
from shared.messaging.records import Delivery, RejectedMessage
from shared.personal_data import prefetch_keys_of
from shared.tracing import continued_span, traceparent_from_headers, tracer

log = logging.getLogger(__name__)

MAX_ATTEMPTS_FOR_UNKNOWN_ERRORS = 5


class Sink(Protocol):
    """A consumer's own database: its effects and its positions."""

    name: str

    def position(self, topic: str, partition: int) -> int | None:
        """The offset of the last message applied (or skipped) from that partition."""

    def apply(self, delivery: Delivery) -> bool:
        """Apply the effect and record the position in one transaction; False if duplicate."""

    def skip(self, topic: str, partition: int, offset: int) -> None:
        """Record the position only (after dead-lettering a message)."""


class BatchSink(Sink, Protocol):
    """A sink that can also apply a run of deliveries in one transaction."""

    def apply_many(
        self,
        deliveries: Sequence[Delivery],
        around: Callable[[Delivery], ContextManager[Any]] | None = None,
    ) -> int:
        """Apply in order, in one transaction; how many changed the read models. Raises (and
        rolls everything back) on any error."""


# One fetched message: (topic, partition, offset, value, headers).
Record = tuple[str, int, int, bytes, dict[str, bytes]]


class DeadLetters(Protocol):
    async def publish(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: bytes,
        headers: dict[str, bytes],
        reason: str,
        consumer: str,
    ) -> None: ...


def is_connectivity_error(exc: BaseException) -> bool:
    """Errors that mean "the database is away or busy": wait and retry, never dead-letter.

    SQLite reports a busy file and a missing table with the same exception class; only the
    first is worth waiting for.
    """
    import sqlite3

    import psycopg
    import sqlalchemy.exc
    from eventsourcing.persistence import InterfaceError, OperationalError

    original = getattr(exc, "orig", None) or exc.__cause__ or exc
    if isinstance(original, sqlite3.OperationalError) or isinstance(exc, sqlite3.OperationalError):
        text = str(original).lower()
        return any(word in text for word in ("locked", "busy", "unable to open", "disk i/o"))
    kinds = (
        OperationalError,
        InterfaceError,
        psycopg.OperationalError,
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        ConnectionError,
        TimeoutError,
    )
    return isinstance(exc, kinds)


def connectivity_backoff(attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1` when the database is away: doubling from
    0.2 s up to 5 s, without limit on the number of attempts."""
    return min(0.2 * 2 ** min(attempt, 5), 5.0)


class ConsumerCore:
    def __init__(self, sink: Sink, topics: list[str], dead_letters: DeadLetters) -> None:
        self.sink = sink
        self.topics = topics
        self.dead_letters = dead_letters
        self.applied = 0
        self.duplicates = 0
        self.dead_lettered = 0
        # (topic, partition) → (offset, occurred_at) of the last event applied or skipped as
        # a duplicate there: read by /metrics and freshness (shared/metrics.py) only.
        self.last_applied: dict[tuple[str, int], tuple[int, datetime]] = {}

    @property
    def name(self) -> str:
        return self.sink.name

    async def handle(
        self, topic: str, partition: int, offset: int, value: bytes, headers: dict[str, bytes]
    ) -> None:
        with self._consume_span(topic, partition, offset, headers) as span:
            parsed = await self._parse(topic, partition, offset, value)
            if isinstance(parsed, str):
                await self._dead_letter(topic, partition, offset, value, headers, parsed)
                return
            envelope, event = parsed
            span.set_attribute("event_type", envelope.event_type)
            span.set_attribute("aggregate_version", envelope.aggregate_version)
            delivery = Delivery(
                topic, partition, offset, envelope, event, traceparent_from_headers(headers)
            )
            await stall_point("consumer.stall")
            await self._apply_one(delivery, value, headers)

    async def handle_batch(self, records: Sequence[Record]) -> None:
        """The records of one fetch, in partition order (see the module's docstring)."""
        if len(records) == 1 or not hasattr(self.sink, "apply_many"):
            for record in records:
                await self.handle(*record)
            return
        try:  # an optimisation only: a failure here is met again, and handled, per message
            await asyncio.to_thread(prefetch_keys_of, (r[3] for r in records if r[3]))
        except Exception:
            log.debug("could not prefetch the fetch's keys", exc_info=True)
        run: list[tuple[Delivery, bytes, dict[str, bytes]]] = []
        for topic, partition, offset, value, headers in records:
            parsed = await self._parse(topic, partition, offset, value)
            if isinstance(parsed, str):
                # The run before it first: dead-lettering records this message's position.
                await self._apply_run(run)
                run = []
                with self._consume_span(topic, partition, offset, headers):
                    await self._dead_letter(topic, partition, offset, value, headers, parsed)
                continue
            envelope, event = parsed
            traceparent = traceparent_from_headers(headers)
            run.append(
                (Delivery(topic, partition, offset, envelope, event, traceparent), value, headers)
            )
        await self._apply_run(run)

    async def _apply_run(self, run: Sequence[tuple[Delivery, bytes, dict[str, bytes]]]) -> None:
        if not run:
            return
        await stall_point("consumer.stall")
        deliveries = [delivery for delivery, _, _ in run]
        sink: BatchSink = self.sink  # type: ignore[assignment]
        try:
            applied = await asyncio.to_thread(sink.apply_many, deliveries, self._traced)
        except Exception as exc:
            log.info(
                "%s: a run of %d messages failed (%s: %s); applying them one by one",
                self.name,
                len(run),
                type(exc).__name__,
                exc,
            )
            for delivery, value, headers in run:
                with self._consume_span(
                    delivery.topic, delivery.partition, delivery.offset, headers
                ):
                    await self._apply_one(delivery, value, headers)
            return
        crash_point("consumer.after_commit")
        self.applied += applied
        self.duplicates += len(run) - applied
        for delivery in deliveries:
            self.last_applied[(delivery.topic, delivery.partition)] = (
                delivery.offset,
                delivery.envelope.occurred_at,
            )

    @contextmanager
    def _traced(self, delivery: Delivery) -> Iterator[None]:
        """Around each delivery of a run: the same spans as `handle` (consume, then apply),
        continuing the producer's trace."""
        with (
            continued_span(
                f"consume {delivery.topic}",
                delivery.traceparent,
                **self._consume_attributes(delivery.topic, delivery.partition, delivery.offset),
                event_type=delivery.envelope.event_type,
                aggregate_version=delivery.envelope.aggregate_version,
            ),
            tracer.start_as_current_span(
                f"{self.name} apply {delivery.envelope.event_type}",
                attributes={
                    "messaging.destination": delivery.topic,
                    "messaging.kafka.offset": delivery.offset,
                },
            ),
        ):
            yield

    def _consume_attributes(self, topic: str, partition: int, offset: int) -> dict[str, Any]:
        return {
            "messaging.destination.name": topic,
            "messaging.kafka.partition": partition,
            "messaging.kafka.offset": offset,
            "messaging.consumer.group.name": self.name,
        }

    def _consume_span(
        self, topic: str, partition: int, offset: int, headers: dict[str, bytes]
    ) -> ContextManager[Any]:
        return continued_span(
            f"consume {topic}",
            traceparent_from_headers(headers),
            **self._consume_attributes(topic, partition, offset),
        )

    async def _apply_one(self, delivery: Delivery, value: bytes, headers: dict[str, bytes]) -> None:
        """Apply one delivery: wait for a database that is away, dead-letter what cannot be
        applied."""
        topic, partition, offset = delivery.topic, delivery.partition, delivery.offset
        envelope = delivery.envelope
        attempt = 0
        while True:
            try:
                with tracer.start_as_current_span(
                    f"{self.name} apply {envelope.event_type}",
                    attributes={"messaging.destination": topic, "messaging.kafka.offset": offset},
                ):
                    applied = await asyncio.to_thread(self.sink.apply, delivery)
            except (RejectedMessage, ContractError, ValidationError) as exc:
                await self._dead_letter(topic, partition, offset, value, headers, str(exc))
                return
            except Exception as exc:
                delay = self._retry_delay(exc, attempt, f"{topic}@{offset}")
                if delay is None:
                    reason = f"{type(exc).__name__}: {exc}"
                    await self._dead_letter(topic, partition, offset, value, headers, reason)
                    return
                attempt += 1
                await asyncio.sleep(delay)
                continue
            crash_point("consumer.after_commit")
            if applied:
                self.applied += 1
            else:
                self.duplicates += 1
            self.last_applied[(topic, partition)] = (offset, envelope.occurred_at)
            return

    async def _parse(
        self, topic: str, partition: int, offset: int, value: bytes
    ) -> tuple[Envelope, IntegrationEvent | None] | str:
        """The envelope and event, or the reason to dead-letter the message. Opening sealed
        personal fields reads the key store: a database that is away is waited for here too (a
        message whose handling raises is acknowledged already, so it must not escape)."""
        attempt = 0
        while True:
            try:
                return parse_event(value)
            except ContractError as exc:
                return str(exc)
            except Exception as exc:
                delay = self._retry_delay(exc, attempt, f"{topic}@{offset}")
                if delay is None:
                    return f"{type(exc).__name__}: {exc}"
                attempt += 1
                await asyncio.sleep(delay)

    def _retry_delay(self, exc: Exception, attempt: int, where: str) -> float | None:
        """How long to wait before attempt `attempt + 1`, or None to give up (dead-letter).
        A database that is away is waited for without limit; other errors a few times."""
        if is_connectivity_error(exc):
            log.warning("%s: database unavailable (%s); retrying", self.name, exc)
            return connectivity_backoff(attempt)
        if attempt + 1 >= MAX_ATTEMPTS_FOR_UNKNOWN_ERRORS:
            log.exception("%s: giving up on %s", self.name, where)
            return None
        return 0.05 * (attempt + 1)

    async def _dead_letter(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: bytes,
        headers: dict[str, bytes],
        reason: str,
    ) -> None:
        log.warning("%s: dead-lettering %s[%s]@%s: %s", self.name, topic, partition, offset, reason)
        await self.dead_letters.publish(topic, partition, offset, value, headers, reason, self.name)
        await asyncio.to_thread(self.sink.skip, topic, partition, offset)
        self.dead_lettered += 1
