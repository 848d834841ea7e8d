"""The first slice end to end on the real broker and PostgreSQL: commands over HTTP →
event stores → relays → Kafka → billing's reaction and the portal projection."""

from __future__ import annotations

from datetime import date

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.orm import Session

from services.portal.queries import NotFound, billing_detail
from shared.messaging.kafka import KafkaPublisher
from shared.sqldb import make_engine
from tests.factories import certificate_body
from tests.integration.conftest import Stack, eventually

pytestmark = pytest.mark.integration


async def issue(stack: Stack, number: str) -> None:
    response = await stack.policy_api.post("/certificates", json=certificate_body(number))
    assert response.status_code == 201, response.text


async def pay(stack: Stack, number: str, on: str, payment_id: str) -> None:
    response = await stack.billing_api.post(
        f"/accounts/{number}/payments",
        json={"amount": "44.00", "transaction_date": on, "payment_id": payment_id},
    )
    assert response.status_code == 201, response.text


def detail(stack: Stack, number: str, **kwargs):
    with Session(stack.read_engine) as session:
        try:
            return billing_detail(session, number, **kwargs)
        except NotFound:
            return None


async def account_opened(stack: Stack, number: str) -> None:
    await eventually(lambda: number in set(stack.billing.account_numbers()))


async def test_three_monthly_payments_advance_paid_to_by_three_months(stack: Stack) -> None:
    stack.start_relays()
    stack.start_consumer("billing")
    stack.start_consumer("portal")
    await issue(stack, "100001")
    await account_opened(stack, "0000100001")
    for i, on in enumerate(["2016-01-05", "2016-02-05", "2016-03-05"], start=1):
        await pay(stack, "100001", on, f"P{i}")

    shown = await eventually(
        lambda: (
            (d := detail(stack, "0000100001"))
            and d.payor.paid_to_date == date(2016, 3, 1)
            and d.payment_history.total == 3
            and d
        )
    )
    assert shown.payor.status == "Active Premium Paying"
    assert [row.transaction_date for row in shown.payment_history.items] == [
        date(2016, 3, 5),
        date(2016, 2, 5),
        date(2016, 1, 5),
    ]
    filtered = detail(
        stack, "0000100001", from_date=date(2016, 2, 1), through_date=date(2016, 2, 28)
    )
    assert [row.payment_id for row in filtered.payment_history.items] == ["P2"]


async def test_the_same_events_published_twice_are_applied_once(stack: Stack) -> None:
    stack.start_relays()
    billing_core = stack.start_consumer("billing")
    portal_core = stack.start_consumer("portal")
    await issue(stack, "100002")
    await account_opened(stack, "0000100002")
    for i in range(1, 4):
        await pay(stack, "100002", f"2016-0{i}-05", f"P{i}")
    await eventually(
        lambda: (d := detail(stack, "0000100002")) and d.payor.paid_to_date == date(2016, 3, 1)
    )
    account_version = stack.billing.get_account("0000100002").version
    before = detail(stack, "0000100002")

    # A relay that crashed after publishing but before recording its position publishes the
    # same events again (new offsets, same aggregate ids and versions).
    republisher = KafkaPublisher(stack.settings.kafka_bootstrap_servers)
    await republisher.start()
    from services.billing.main import billing_outbox
    from services.policy.main import policy_outbox

    policy_records, _ = policy_outbox(stack.policy, stack.settings).read(0)
    billing_records, _ = billing_outbox(stack.billing, stack.settings).read(0)
    await republisher.publish(policy_records + billing_records)
    await republisher.stop()

    await eventually(lambda: billing_core.duplicates >= len(policy_records))
    await eventually(lambda: portal_core.duplicates >= len(policy_records) + len(billing_records))
    assert stack.billing.get_account("0000100002").version == account_version
    assert list(stack.billing.account_numbers()).count("0000100002") == 1
    assert detail(stack, "0000100002") == before


async def test_a_consumer_stopped_mid_stream_loses_nothing_and_duplicates_nothing(
    stack: Stack,
) -> None:
    stack.start_relays()
    stack.start_consumer("billing")
    first = stack.start_consumer("portal")
    await issue(stack, "100003")
    await account_opened(stack, "0000100003")
    for i in range(1, 13):
        await pay(stack, "100003", f"2017-{i:02d}-05", f"A{i}")
    await eventually(lambda: first.applied >= 6, interval=0.01)
    await stack.stop("portal")  # stopped while the stream is still flowing
    applied_before_restart = first.applied
    for i in range(1, 7):
        await pay(stack, "100003", f"2018-{i:02d}-05", f"B{i}")

    second = stack.start_consumer("portal")
    shown = await eventually(
        lambda: (d := detail(stack, "0000100003", size=100)) and d.payment_history.total == 18 and d
    )
    await eventually(
        lambda: (
            d.payor.paid_to_date == date(2017, 6, 1)
            if (d := detail(stack, "0000100003"))
            else False
        )
    )
    ids = [row.payment_id for row in shown.payment_history.items]
    assert len(ids) == len(set(ids)) == 18
    # Every event applied exactly once across the two consumer lives.
    billing_events = 1 + 18 * 2  # opened + (received + applied) per payment
    policy_events = 1
    assert applied_before_restart + second.applied == billing_events + policy_events


async def test_a_malformed_message_goes_to_the_dlq_and_later_messages_are_applied(
    stack: Stack,
) -> None:
    stack.start_relays()
    stack.start_consumer("billing")
    stack.start_consumer("portal")
    topic = stack.settings.topic("policy.events")
    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await producer.start()
    await producer.send_and_wait(topic, b"{this is not an event", key=b"0000100004")
    await producer.send_and_wait(topic, b'{"event_type": "CertificateIssued"}', key=b"0000100004")
    await producer.stop()

    await issue(stack, "100004")
    await account_opened(stack, "0000100004")
    await pay(stack, "100004", "2016-01-05", "P1")
    shown = await eventually(
        lambda: (
            (d := detail(stack, "0000100004")) and d.payor.paid_to_date == date(2016, 1, 1) and d
        )
    )
    assert shown.payment_history.total == 1

    consumer = AIOKafkaConsumer(
        f"{topic}.dlq",
        bootstrap_servers=stack.settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    letters = []
    try:
        while len(letters) < 4:
            batch = await consumer.getmany(timeout_ms=10_000)
            if not batch:
                break
            for records in batch.values():
                letters.extend(records)
    finally:
        await consumer.stop()
    reasons = {
        (dict(r.headers)["dlq_consumer"].decode(), r.value): dict(r.headers)["dlq_reason"].decode()
        for r in letters
    }
    assert set(reasons) == {
        (consumer_name, value)
        for consumer_name in ("billing", "portal")
        for value in (b"{this is not an event", b'{"event_type": "CertificateIssued"}')
    }
    assert all("not a valid envelope" in reason for reason in reasons.values())


def test_read_store_engine_url_is_postgres(stack: Stack) -> None:
    assert stack.read_engine.dialect.name == "postgresql"
    assert make_engine(stack.settings.database_url_for("portal")).dialect.name == "postgresql"
