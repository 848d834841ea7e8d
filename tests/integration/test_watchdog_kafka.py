"""The stuck-consumer watchdog on the real broker: a consumer whose handler hangs (the
`consumer.stall` crash point) is restarted by its watchdog and then catches up."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from services.portal.main import portal_consumer
from services.portal.readmodels import CertificateView
from shared import faults
from shared.runtime import run_consumer
from tests.conftest import crash_points
from tests.factories import certificate_body
from tests.integration.conftest import Stack, eventually
from tests.integration.test_distributed_processes import free_port

pytestmark = pytest.mark.integration

PROCESS = "portal-consumer"
RESTARTS = re.compile(r'^worksite_consumer_watchdog_restarts_total\{group="[^"]*"\} (\d+)$', re.M)


@pytest.fixture
def chaos_dir(tmp_path: Path) -> Iterator[Path]:
    with crash_points(tmp_path, PROCESS) as directory:
        yield directory


async def test_a_stuck_consumer_is_restarted_and_catches_up(stack: Stack, chaos_dir: Path) -> None:
    settings, bootstrap = stack.settings, stack.settings.kafka_bootstrap_servers
    armed = faults.arm_file(chaos_dir, PROCESS, "consumer.stall")
    armed.write_text("1")  # the first message the portal's consumer handles never returns

    issued = await stack.policy_api.post("/certificates", json=certificate_body("0000300901"))
    assert issued.status_code == 201, issued.text
    stack.start_relays()
    core = portal_consumer(stack.read_engine, settings)
    port = free_port()
    stack.start(
        "portal",
        lambda stop: run_consumer(
            core,
            bootstrap,
            settings.topic("portal"),
            stop,
            ops_port=port,
            stall_seconds=2,
            watchdog_interval=0.5,
        ),
    )
    await eventually(lambda: not armed.exists())  # the stall point was reached

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as consumer:

        async def restarts() -> int:
            try:
                text = (await consumer.get("/metrics")).text
            except httpx.TransportError:
                return 0
            found = RESTARTS.search(text)
            return int(found.group(1)) if found else 0

        assert await eventually(restarts, timeout=90) >= 1

    def certificate_shown() -> bool:
        with Session(stack.read_engine) as session:
            return session.get(CertificateView, "0000300901") is not None

    await eventually(certificate_shown, timeout=90)
    assert core.applied >= 1


async def test_records_that_arrive_while_a_consumer_is_stuck_are_not_skipped_by_its_restart(
    stack: Stack, chaos_dir: Path
) -> None:
    """FastStream acknowledges a fetch before it is applied, so the group's committed offsets
    run past the stuck handler's records. The restarted consumer must not fetch from them
    before it has sought every partition to the database's positions: a record applied from
    there would move the position past the records the stuck handler never applied."""
    settings, bootstrap = stack.settings, stack.settings.kafka_bootstrap_servers
    armed = faults.arm_file(chaos_dir, PROCESS, "consumer.stall")
    armed.write_text("1")
    numbers = [f"00003009{i:02d}" for i in range(10, 22)]
    first = await stack.policy_api.post("/certificates", json=certificate_body(numbers[0]))
    assert first.status_code == 201, first.text
    stack.start_relays()
    core = portal_consumer(stack.read_engine, settings)
    stack.start(
        "portal",
        lambda stop: run_consumer(
            core, bootstrap, settings.topic("portal"), stop, stall_seconds=8, watchdog_interval=0.5
        ),
    )
    await eventually(lambda: not armed.exists())  # stuck on the first fetch
    for number in numbers[1:]:  # these wait on the topics, behind the stuck handler
        issued = await stack.policy_api.post("/certificates", json=certificate_body(number))
        assert issued.status_code == 201, issued.text

    def shown() -> set[str]:
        with Session(stack.read_engine) as session:
            return {n for n in numbers if session.get(CertificateView, n) is not None}

    await eventually(lambda: shown() == set(numbers), timeout=120)
