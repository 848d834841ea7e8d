"""Crash points for fault injection (`make chaos`): a process dies or hangs at a chosen line.

Off unless the process was started with `CHAOS_DIR` (a control directory) and `CHAOS_PROCESS`
(its name in the topology, e.g. `billing-consumer`). The chaos harness arms a point by writing
the file `<CHAOS_DIR>/<CHAOS_PROCESS>.<point>` containing a count `n` (empty means 1): the
n-th time the process reaches that point afterwards, the file is removed and the process
kills itself with SIGKILL (`crash_point`) or waits forever (`stall_point`, which the consumer
watchdog must notice). Unarmed, a point costs one `stat` call.

The points, and the window each one opens:
- `relay.before_publish`: a batch read from the outbox, nothing sent;
- `relay.mid_publish`: part of a batch acknowledged by the broker, the rest in flight;
- `relay.after_publish`: the whole batch acknowledged, the relay's position not recorded;
- `consumer.in_transaction`: the effect written, the consumer's transaction not committed;
- `consumer.after_commit`: the effect and position committed in the consumer's database,
  the Kafka offset not committed (`n` > 1 lands mid-batch);
- `consumer.stall`: a message handler that never returns (a stuck consumer).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)

POINTS = (
    "relay.before_publish",
    "relay.mid_publish",
    "relay.after_publish",
    "consumer.in_transaction",
    "consumer.after_commit",
    "consumer.stall",
)


def _control() -> tuple[Path, str] | None:
    directory, name = os.environ.get("CHAOS_DIR"), os.environ.get("CHAOS_PROCESS")
    return (Path(directory), name) if directory and name else None


_CONTROL = _control()


def arm_file(directory: Path, process: str, point: str) -> Path:
    """Where the harness writes to arm `point` in `process`."""
    if point not in POINTS:
        raise ValueError(f"unknown crash point {point!r}; known: {', '.join(POINTS)}")
    return directory / f"{process}.{point}"


def _fires(point: str) -> bool:
    if _CONTROL is None:
        return False
    path = _CONTROL[0] / f"{_CONTROL[1]}.{point}"
    try:
        text = path.read_text().strip()
    except (FileNotFoundError, OSError):
        return False
    remaining = int(text) if text.isdigit() else 1
    if remaining > 1:
        path.write_text(str(remaining - 1))
        return False
    path.unlink(missing_ok=True)
    return True


def crash_point(point: str) -> None:
    """Die here with SIGKILL if the harness armed `point` for this process."""
    if _fires(point):
        log.warning("chaos: crash point %s reached; SIGKILL", point)
        os.kill(os.getpid(), signal.SIGKILL)


async def stall_point(point: str) -> None:
    """Never return (until cancelled) if the harness armed `point` for this process."""
    if _fires(point):
        log.warning("chaos: stall point %s reached; hanging", point)
        await asyncio.Event().wait()


def reload() -> None:
    """Re-read `CHAOS_DIR`/`CHAOS_PROCESS` (tests that set them after import)."""
    global _CONTROL
    _CONTROL = _control()
