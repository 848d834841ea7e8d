"""A request to delete on the distributed stack (PostgreSQL + Kafka): afterwards a scan of
every service's database dump, of every topic read from offset 0 (DLQs included) and of the
logs finds none of the person's personal values in clear; the other owner's read models are
unchanged and `portal replay --verify` finds no difference; the certificate, in force, still
answers to the back office with the exempt (servicing) fields only."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from datetime import date
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from services.documents.main import build_documents, documents_consumer, documents_outbox
from services.identity.api import create_identity_api
from services.identity.main import build_identity, identity_consumer, identity_outbox
from shared.runtime import run_consumer, run_relay
from tests.factories import certificate_body
from tests.integration.conftest import SERVICE_DATABASES, Stack, eventually
from tests.integration.test_replay_distributed import run as run_replay

pytestmark = pytest.mark.integration

ERASED, KEPT = "0000500001", "0000500002"
PERSON = {
    "first_name": "Quinella",
    "last_name": "Marchetti",
    "date_of_birth": "1971-02-03",
    "government_id": "512-34-9876",
    "street": "77 Quarry Lane",
    "city": "Sausalito",
    "zip_code": "94965",
    "email": "quinella.m@example.net",
    "cell": "415-555-0177",
}
# What must not be found in clear anywhere once the request is carried out.
NEEDLES = {
    "first name": "Quinella",
    "last name": "Marchetti",
    "date of birth": "1971-02-03",
    "date of birth (us)": "02/03/1971",
    "SSN": "512-34-9876",
    "SSN digits": "512349876",
    "street": "Quarry Lane",
    "email": "quinella.m@example.net",
    "cell": "415-555-0177",
}


def erased_owner_body() -> dict[str, Any]:
    body = certificate_body(ERASED[-6:], owner="quinella")
    owner = body["owner"]
    owner.update(
        first_name=PERSON["first_name"],
        last_name=PERSON["last_name"],
        date_of_birth=PERSON["date_of_birth"],
        government_id=PERSON["government_id"],
    )
    owner["contact"]["address"].update(
        street=[PERSON["street"]], city=PERSON["city"], state="CA", zip_code=PERSON["zip_code"]
    )
    owner["contact"]["phones"] = {"cell": PERSON["cell"]}
    owner["contact"]["emails"] = [PERSON["email"]]
    body["payor_name"] = f"{PERSON['first_name']} {PERSON['last_name']}"
    insured = body["benefits"][0]["insureds"][0]
    insured.update(
        first_name=PERSON["first_name"],
        last_name=PERSON["last_name"],
        date_of_birth=PERSON["date_of_birth"],
    )
    return body


def dump_databases(stack: Stack) -> dict[str, str]:
    """`pg_dump --data-only` of every service database of this stack."""
    base = urlsplit(stack.settings.database_url or "")
    dumps = {}
    for name in SERVICE_DATABASES:
        database = f"{name}{stack.settings.database_suffix}"
        url = urlunsplit(base._replace(path=f"/{database}"))
        result = subprocess.run(
            ["pg_dump", "--data-only", "--no-owner", url],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        dumps[database] = result.stdout
    return dumps


async def read_topics(stack: Stack) -> dict[str, list[bytes]]:
    """Every message of every topic of this stack (DLQs included), from offset 0."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        names = sorted(
            t for t in await consumer.topics() if t.startswith(stack.settings.topic_prefix)
        )
        await consumer._client.force_metadata_update()
        partitions = [
            TopicPartition(t, p) for t in names for p in consumer.partitions_for_topic(t) or ()
        ]
        if not partitions:
            return {}
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        messages: dict[str, list[bytes]] = {t: [] for t in names}

        async def behind() -> bool:
            for partition in partitions:
                if await consumer.position(partition) < ends[partition]:
                    return True
            return False

        while await behind():
            batch = await consumer.getmany(timeout_ms=1000)
            for partition, records in batch.items():
                for record in records:
                    messages[partition.topic].append(
                        (record.key or b"") + b" " + (record.value or b"")
                    )
        return messages
    finally:
        await consumer.stop()


def hits(places: dict[str, str]) -> list[str]:
    return [
        f"{what} ({needle!r}) in {where}"
        for where, content in places.items()
        for what, needle in NEEDLES.items()
        if needle in content
    ]


