"""Crash points (`shared/faults.py`): off unless armed, a count fires on its n-th pass, a crash
point really SIGKILLs the process and a stall point hangs until cancelled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import faults
from shared.settings import REPO_ROOT
from tests.conftest import crash_points

PROCESS = "billing-consumer"


@pytest.fixture
def chaos_dir(tmp_path: Path) -> Iterator[Path]:
    with crash_points(tmp_path, PROCESS) as directory:
        yield directory


def arm(directory: Path, point: str, count: str = "") -> Path:
    path = faults.arm_file(directory, PROCESS, point)
    path.write_text(count)
    return path


def test_without_a_control_directory_nothing_fires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAOS_DIR", raising=False)
    monkeypatch.setenv("CHAOS_PROCESS", PROCESS)
    faults.reload()
    try:
        arm(tmp_path, "consumer.after_commit")
        assert not faults._fires("consumer.after_commit")
        faults.crash_point("consumer.after_commit")  # still alive
    finally:
        monkeypatch.undo()
        faults.reload()


async def test_unarmed_points_do_nothing(chaos_dir: Path) -> None:
    for point in faults.POINTS:
        assert not faults._fires(point)
    faults.crash_point("consumer.after_commit")
    await asyncio.wait_for(faults.stall_point("consumer.stall"), 5)  # returns at once
    arm(chaos_dir, "relay.before_publish").rename(chaos_dir / "other-process.relay.before_publish")
    assert not faults._fires("relay.before_publish")  # armed for another process


def test_arm_file_names_the_point_for_the_process_and_rejects_unknown_ones(tmp_path: Path) -> None:
    assert faults.arm_file(tmp_path, PROCESS, "relay.mid_publish") == (
        tmp_path / "billing-consumer.relay.mid_publish"
    )
    with pytest.raises(ValueError, match="unknown crash point"):
        faults.arm_file(tmp_path, PROCESS, "relay.nowhere")


def test_a_count_fires_on_that_pass_and_disarms(chaos_dir: Path) -> None:
    path = arm(chaos_dir, "consumer.after_commit", "3")
    assert [faults._fires("consumer.after_commit") for _ in range(5)] == [
        False,
        False,
        True,
        False,
        False,
    ]
    assert not path.exists()


def test_an_empty_or_unreadable_count_means_the_next_pass(chaos_dir: Path) -> None:
    for text in ("", "\n", "soon"):
        path = arm(chaos_dir, "relay.after_publish", text)
        assert faults._fires("relay.after_publish")
        assert not path.exists()


def test_a_crash_point_kills_the_process_with_sigkill(chaos_dir: Path) -> None:
    arm(chaos_dir, "consumer.in_transaction", "2")
    code = (
        "from shared import faults\n"
        "faults.crash_point('consumer.in_transaction')\n"
        "print('first pass', flush=True)\n"
        "faults.crash_point('consumer.in_transaction')\n"
        "print('survived', flush=True)\n"
    )
    env = {**os.environ, "CHAOS_DIR": str(chaos_dir), "CHAOS_PROCESS": PROCESS}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout == "first pass\n"
    assert not faults.arm_file(chaos_dir, PROCESS, "consumer.in_transaction").exists()


async def test_a_stall_point_hangs_until_cancelled(chaos_dir: Path) -> None:
    path = arm(chaos_dir, "consumer.stall")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(faults.stall_point("consumer.stall"), 0.05)
    assert not path.exists()
    await asyncio.wait_for(faults.stall_point("consumer.stall"), 5)  # disarmed: returns
