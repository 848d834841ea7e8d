"""`make chaos`'s small profile inside `make test`: every fault kind once against the real
distributed topology (its own broker and cluster under var/chaos-test/), then the invariants
and a short load test. The full run (`make chaos`, 200+ faults) writes bench/chaos.json."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench.chaos.faults import INJECTORS
from bench.chaos.run import SMALL, run
from shared.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def test_every_fault_kind_once_leaves_nothing_lost_or_doubled(tmp_path) -> None:
    report = asyncio.run(run(SMALL, seed=7, state_dir=REPO_ROOT / "var" / "chaos-test"))
    (tmp_path / "chaos.json").write_text(json.dumps(report, indent=2, default=str))
    assert report["violations"] == [], "\n".join(report["violations"])
    assert set(report["faults_by_kind"]) == set(INJECTORS), report["faults_by_kind"]
    assert report["commands_acknowledged"] > 0
    assert report["events_checked"] > report["commands_acknowledged"]
    assert report["checks"]["dead_letters"] >= report["checks"]["poison_injected"] > 0
    assert report["load"]["requests"] > 0
    assert report["load"]["server_errors"] == 0, report["load"]
