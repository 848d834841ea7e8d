"""The leak scan on the real infrastructure: the same flows (`flows.run_all`) with every
service's store on PostgreSQL and every outbox relayed to Kafka, then `pg_dump` of every
service database and every topic of the run read from offset 0 (dead-letter topics included)
are searched for the seeded SSNs, dates of birth, passwords, security answers, session tokens
and the one-time code.

The composition is the embedded one (in-process delivery feeds the consumers, so the run
settles as fast as the embedded mode) with the stores on PostgreSQL and the Kafka relays
running alongside: what lands on the topics is exactly what the relays of the distributed
mode publish.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.settings import Settings
from tests.conftest import Infra
from tests.security import flows
from tests.security.needles import seeded_needles
from tests.security.relays import relayed
from tests.security.scan import Text, find, report
from tests.security.system import SecuredPortal, secured_portal

pytestmark = pytest.mark.integration

DATABASES = ("policy", "billing", "portal", "identity", "keystore", "documents", "claims")


def create_databases(database_url: str, names: list[str]) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        for name in names:
            connection.execute(f'CREATE DATABASE "{name}"')


def drop_databases(database_url: str, names: list[str]) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def dumps(settings: Settings) -> Iterator[Text]:
    """`pg_dump --data-only` of every service database (bytea in hex, so also decoded)."""
    base = urlsplit(settings.database_url or "")
    for name in DATABASES:
        database = f"{name}{settings.database_suffix}"
        url = urlunsplit(base._replace(path=f"/{database}"))
        dump = subprocess.run(
            ["pg_dump", "--data-only", "--no-owner", url],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        yield Text(f"pg_dump of {name}", dump + "\n" + decoded_bytea(dump))


def decoded_bytea(dump: str) -> str:
    r"""The `\x…` bytea literals of a dump, decoded (event states are stored as bytea)."""
    pieces = []
    for match in re.finditer(r"\\\\x([0-9a-f]{2,})", dump):
        with contextlib.suppress(ValueError):
            pieces.append(bytes.fromhex(match.group(1)).decode("utf-8", "replace"))
    return "\n".join(pieces)


async def topics(settings: Settings) -> list[Text]:
    """Every message of every topic of this run (dead letters included), from offset 0."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        names = sorted(t for t in await consumer.topics() if t.startswith(settings.topic_prefix))
        await consumer._client.force_metadata_update()  # the partitions of topics just made
        partitions = [
            TopicPartition(t, p) for t in names for p in consumer.partitions_for_topic(t) or ()
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        texts: list[Text] = []
        while any([await consumer.position(p) < ends[p] for p in partitions]):
            for partition, records in (await consumer.getmany(timeout_ms=1000)).items():
                for r in records:
                    headers = " ".join(f"{k}={v!r}" for k, v in r.headers or ())
                    value = (r.value or b"").decode("utf-8", "replace")
                    texts.append(
                        Text(
                            f"topic {partition.topic}@{r.offset}",
                            f"{(r.key or b'').decode(errors='replace')}\n{headers}\n{value}",
                        )
                    )
        return texts
    finally:
        await consumer.stop()


@pytest.fixture
def distributed(infra: Infra, tmp_path: Path) -> Iterator[tuple[SecuredPortal, Settings]]:
    suffix = "_s" + uuid.uuid4().hex[:10]
    names = [f"{name}{suffix}" for name in DATABASES]
    create_databases(infra.database_url, names)
    settings = Settings(
        PORTAL_MODE="distributed",
        PORTAL_VAR_DIR=tmp_path,
        DATABASE_URL=infra.database_url,
        DATABASE_SUFFIX=suffix,
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap_servers,
        TOPIC_PREFIX=suffix.lstrip("_") + ".",
    )
    try:
        with secured_portal(tmp_path, settings) as portal:
            yield portal, settings
    finally:
        drop_databases(infra.database_url, names)


def test_no_personal_value_in_the_databases_or_on_the_topics(distributed) -> None:
    portal, settings = distributed
    issued = flows.run_all(portal)
    assert portal.client.portal is not None
    portal.client.portal.call(relayed, portal.system.delivery.outboxes)
    on_kafka = portal.client.portal.call(topics, settings)
    read = sorted({t.where.split("@")[0] for t in on_kafka})
    assert any("identity.events" in where for where in read), f"read from Kafka: {read}"
    stored = list(dumps(settings))
    assert all("COPY " in dump.text for dump in stored), "a service database was not dumped"
    needles = [*seeded_needles(), *flows.TYPED, *issued]
    hits = find(needles, [*on_kafka, *stored])
    assert not hits, f"{len(hits)} personal value(s) in clear:\n{report(hits)}"
