"""The privacy sweep on a schedule (`services/identity/privacy/schedule.py`): run at start and
then every interval until stopped, a failure logged and retried at the next interval, the
interval read from `PRIVACY_SWEEP_SECONDS`, and the schedule wired to identity's real sweep."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from services.identity.main import privacy_sweep_schedule
from services.identity.privacy.commands import SweepReport
from services.identity.privacy.schedule import (
    DEFAULT_INTERVAL_SECONDS,
    SweepSchedule,
    interval_from_env,
)


class Sweeps:
    """A sweep that records its calls and fails the ones listed in `failing` (1-based)."""

    def __init__(self, failing: tuple[int, ...] = ()) -> None:
        self.calls = 0
        self.failing = failing

    def __call__(self) -> SweepReport:
        self.calls += 1
        if self.calls in self.failing:
            raise ConnectionError("database away")
        return SweepReport(swept_at=datetime.now(UTC), keys_shredded=self.calls)


async def run_until(schedule: SweepSchedule, calls: int, **kw) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(schedule.run_forever(stop, **kw))
    for _ in range(400):
        if schedule.runs >= calls:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_it_sweeps_at_start_then_every_interval_until_stopped() -> None:
    sweeps = Sweeps()
    schedule = SweepSchedule(sweeps, interval=0.02)
    await run_until(schedule, calls=3)
    assert sweeps.calls >= 3 and schedule.failures == 0


async def test_a_failed_sweep_is_logged_and_tried_again_at_the_next_interval(caplog) -> None:
    sweeps = Sweeps(failing=(1,))
    schedule = SweepSchedule(sweeps, interval=0.02)
    with caplog.at_level(logging.INFO, logger="services.identity.privacy.schedule"):
        await run_until(schedule, calls=2)
    assert schedule.failures == 1 and sweeps.calls >= 2
    messages = [r.getMessage() for r in caplog.records]
    assert any("privacy sweep failed" in m for m in messages)
    assert any(m.startswith("privacy sweep: 2 key(s) shredded") for m in messages)


async def test_a_first_delay_waits_and_a_stop_during_it_sweeps_nothing() -> None:
    sweeps = Sweeps()
    schedule = SweepSchedule(sweeps, interval=60)
    stop = asyncio.Event()
    task = asyncio.create_task(schedule.run_forever(stop, first_delay=60))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert sweeps.calls == 0


def test_the_interval_comes_from_the_environment() -> None:
    assert interval_from_env({}) == DEFAULT_INTERVAL_SECONDS
    assert interval_from_env({"PRIVACY_SWEEP_SECONDS": "90"}) == 90.0
    for bad in ("soon", "0", "-5", "nan"):
        with pytest.raises(SystemExit, match="PRIVACY_SWEEP_SECONDS"):
            interval_from_env({"PRIVACY_SWEEP_SECONDS": bad})


def test_the_composition_root_schedules_identitys_own_sweep(monkeypatch) -> None:
    class App:
        def privacy_sweep(self) -> SweepReport:
            return SweepReport(swept_at=datetime.now(UTC))

    monkeypatch.setenv("PRIVACY_SWEEP_SECONDS", "120")
    app = App()
    schedule = privacy_sweep_schedule(app)  # type: ignore[arg-type]
    assert schedule.interval == 120.0
    assert schedule.sweep == app.privacy_sweep