async def test_a_request_to_delete_leaves_nothing_readable(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings, bootstrap = stack.settings, stack.settings.kafka_bootstrap_servers
    identity = build_identity(settings)
    documents = build_documents(settings)
    for name, outbox in (
        ("identity-relay", identity_outbox(identity, settings)),
        ("documents-relay", documents_outbox(documents, settings)),
    ):
        stack.start(name, lambda stop, o=outbox: run_relay(o, bootstrap, stop))
    for name, core in (
        ("identity", identity_consumer(identity, settings)),
        ("documents", documents_consumer(documents, settings)),
    ):
        group = settings.topic(name)
        stack.start(name, lambda stop, c=core, g=group: run_consumer(c, bootstrap, g, stop))
    stack.start_relays()
    for name in ("billing", "policy", "portal"):
        stack.start_consumer(name)
    identity_api = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_identity_api(identity)),
        base_url="http://identity",
    )
    try:
        for body in (erased_owner_body(), certificate_body(KEPT[-6:], owner="keeper")):
            response = await stack.policy_api.post("/certificates", json=body)
            assert response.status_code == 201, response.text
        await eventually(lambda: {ERASED, KEPT} <= set(stack.billing.account_numbers()))
        for number in (ERASED, KEPT):
            response = await stack.billing_api.post(
                f"/accounts/{number}/payments",
                json={"amount": "44.00", "transaction_date": "2016-01-05", "payment_id": "P1"},
            )
            assert response.status_code == 201, response.text

        def portal_has(number: str, column: str = "paid_to_date") -> Any:
            with stack.read_engine.begin() as connection:
                return connection.execute(
                    text(f"SELECT {column} FROM billing_accounts WHERE certificate_number = :n"),
                    {"n": number},
                ).scalar()

        # Both payments applied (paid to one month on) before the kept owner's rows are noted.
        paid = date(2016, 1, 1)
        await eventually(lambda: portal_has(ERASED) == paid and portal_has(KEPT) == paid)
        kept_before = read_model_rows(stack, KEPT)
        await eventually(lambda: erased_owner_known(identity))

        # The person (no portal account) asks to delete, verified by 5 matching points.
        response = await identity_api.post(
            "/privacy/requests",
            json={
                "kind": "delete",
                "requester": {
                    "first_name": PERSON["first_name"],
                    "last_name": PERSON["last_name"],
                    "date_of_birth": PERSON["date_of_birth"],
                    "email": PERSON["email"],
                    "cell": PERSON["cell"],
                    "address": {
                        "street": PERSON["street"],
                        "city": PERSON["city"],
                        "state": "CA",
                        "zip_code": PERSON["zip_code"],
                    },
                },
                "agent": None,
            },
        )
        assert response.status_code == 201, response.text
        answer = response.json()
        assert answer["status"] == "completed", answer

        # Every copy in clear is purged by the events that follow (asynchronously).
        async def nothing_left() -> list[str]:
            places = {
                f"database {k}": v
                for k, v in (await asyncio.to_thread(dump_databases, stack)).items()
            }
            for topic, messages in (await read_topics(stack)).items():
                places[f"topic {topic}"] = b"\n".join(messages).decode(errors="replace")
            places["logs"] = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
            found = hits(places)
            last_hits[:] = found
            return not found

        last_hits: list[str] = []
        try:
            await eventually(nothing_left, timeout=60, interval=1.0)
        except AssertionError:
            raise AssertionError(f"personal values still readable: {last_hits}") from None

        # The document store holds sealed content only (a PDF in clear would hide its text
        # from the dump's hex, so this is checked on the blobs themselves).
        with documents.content_store.engine.begin() as connection:  # type: ignore[attr-defined]
            blobs = connection.execute(text("SELECT content FROM document_contents")).scalars()
            assert all(bytes(b).startswith(b"pii:v1:") for b in blobs)

        # The other owner's read models are untouched, and a replay agrees with the live ones.
        assert read_model_rows(stack, KEPT) == kept_before
        verified = await asyncio.to_thread(run_replay, stack, "--verify")
        assert verified.exit_code == 0 and "0 differences" in verified.output, verified.output

        # In force: the back office still sees the servicing fields, and nothing else.
        response = await stack.policy_api.get(f"/certificates/{ERASED}")
        assert response.status_code == 200, response.text
        certificate = response.text
        assert PERSON["first_name"] in certificate and PERSON["street"] in certificate
        assert PERSON["email"] not in certificate and PERSON["cell"] not in certificate
    finally:
        await identity_api.aclose()
        for name in list(stack.tasks):
            await stack.stop(name)
        identity.close()
        documents.close()


def erased_owner_known(identity: Any) -> bool:
    """Identity has taken in the certificate (its owner can be matched)."""
    with identity.engine.begin() as connection:
        return bool(
            connection.execute(
                text("SELECT count(*) FROM owners WHERE certificate_number = :n"),
                {"n": ERASED},
            ).scalar()
        )


def read_model_rows(stack: Stack, number: str) -> dict[str, list[tuple]]:
    """The portal's rows about one certificate, table by table."""
    rows = {}
    with stack.read_engine.begin() as connection:
        for table in ("certificates", "billing_accounts", "payments", "benefits"):
            rows[table] = [
                tuple(r)
                for r in connection.execute(
                    text(f"SELECT * FROM {table} WHERE certificate_number = :n ORDER BY 1"),
                    {"n": number},
                )
            ]
    return rows
