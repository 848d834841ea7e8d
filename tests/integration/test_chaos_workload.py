"""The chaos harness's workload and portal load test against `make up`'s topology (no faults):
every command kind is acknowledged, none is refused, and the portal answers its load without a
server error."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import urlsplit

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.chaos.endpoints import Endpoints
from bench.chaos.load import run_load
from bench.chaos.workload import COMMAND_KINDS, Expectation, Workload
from tests.conftest import Infra
from tests.integration.test_distributed_processes import topology  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

TOPICS = ("policy", "billing", "claims", "identity", "documents")


def endpoints_of(urls: dict[str, str], infra: Infra) -> Endpoints:
    identity_database = urlsplit(urls["identity_database"]).path.lstrip("/")
    return Endpoints(
        policy=urls["POLICY_PORT"],
        billing=urls["BILLING_PORT"],
        claims=urls["CLAIMS_PORT"],
        documents=urls["DOCUMENTS_PORT"],
        identity=urls["IDENTITY_PORT"],
        portal=urls["PORT"],
        database_url=infra.database_url,
        database_suffix=identity_database.removeprefix("identity"),
    )


async def published_events(bootstrap: str, prefix: str) -> list[tuple[str, dict]]:
    """Every integration event on the installation's topics: (event_type, payload)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        topics = [t for t in (f"{prefix}{name}.events" for name in TOPICS) if t in existing]
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        events: list[tuple[str, dict]] = []
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    envelope = json.loads(record.value)
                    events.append((envelope["event_type"], envelope["data"]))
        return events
    finally:
        await consumer.stop()


async def missing_expectations(
    expectations: list[Expectation], bootstrap: str, prefix: str, timeout: float = 60.0
) -> list[Expectation]:
    """The expectations no published event meets (after waiting for the relays to catch up)."""
    deadline = time.monotonic() + timeout
    while True:
        events = await published_events(bootstrap, prefix)
        missing = [
            e
            for e in expectations
            if not any(
                event_type == e.event_type
                and all(str(data.get(k)) == v for k, v in e.match.items())
                for event_type, data in events
            )
        ]
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(1.0)


def test_workload_and_load_on_the_distributed_topology(
    topology,  # noqa: F811 (the imported fixture)
    infra: Infra,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bench.chaos.workload")
    urls, _ = topology
    endpoints = endpoints_of(urls, infra)
    workload = Workload(endpoints, seed=7, first_certificate=400_001, owners=3, rate=4.0)

    async def scenario():
        await workload.setup()
        await workload.run(asyncio.Event(), max_commands=60)
        report = await run_load(
            endpoints.portal, workload.owners, concurrency=10, max_requests=200, max_seconds=60
        )
        prefix = endpoints.database_suffix.lstrip("_") + "."  # as the topology fixture sets it
        missing = await missing_expectations(
            workload.acknowledged, infra.kafka_bootstrap_servers, prefix
        )
        return report, missing

    report, missing = asyncio.run(scenario())
    counts = workload.counts
    print(dict(sorted(counts.items())))
    print(report)

    assert not [key for key in counts if key.startswith(("rejected:", "error:"))], counts
    never = [k for k in COMMAND_KINDS if not counts[f"acknowledged:{k}"]]
    assert not never, f"never acknowledged: {never}; {dict(counts)}"
    assert len(workload.acknowledged) >= sum(counts[f"acknowledged:{k}"] for k in COMMAND_KINDS)
    assert {e.command for e in workload.acknowledged} == set(COMMAND_KINDS)
    assert len(workload.owners) >= 3
    # What the harness will check: every acknowledged command's event was published.
    assert not missing, missing

    assert report.requests > 0
    assert report.server_errors == 0, report.errors_by_status
    assert not report.errors_by_status, report.errors_by_status
    assert set(report.by_page) <= {
        "certificates",
        "certificate",
        "billing",
        "claims",
        "documents",
        "profile",
    }
