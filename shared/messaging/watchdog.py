"""The stuck-consumer watchdog: notices a consumer that has work and makes no progress, and
restarts its Kafka consumer.

Stuck means: partitions assigned to this group member, messages not yet applied on them (lag:
the partition's last offset − the position recorded in the consumer's own database), and the
consumer's progress marker (messages applied + duplicates + dead-lettered) unchanged for longer
than `stall_seconds`. A consumer that is caught up, that has nothing assigned (a rebalance, or
another member has the partitions), or whose lag cannot be read (broker or database away) is
not stuck: the stall clock starts again.

- `StallDetector` is the decision, pure and clock-injected;
- `ConsumerWatchdog` observes every `interval` seconds and calls `restart` when stuck (once per
  stall episode: the clock starts again after a restart, so a consumer that is still stuck is
  restarted again only after another `stall_seconds`);
- `RestartableBroker` is what a restart does in a consumer process (`shared/runtime.py`): stop
  the FastStream broker and start a fresh one, which continues from the database's positions. If
  stopping or starting hangs or starting fails, the process exits with status 70 for its
  supervisor (docker's restart policy, the chaos harness) to restart it whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, NoReturn

from aiokafka import TopicPartition

from shared.messaging.consumer import ConsumerCore

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

    from shared.ops import KafkaOffsets

log = logging.getLogger(__name__)

Partition = tuple[str, int]  # (topic, partition); aiokafka's TopicPartition is one

DEFAULT_STALL_SECONDS = 30.0
DEFAULT_INTERVAL = 5.0
OBSERVE_TIMEOUT = 30.0
# Longer than FastStream's graceful shutdown (15 s), which a restart skips by cancelling the
# stuck handler first; a stop that still takes this long is itself stuck.
STOP_TIMEOUT = 30.0
START_TIMEOUT = 60.0
EXIT_STUCK = 70  # EX_SOFTWARE


def progress_marker(core: ConsumerCore) -> int:
    """Grows with every message the consumer gets past (applied, duplicate, dead-lettered)."""
    return core.applied + core.duplicates + core.dead_lettered


def pending(assigned: Collection[Partition], lag: Mapping[Partition, int]) -> int:
    """Messages not yet applied on the assigned partitions."""
    return sum(max(0, lag.get(tp, 0)) for tp in assigned)


class StallDetector:
    """Decides, from successive observations, when a consumer is stuck.

    `since` is when the current stall began as far as observations show: the first observation
    after the progress marker last moved, or after lag or assignment last lapsed (so the
    decision errs late, never early).
    """

    def __init__(self, stall_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_seconds = stall_seconds
        self.clock = clock
        self.since: float | None = None
        self.progress: int | None = None

    def wants_lag(self, assigned: Collection[Partition], progress: int) -> bool:
        """Whether `observe` needs the lag for these (else an empty mapping will do): only when
        something is assigned and the progress marker has not moved."""
        return bool(assigned) and progress == self.progress

    def observe(
        self, assigned: Collection[Partition], lag: Mapping[Partition, int], progress: int
    ) -> bool:
        """True when stuck: then the clock starts again (one decision per stall episode)."""
        now = self.clock()
        moved, self.progress = progress != self.progress, progress
        if not assigned:
            self.since = None
        elif moved:
            self.since = now
        elif pending(assigned, lag) <= 0:
            self.since = None
        elif self.since is None:
            self.since = now
        elif now - self.since > self.stall_seconds:
            self.since = now
            return True
        return False

    def stalled_for(self) -> float:
        """Seconds since the current stall began (0 when there is none)."""
        return 0.0 if self.since is None else self.clock() - self.since

    def unobservable(self) -> None:
        """The lag could not be read (broker or database away): that is not being stuck."""
        self.since = None

    def reset(self) -> None:
        """After a restart: a new episode begins with the next observation."""
        self.since = None
        self.progress = None


class ConsumerWatchdog:
    """Observes a consumer every `interval` seconds; restarts it when the detector says stuck.

    `assignment` and `progress` are cheap and read every time; `lag` (a broker and database
    round trip) only when the detector wants it. `restarts` counts completed restarts.
    """

    def __init__(
        self,
        name: str,
        *,
        assignment: Callable[[], Iterable[Partition]],
        progress: Callable[[], int],
        lag: Callable[[frozenset[Partition]], Awaitable[Mapping[Partition, int]]],
        restart: Callable[[], Awaitable[None]],
        stall_seconds: float = DEFAULT_STALL_SECONDS,
        interval: float = DEFAULT_INTERVAL,
        observe_timeout: float = OBSERVE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.assignment = assignment
        self.progress = progress
        self.lag = lag
        self.restart = restart
        self.interval = interval
        self.observe_timeout = observe_timeout
        self.detector = StallDetector(stall_seconds, clock)
        self.restarts = 0
        self._blind = False  # the last observation failed (log the first failure only)

    async def check(self) -> bool:
        """One observation; True when it restarted the consumer."""
        try:
            assigned = frozenset((tp[0], tp[1]) for tp in self.assignment())
            progress = self.progress()
            lag: Mapping[Partition, int] = {}
            if self.detector.wants_lag(assigned, progress):
                lag = await asyncio.wait_for(self.lag(assigned), self.observe_timeout)
        except Exception as exc:
            level = logging.DEBUG if self._blind else logging.INFO
            log.log(level, "watchdog of %s cannot observe: %r", self.name, exc)
            self._blind = True
            self.detector.unobservable()
            return False
        self._blind = False
        stalled = self.detector.stalled_for()
        if not self.detector.observe(assigned, lag, progress):
            return False
        behind = ", ".join(f"{t}[{p}]={n}" for (t, p), n in sorted(lag.items()) if n > 0)
        log.warning(
            "consumer %s is stuck: no progress for %.0f s, %d message(s) not applied on %s "
            "(of its %d assigned partitions); restarting it",
            self.name,
            stalled,
            pending(assigned, lag),
            behind,
            len(assigned),
        )
        try:
            await self.restart()
        except Exception:
            log.exception("watchdog of %s: restart failed", self.name)
            return False
        finally:
            self.detector.reset()
        self.restarts += 1
        log.warning("consumer %s restarted by its watchdog (%d so far)", self.name, self.restarts)
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Check every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
            if stop.is_set():
                return
            try:
                await self.check()
            except Exception:  # the watchdog itself must not die
                log.exception("watchdog of %s: check failed", self.name)


class RestartableBroker:
    """A consumer's FastStream broker that a restart replaces with a freshly built one."""

    def __init__(
        self,
        build: Callable[[], KafkaBroker],
        name: str,
        *,
        stop_timeout: float = STOP_TIMEOUT,
        start_timeout: float = START_TIMEOUT,
        exit: Callable[[int], object] = os._exit,
    ) -> None:
        self.build = build
        self.name = name
        self.stop_timeout = stop_timeout
        self.start_timeout = start_timeout
        self.exit = exit
        self.broker: KafkaBroker | None = None

    async def start(self) -> None:
        self.broker = self.build()
        await self.broker.start()

    async def stop(self) -> None:
        """The graceful stop (process shutdown): in-flight handlers may finish."""
        broker, self.broker = self.broker, None
        if broker is not None:
            await broker.stop()

    def assignment(self) -> set[TopicPartition]:
        """The partitions the group assigned to this member now (empty while rebalancing)."""
        assigned: set[TopicPartition] = set()
        if self.broker is not None:
            for subscriber in self.broker.subscribers:
                consumer = getattr(subscriber, "consumer", None)
                if consumer is not None:
                    assigned |= consumer.assignment()
        return assigned

    async def restart(self) -> None:
        old = self.broker
        if old is not None:
            # The handler in flight is the stuck one: cancel it rather than wait for it.
            for subscriber in old.subscribers:
                for task in list(getattr(subscriber, "tasks", ())):
                    task.cancel()
            try:
                await asyncio.wait_for(old.stop(), self.stop_timeout)
            except TimeoutError:
                self._fatal(f"stopping its Kafka consumer took more than {self.stop_timeout} s")
            except Exception as exc:  # a stop that fails still leaves it stopped enough
                log.warning("consumer %s: stopping its Kafka consumer failed: %r", self.name, exc)
            self.broker = None
        new = self.build()
        self.broker = new
        try:
            await asyncio.wait_for(new.start(), self.start_timeout)
        except TimeoutError:
            self._fatal(f"starting its Kafka consumer took more than {self.start_timeout} s")
        except Exception as exc:
            self._fatal(f"starting its Kafka consumer failed: {exc!r}")

    def _fatal(self, what: str) -> NoReturn:
        log.critical(
            "consumer %s: %s; exiting with status %d for the supervisor to restart the process",
            self.name,
            what,
            EXIT_STUCK,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        self.exit(EXIT_STUCK)
        raise SystemExit(EXIT_STUCK)  # only reached when `exit` returns (tests)


def kafka_watchdog(
    core: ConsumerCore,
    offsets: KafkaOffsets,
    broker: RestartableBroker,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
    interval: float = DEFAULT_INTERVAL,
) -> ConsumerWatchdog:
    """The watchdog of a consumer process: `broker`'s assignment, lag read through `offsets`."""
    return ConsumerWatchdog(
        core.name,
        assignment=broker.assignment,
        progress=lambda: progress_marker(core),
        lag=lambda assigned: offsets.lag(core, assigned),
        restart=broker.restart,
        stall_seconds=stall_seconds,
        interval=interval,
    )
