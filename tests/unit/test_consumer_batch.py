"""`ConsumerCore.handle_batch`: the records of one fetch, applied by a SQL sink in one
transaction, leave what one-by-one handling leaves, and lose nothing around a dead letter or a
failing run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from services.billing.integration import to_integration as billing_contracts
from services.portal.projections import portal_sink
from services.portal.readmodels import BillingView, PaymentView, ReadModel
from shared.contracts.billing import PaymentReceived
from shared.contracts.envelope import parse_event
from shared.messaging import consumer as consumer_module
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.messaging.records import RejectedMessage
from shared.sqldb import make_engine
from tests.unit.test_billing_account import open_account, pay
from tests.unit.test_messaging import ListDeadLetters

TOPIC = "billing.events"
NUMBER = "0000000001"


def billing_values(payments: int) -> list[bytes]:
    billing = open_account(number=NUMBER, premium="10.00", effective=date(2020, 1, 1))
    for month in range(payments):
        pay(billing, "10.00", on=date(2020, 1 + month % 12, 1), number=NUMBER)
    records, _ = Outbox(billing, TOPIC, billing_contracts).read(0)
    return [record.value for record in records]


def portal_core(directory, name: str) -> tuple[ConsumerCore, ListDeadLetters]:
    engine = make_engine(f"sqlite:///{directory}/{name}.sqlite")
    ReadModel.metadata.create_all(engine)
    dead = ListDeadLetters()
    return ConsumerCore(portal_sink(engine), [TOPIC], dead), dead


def read_models(core: ConsumerCore) -> tuple:
    with Session(core.sink.engine) as session:  # type: ignore[attr-defined]
        account = session.get(BillingView, NUMBER)
        payments = session.scalars(
            select(PaymentView.amount).order_by(PaymentView.transaction_date)
        ).all()
        return account.paid_to_date, account.last_payment_date, tuple(payments)


def commits_of(core: ConsumerCore) -> list[int]:
    commits: list[int] = []
    event.listen(core.sink.engine, "commit", lambda _: commits.append(1))  # type: ignore[attr-defined]
    return commits


def records(values: list[bytes], start: int = 0) -> list:
    return [(TOPIC, 0, offset, value, {}) for offset, value in enumerate(values, start=start)]


async def test_a_fetch_is_one_transaction_and_leaves_what_one_by_one_handling_leaves(
    tmp_path,
) -> None:
    values = billing_values(payments=6)
    one_by_one, _ = portal_core(tmp_path, "one")
    for record in records(values):
        await one_by_one.handle(*record)
    batched, dead = portal_core(tmp_path, "batched")
    commits = commits_of(batched)
    await batched.handle_batch(records(values))
    assert len(commits) == 1
    assert read_models(batched) == read_models(one_by_one)
    assert (batched.applied, batched.duplicates, dead.letters) == (one_by_one.applied, 0, [])
    assert batched.sink.position(TOPIC, 0) == len(values) - 1
    assert batched.last_applied[(TOPIC, 0)][0] == len(values) - 1
    # Redelivered (a rebalance), then re-published at new offsets (a relay crash): no effect.
    await batched.handle_batch(records(values))
    await batched.handle_batch(records(values, start=len(values)))
    assert read_models(batched) == read_models(one_by_one)
    assert batched.duplicates == 2 * len(values)


async def test_messages_before_a_dead_letter_in_the_same_fetch_are_not_lost(tmp_path) -> None:
    """Dead-lettering records the poison's position; the run before it is committed first, or
    its messages would then look like duplicates and be skipped."""
    values = billing_values(payments=4)
    fetch = [*records(values[:3]), (TOPIC, 0, 3, b"{not json", {}), *records(values[3:], 4)]
    core, dead = portal_core(tmp_path, "poison")
    await core.handle_batch(fetch)
    assert [offset for _, offset, _, _ in dead.letters] == [3]
    reference, _ = portal_core(tmp_path, "reference")
    await reference.handle_batch(records(values))
    assert read_models(core) == read_models(reference)
    assert core.sink.position(TOPIC, 0) == len(values)


async def test_a_run_that_fails_is_applied_one_by_one_and_only_the_culprit_is_dead_lettered(
    tmp_path, monkeypatch
) -> None:
    values = billing_values(payments=3)
    core, dead = portal_core(tmp_path, "culprit")
    sink = core.sink
    real = sink.projectors[PaymentReceived]  # type: ignore[attr-defined]
    received = [e for e, body in map(parse_event, values) if isinstance(body, PaymentReceived)]
    culprit = received[1].event_id

    def reject_the_second_payment(session, envelope, payment) -> None:
        if envelope.event_id == culprit:
            raise RejectedMessage("not this one")
        real(session, envelope, payment)

    monkeypatch.setitem(sink.projectors, PaymentReceived, reject_the_second_payment)  # type: ignore[attr-defined]
    commits = commits_of(core)
    await core.handle_batch(records(values))
    assert len(dead.letters) == 1 and dead.letters[0][3] == "not this one"
    # The run rolled back; then one commit per message (the culprit's records its position).
    assert len(commits) == len(values)
    with Session(sink.engine) as session:  # type: ignore[attr-defined]
        assert len(session.scalars(select(PaymentView)).all()) == 2
    assert sink.position(TOPIC, 0) == len(values) - 1


async def test_a_database_away_during_a_run_is_waited_for(tmp_path, monkeypatch) -> None:
    values = billing_values(payments=2)
    core, dead = portal_core(tmp_path, "away")
    real_apply, failures = core.sink.apply, []

    def apply_many_with_the_database_away(deliveries, around=None) -> int:
        raise psycopg.OperationalError("the database system is shutting down")

    def apply_once_away(delivery) -> bool:
        if not failures:
            failures.append(1)
            raise psycopg.OperationalError("the database system is shutting down")
        return real_apply(delivery)

    monkeypatch.setattr(core.sink, "apply_many", apply_many_with_the_database_away)
    monkeypatch.setattr(core.sink, "apply", apply_once_away)
    monkeypatch.setattr(consumer_module.asyncio, "sleep", _no_wait)
    await core.handle_batch(records(values))
    assert (failures, dead.letters, core.sink.position(TOPIC, 0)) == ([1], [], len(values) - 1)
    assert read_models(core)[2] == (Decimal("10.00"), Decimal("10.00"))


async def _no_wait(_: float) -> None:
    return None
