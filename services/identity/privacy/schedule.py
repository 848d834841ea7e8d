"""The privacy office's sweep on a schedule: identity's `sweeper` process sweeps at start
(catching up after a stop) and then every `PRIVACY_SWEEP_SECONDS` (default 3600); the
embedded portal runs the same schedule as a task, first after one interval.

The sweep (`privacy_sweep`) reviews the retentions of erased people (servicing kept while a
certificate is in force, claims for 7 years), shreds the keys whose retention has ended,
resumes deletions interrupted by a crash and purges request records older than 24 months.
It is idempotent, so a sweep started by hand (`POST /privacy/sweep`) at the same time does no
harm; if the two collide on a request's version, the loser is logged and its work is done at
the next run. A failing sweep (the database away) is retried at the next interval: nothing is
lost, since every retention and request stays recorded until a sweep completes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable

from services.identity.privacy.commands import SweepReport

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 3600.0


def interval_from_env(environ: dict[str, str] | None = None) -> float:
    """`PRIVACY_SWEEP_SECONDS`, a positive number of seconds."""
    raw = (os.environ if environ is None else environ).get("PRIVACY_SWEEP_SECONDS")
    if raw is None or raw == "":
        return DEFAULT_INTERVAL_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise SystemExit(
            f"PRIVACY_SWEEP_SECONDS must be a number of seconds, not {raw!r}"
        ) from None
    if not seconds > 0 or seconds == float("inf"):
        raise SystemExit(f"PRIVACY_SWEEP_SECONDS must be above 0, not {raw!r}")
    return seconds


class SweepSchedule:
    """Runs `sweep` (blocking: in a worker thread) now and then every `interval` seconds."""

    def __init__(self, sweep: Callable[[], SweepReport], interval: float) -> None:
        self.sweep = sweep
        self.interval = interval
        self.runs = 0
        self.failures = 0

    async def run_once(self) -> SweepReport | None:
        """One sweep; None if it failed (logged, to be retried at the next interval)."""
        self.runs += 1
        try:
            report = await asyncio.to_thread(self.sweep)
        except Exception:
            self.failures += 1
            log.exception("privacy sweep failed; the next one is in %.0f s", self.interval)
            return None
        log.info(
            "privacy sweep: %d key(s) shredded, %d servicing retention(s) extended, "
            "%d deletion(s) resumed, %d record(s) purged",
            report.keys_shredded,
            len(report.servicing_extended),
            report.deletions_resumed,
            report.requests_purged,
        )
        return report

    async def run_forever(self, stop: asyncio.Event, *, first_delay: float = 0.0) -> None:
        """Sweep after `first_delay` seconds, then every `interval`, until `stop` is set."""
        delay = first_delay
        while not stop.is_set():
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                if stop.is_set():
                    return
            await self.run_once()
            delay = self.interval
