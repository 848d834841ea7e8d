"""Outbox, relay and consumer core with an in-memory publisher and dead-letter list."""

from datetime import date
from decimal import Decimal

import pytest

from services.billing.application import BillingApplication
from services.billing.consumers import billing_sink
from services.billing.integration import to_integration as billing_contracts
from services.policy.application import PolicyApplication
from services.policy.integration import PolicyContracts
from services.portal.projections import portal_sink
from services.portal.readmodels import ReadModel
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.messaging.relay import Relay
from shared.sqldb import make_engine
from tests.unit.test_policy import issue


def policy_outbox(app: PolicyApplication, directory) -> Outbox:
    from shared.personal_data import KeyedHash, Vault

    vault = Vault(make_engine(f"sqlite:///{directory}/keys.sqlite"))
    return Outbox(app, "policy.events", PolicyContracts(vault, KeyedHash(b"k" * 32)))


class ListPublisher:
    def __init__(self, fail_times: int = 0) -> None:
        self.records = []
        self.fail_times = fail_times

    async def publish(self, records) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("broker away")
        self.records.extend(records)


class ListDeadLetters:
    def __init__(self) -> None:
        self.letters = []

    async def publish(self, topic, partition, offset, value, headers, reason, consumer) -> None:
        self.letters.append((topic, offset, value, reason))


async def test_relay_records_its_position_only_after_publishing(tmp_path) -> None:
    policy = PolicyApplication()
    issue(policy, "0000000001")
    issue(policy, "0000000002")
    outbox = policy_outbox(policy, tmp_path)
    publisher = ListPublisher(fail_times=1)
    relay = Relay(outbox, publisher)
    with pytest.raises(ConnectionError):
        await relay.run_once()
    assert outbox.position("kafka") == 0  # nothing acknowledged, nothing recorded
    assert await relay.run_once() == 2
    assert [r.key for r in publisher.records] == ["0000000001", "0000000002"]
    assert await relay.run_once() == 0


async def test_billing_reaction_is_applied_once_per_upstream_event(tmp_path) -> None:
    policy, billing = PolicyApplication(), BillingApplication()
    issue(policy, "0000000001")
    records, _ = policy_outbox(policy, tmp_path).read(0)
    core = ConsumerCore(billing_sink(billing), ["policy.events"], ListDeadLetters())
    await core.handle("policy.events", 0, 10, records[0].value, {})
    # redelivered at the same offset, and re-published at a later offset (relay crash)
    await core.handle("policy.events", 0, 10, records[0].value, {})
    await core.handle("policy.events", 1, 99, records[0].value, {})
    assert (core.applied, core.duplicates) == (1, 2)
    assert billing.get_account("0000000001").version == 1
    assert list(billing.account_numbers()) == ["0000000001"]


async def test_malformed_messages_are_dead_lettered_and_consumption_goes_on(tmp_path) -> None:
    policy, billing = PolicyApplication(), BillingApplication()
    issue(policy, "0000000001")
    good, _ = policy_outbox(policy, tmp_path).read(0)
    dead = ListDeadLetters()
    core = ConsumerCore(billing_sink(billing), ["policy.events"], dead)
    await core.handle("policy.events", 0, 0, b"{not json", {})
    await core.handle("policy.events", 0, 1, good[0].value, {})
    assert [(t, o) for t, o, _, _ in dead.letters] == [("policy.events", 0)]
    assert "not a valid envelope" in dead.letters[0][3]
    assert billing.get_account("0000000001")
    assert core.sink.position("policy.events", 0) == 1


def _portal_engine(directory):
    engine = make_engine(f"sqlite:///{directory}/portal.sqlite")
    ReadModel.metadata.create_all(engine)
    return engine


async def test_portal_projection_is_idempotent_per_aggregate_version(tmp_path) -> None:
    billing = BillingApplication()
    billing.save(
        *billing.open_account(
            certificate_number="0000000001",
            payor_name="A",
            payment_frequency="Monthly",
            payment_method="List Bill",
            premium=Decimal("10.00"),
            effective_date=date(2020, 1, 1),
        )
    )
    for _ in range(3):
        billing.record_payment(
            "0000000001", amount=Decimal("10.00"), transaction_date=date(2020, 2, 1)
        )
    records, _ = Outbox(billing, "billing.events", billing_contracts).read(0)
    core = ConsumerCore(
        portal_sink(_portal_engine(tmp_path)), ["billing.events"], ListDeadLetters()
    )
    for offset, record in enumerate(records):
        await core.handle("billing.events", 0, offset, record.value, {})
    applied = core.applied
    # The relay re-publishes everything after a crash: new offsets, same events.
    for offset, record in enumerate(records, start=len(records)):
        await core.handle("billing.events", 0, offset, record.value, {})
    assert core.applied == applied
    assert core.duplicates == len(records)
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from services.portal.readmodels import BillingView, PaymentView

    with Session(core.sink.engine) as session:
        assert session.get(BillingView, "0000000001").paid_to_date == date(2020, 4, 1)
        assert session.scalar(select(func.count()).select_from(PaymentView)) == 3


async def test_a_key_store_away_while_parsing_is_waited_for_not_lost(tmp_path, monkeypatch) -> None:
    """Opening a sealed field reads the key store; a message is acknowledged to Kafka before
    it is handled, so an error escaping the core would lose it. The core waits instead."""
    import psycopg

    from shared.messaging import consumer as consumer_module

    policy, billing = PolicyApplication(), BillingApplication()
    issue(policy, "0000000001")
    records, _ = policy_outbox(policy, tmp_path).read(0)
    real_parse, failures = consumer_module.parse_event, []

    def parse_with_the_database_away(value):
        if len(failures) < 2:
            failures.append(1)
            raise psycopg.OperationalError("the database system is shutting down")
        return real_parse(value)

    monkeypatch.setattr(consumer_module, "parse_event", parse_with_the_database_away)
    monkeypatch.setattr(consumer_module.asyncio, "sleep", _no_wait)
    dead = ListDeadLetters()
    core = ConsumerCore(billing_sink(billing), ["policy.events"], dead)
    await core.handle("policy.events", 0, 0, records[0].value, {})
    assert (len(failures), dead.letters, core.applied) == (2, [], 1)
    assert billing.get_account("0000000001")


async def _no_wait(_: float) -> None:
    return None
