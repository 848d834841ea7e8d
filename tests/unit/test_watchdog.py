"""The stuck-consumer watchdog with a fake clock and fake brokers: when it calls a consumer
stuck, how often it restarts it, and what a restart does when stopping or starting hangs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from shared.messaging.watchdog import (
    EXIT_STUCK,
    ConsumerWatchdog,
    Partition,
    RestartableBroker,
    StallDetector,
    progress_marker,
)
from shared.ops import consumer_ops

P0, P1 = ("policy.events", 0), ("policy.events", 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


# --- the detector ----------------------------------------------------------------------------


def ticks(detector: StallDetector, clock: Clock, seconds: int, **observation: Any) -> list[bool]:
    """Observe the same thing once a second for `seconds` seconds."""
    found = []
    for _ in range(seconds):
        clock.advance(1)
        found.append(detector.observe(**observation))
    return found


def test_stuck_only_after_stall_seconds_with_lag_and_assignment(clock: Clock) -> None:
    detector = StallDetector(10, clock)
    stuck = {"assigned": {P0, P1}, "lag": {P0: 0, P1: 3}, "progress": 7}
    decisions = ticks(detector, clock, 20, **stuck)
    first = decisions.index(True)
    assert not any(decisions[:first])
    assert first >= 10  # never before stall_seconds without progress
    assert decisions.count(True) == 1  # then the clock starts again


def test_progress_resets_the_clock(clock: Clock) -> None:
    detector = StallDetector(10, clock)
    lagging = {"assigned": {P0}, "lag": {P0: 5}}
    for progress in range(30):  # one message every 5 s: slow, not stuck
        assert ticks(detector, clock, 5, progress=progress, **lagging) == [False] * 5
    assert True in ticks(detector, clock, 15, progress=30, **lagging)


def test_zero_lag_is_never_stuck(clock: Clock) -> None:
    detector = StallDetector(10, clock)
    caught_up = {"assigned": {P0, P1}, "lag": {P0: 0, P1: 0}, "progress": 7}
    assert not any(ticks(detector, clock, 60, **caught_up))
    # lag on a partition not assigned to this member is another member's business
    elsewhere = {"assigned": {P0}, "lag": {P0: 0, P1: 9}, "progress": 7}
    assert not any(ticks(detector, clock, 60, **elsewhere))


def test_no_assignment_is_never_stuck(clock: Clock) -> None:
    detector = StallDetector(10, clock)
    assert not any(ticks(detector, clock, 60, assigned=set(), lag={P0: 5}, progress=7))


def test_an_interruption_of_lag_or_assignment_starts_the_clock_again(clock: Clock) -> None:
    detector = StallDetector(10, clock)
    stuck = {"assigned": {P0}, "lag": {P0: 3}, "progress": 7}
    for interruption in ({"assigned": set()}, {"lag": {P0: 0}}):
        assert not any(ticks(detector, clock, 8, **stuck))
        assert not any(ticks(detector, clock, 1, **{**stuck, **interruption}))
    assert not any(ticks(detector, clock, 9, **stuck))
    assert True in ticks(detector, clock, 3, **stuck)


def test_an_unobservable_consumer_is_not_stuck(clock: Clock) -> None:
    detector = StallDetector(10, clock)
    stuck = {"assigned": {P0}, "lag": {P0: 3}, "progress": 7}
    for _ in range(10):  # the lag cannot be read every other tick (broker away)
        assert not any(ticks(detector, clock, 5, **stuck))
        clock.advance(5)
        detector.unobservable()


def test_lag_is_wanted_only_when_assigned_and_progress_has_not_moved(clock: Clock) -> None:
    detector = StallDetector(10, clock)
    assert not detector.wants_lag({P0}, 1)  # first look: the marker is new
    detector.observe({P0}, {}, 1)
    assert detector.wants_lag({P0}, 1)
    assert not detector.wants_lag({P0}, 2)
    assert not detector.wants_lag(set(), 1)


def test_progress_marker_counts_every_outcome() -> None:
    core = SimpleNamespace(applied=3, duplicates=2, dead_lettered=1)
    assert progress_marker(core) == 6  # type: ignore[arg-type]


# --- the watchdog ----------------------------------------------------------------------------


class Consumer:
    """What the watchdog observes and restarts."""

    def __init__(self) -> None:
        self.assigned: set[Partition] = {P0, P1}
        self.lags: dict[Partition, int] = {P0: 0, P1: 4}
        self.progress = 0
        self.failing: Exception | None = None
        self.lag_reads = 0
        self.restarts = 0

    def assignment(self) -> set[Partition]:
        if isinstance(self.failing, KeyError):
            raise self.failing
        return self.assigned

    async def lag(self, assigned: frozenset[Partition]) -> Mapping[Partition, int]:
        self.lag_reads += 1
        if self.failing is not None:
            raise self.failing
        return {tp: n for tp, n in self.lags.items() if tp in assigned}

    async def restart(self) -> None:
        self.restarts += 1


def watchdog_of(consumer: Consumer, clock: Clock, stall_seconds: float = 10) -> ConsumerWatchdog:
    return ConsumerWatchdog(
        "portal",
        assignment=consumer.assignment,
        progress=lambda: consumer.progress,
        lag=consumer.lag,
        restart=consumer.restart,
        stall_seconds=stall_seconds,
        interval=1,
        clock=clock,
    )


async def check_for(watchdog: ConsumerWatchdog, clock: Clock, seconds: int) -> list[bool]:
    found = []
    for _ in range(seconds):
        clock.advance(1)
        found.append(await watchdog.check())
    return found


async def ticks_until_restart(watchdog: ConsumerWatchdog, clock: Clock, limit: int = 30) -> int:
    for tick in range(1, limit + 1):
        clock.advance(1)
        if await watchdog.check():
            return tick
    raise AssertionError(f"no restart within {limit} ticks")


async def test_restarts_once_per_stall_episode_and_says_so(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    consumer = Consumer()
    watchdog = watchdog_of(consumer, clock)
    with caplog.at_level(logging.WARNING, logger="shared.messaging.watchdog"):
        assert await ticks_until_restart(watchdog, clock) > 10
    assert consumer.restarts == watchdog.restarts == 1
    stuck = [r for r in caplog.records if "stuck" in r.getMessage()]
    assert len(stuck) == 1 and stuck[0].levelno == logging.WARNING
    message = stuck[0].getMessage()
    assert "portal" in message and "4 message(s) not applied on policy.events[1]=4" in message
    assert "of its 2 assigned partitions" in message

    # Still stuck after the restart: restarted again only after another stall_seconds.
    assert await ticks_until_restart(watchdog, clock) > 10
    assert watchdog.restarts == 2

    # Progress, then a new stall: a new episode.
    consumer.progress += 1
    assert await ticks_until_restart(watchdog, clock) > 10
    assert watchdog.restarts == 3


async def test_a_busy_or_caught_up_consumer_is_left_alone(clock: Clock) -> None:
    consumer = Consumer()
    watchdog = watchdog_of(consumer, clock)
    for _ in range(60):  # progress every tick: the lag is not even read
        consumer.progress += 1
        assert not await watchdog.check()
        clock.advance(1)
    assert consumer.lag_reads == 0
    consumer.lags = {P0: 0, P1: 0}
    assert not any(await check_for(watchdog, clock, 60))
    consumer.assigned = set()
    consumer.lags = {P0: 5, P1: 5}
    assert not any(await check_for(watchdog, clock, 60))
    assert consumer.restarts == 0


async def test_observation_errors_do_not_count_as_stuck(clock: Clock) -> None:
    consumer = Consumer()
    watchdog = watchdog_of(consumer, clock)
    consumer.failing = ConnectionError("broker away")
    assert not any(await check_for(watchdog, clock, 60))
    consumer.failing = KeyError("no consumer")  # from the assignment itself
    assert not any(await check_for(watchdog, clock, 60))
    assert consumer.restarts == 0 and consumer.lag_reads > 0
    consumer.failing = None  # the broker is back: a full stall_seconds again before a restart
    assert not any(await check_for(watchdog, clock, 10))
    assert True in await check_for(watchdog, clock, 5)


async def test_a_hanging_lag_read_is_an_observation_error(clock: Clock) -> None:
    consumer = Consumer()

    async def hangs(assigned: frozenset[Partition]) -> Mapping[Partition, int]:
        await asyncio.Event().wait()
        return {}

    watchdog = watchdog_of(consumer, clock)
    watchdog.lag, watchdog.observe_timeout = hangs, 0.01
    assert not any(await check_for(watchdog, clock, 3))  # the third one times out
    assert watchdog.detector.since is None


async def test_a_failing_restart_does_not_kill_the_watchdog(clock: Clock) -> None:
    consumer = Consumer()
    watchdog = watchdog_of(consumer, clock)

    async def fails() -> None:
        raise RuntimeError("no")

    watchdog.restart = fails
    assert not any(await check_for(watchdog, clock, 30))
    assert watchdog.restarts == 0


async def test_the_loop_checks_until_stopped() -> None:
    consumer = Consumer()
    restarted = asyncio.Event()

    async def restart() -> None:
        restarted.set()

    watchdog = ConsumerWatchdog(
        "portal",
        assignment=consumer.assignment,
        progress=lambda: consumer.progress,
        lag=consumer.lag,
        restart=restart,
        stall_seconds=0,
        interval=0.001,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(watchdog.run(stop))
    await asyncio.wait_for(restarted.wait(), 10)
    stop.set()
    await asyncio.wait_for(running, 10)
    assert watchdog.restarts >= 1


# --- a restart in a consumer process ---------------------------------------------------------


class FakeAioKafkaConsumer:
    def __init__(self, assigned: set[Partition]) -> None:
        self.assigned = assigned

    def assignment(self) -> set[Partition]:
        return set(self.assigned)


class FakeBroker:
    """The part of a FastStream broker a restart touches: subscribers with a consumer and
    their consume tasks, start and stop."""

    def __init__(self, hang_on: str = "", fail_on: str = "") -> None:
        self.hang_on, self.fail_on = hang_on, fail_on
        self.started = self.stopped = False
        self.subscribers = [SimpleNamespace(consumer=None, tasks=[])]

    async def start(self) -> None:
        await self._maybe("start")
        self.started = True
        subscriber = self.subscribers[0]
        subscriber.consumer = FakeAioKafkaConsumer({P0})
        subscriber.tasks.append(asyncio.create_task(asyncio.Event().wait()))  # a stuck handler

    async def stop(self) -> None:
        await self._maybe("stop")
        self.stopped = True

    async def _maybe(self, step: str) -> None:
        if self.fail_on == step:
            raise ConnectionError(step)
        if self.hang_on == step:
            await asyncio.Event().wait()


class Exited(Exception):
    pass


def restartable(brokers: list[FakeBroker], exits: list[int], **timeouts: float):
    built = iter(brokers)

    def exit(code: int) -> None:
        exits.append(code)
        raise Exited  # as os._exit, never returns

    return RestartableBroker(lambda: next(built), "portal", exit=exit, **timeouts)  # type: ignore[arg-type,return-value]


async def test_a_restart_stops_the_stuck_broker_and_starts_a_fresh_one() -> None:
    first, second = FakeBroker(), FakeBroker()
    broker = restartable([first, second], [])
    assert broker.assignment() == set()
    await broker.start()
    assert broker.assignment() == {P0}
    stuck_handler = first.subscribers[0].tasks[0]
    await broker.restart()
    await asyncio.sleep(0)
    assert first.stopped and stuck_handler.cancelled()
    assert second.started and broker.broker is second
    await broker.stop()
    assert second.stopped and broker.broker is None
    for task in second.subscribers[0].tasks:
        task.cancel()


@pytest.mark.parametrize(
    "old, new",
    [
        (FakeBroker(hang_on="stop"), FakeBroker()),
        (FakeBroker(), FakeBroker(hang_on="start")),
        (FakeBroker(), FakeBroker(fail_on="start")),
    ],
    ids=["stop hangs", "start hangs", "start fails"],
)
async def test_a_restart_that_hangs_or_fails_exits_for_the_supervisor(
    old: FakeBroker, new: FakeBroker, caplog: pytest.LogCaptureFixture
) -> None:
    exits: list[int] = []
    broker = restartable([old, new], exits, stop_timeout=0.01, start_timeout=0.01)
    await broker.start()
    with (
        caplog.at_level(logging.CRITICAL, logger="shared.messaging.watchdog"),
        pytest.raises(Exited),
    ):
        await broker.restart()
    assert exits == [EXIT_STUCK]
    assert any(r.levelno == logging.CRITICAL and "portal" in r.getMessage() for r in caplog.records)
    for fake in (old, new):
        for task in fake.subscribers[0].tasks:
            task.cancel()


async def test_a_failing_stop_still_starts_the_fresh_broker() -> None:
    first, second = FakeBroker(fail_on="stop"), FakeBroker()
    exits: list[int] = []
    broker = restartable([first, second], exits)
    await broker.start()
    await broker.restart()
    assert second.started and not exits
    for task in second.subscribers[0].tasks:
        task.cancel()


# --- the metric ------------------------------------------------------------------------------


async def test_the_restart_count_is_a_prometheus_counter() -> None:
    class Offsets:
        async def ping(self) -> None:
            return None

        async def progress(self, core: Any) -> list:
            raise ConnectionError("broker away")  # the other collector fails: the count stays

    core = SimpleNamespace(name="portal", topics=["policy.events"], sink=None)
    text = await consumer_ops(core, Offsets(), lambda: 2).metrics()  # type: ignore[arg-type]
    assert "# TYPE worksite_consumer_watchdog_restarts_total counter" in text
    assert 'worksite_consumer_watchdog_restarts_total{group="portal"} 2' in text
    assert "worksite_consumer_watchdog_restarts_total" not in (
        await consumer_ops(core, Offsets()).metrics()  # type: ignore[arg-type]
    )


def test_a_bad_watchdog_setting_stops_the_process_naming_it(monkeypatch) -> None:
    from shared.runtime import seconds_from_env

    monkeypatch.setenv("CONSUMER_STALL_SECONDS", "soon")
    with pytest.raises(SystemExit, match="CONSUMER_STALL_SECONDS must be a number of seconds"):
        seconds_from_env("CONSUMER_STALL_SECONDS", 30)
    monkeypatch.setenv("CONSUMER_STALL_SECONDS", "-1")
    with pytest.raises(SystemExit, match="got '-1'"):
        seconds_from_env("CONSUMER_STALL_SECONDS", 30)
    monkeypatch.setenv("CONSUMER_STALL_SECONDS", " 8 ")
    assert seconds_from_env("CONSUMER_STALL_SECONDS", 30) == 8.0
    monkeypatch.delenv("CONSUMER_STALL_SECONDS")
    assert seconds_from_env("CONSUMER_STALL_SECONDS", 30) == 30
