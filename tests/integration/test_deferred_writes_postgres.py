"""Billing's deferred writes on PostgreSQL: a fetch's statements go in one psycopg pipeline,
leave the rows that one-by-one handling leaves, and a statement the database refuses inside
the pipeline rolls the run back so that only its event is dead-lettered."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from services.portal.projections import portal_sink
from services.portal.readmodels import BillingView, PaymentView, ReadModel
from shared.contracts.billing import BillingAccountOpened
from shared.contracts.envelope import parse_event
from shared.messaging.consumer import ConsumerCore
from shared.sqldb import make_engine
from tests.integration.conftest import create_databases, drop_databases
from tests.unit.test_consumer_batch import TOPIC, billing_values, read_models, records
from tests.unit.test_messaging import ListDeadLetters

pytestmark = pytest.mark.integration


@pytest.fixture
def portal_databases(infra) -> Iterator:
    """A function making a portal consumer on a fresh PostgreSQL database per call."""
    names: list[str] = []
    engines = []

    def core() -> tuple[ConsumerCore, ListDeadLetters]:
        name = f"deferred_{uuid.uuid4().hex[:8]}"
        create_databases(infra.database_url, [name])
        names.append(name)
        engine = make_engine(f"{infra.database_url.rpartition('/')[0]}/{name}")
        engines.append(engine)
        ReadModel.metadata.create_all(engine)
        dead = ListDeadLetters()
        return ConsumerCore(portal_sink(engine), [TOPIC], dead), dead

    yield core
    for engine in engines:
        engine.dispose()
    drop_databases(infra.database_url, names)


def statements_of(core: ConsumerCore) -> list[str]:
    """The statements SQLAlchemy runs itself (deferred ones go to psycopg's pipeline)."""
    seen: list[str] = []
    event.listen(
        core.sink.engine,  # type: ignore[attr-defined]
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: seen.append(statement),
    )
    return seen


async def test_a_fetch_pipelines_its_billing_writes_and_leaves_the_same_rows(
    portal_databases,
) -> None:
    values = billing_values(payments=8)
    one_by_one, _ = portal_databases()
    for record in records(values):
        await one_by_one.handle(*record)
    batched, dead = portal_databases()
    statements = statements_of(batched)
    await batched.handle_batch(records(values))
    assert read_models(batched) == read_models(one_by_one)
    assert (batched.applied, dead.letters) == (one_by_one.applied, [])
    # 8 payments are 16+ billing statements; SQLAlchemy itself ran only the position lock,
    # the watermarks, the account's merge, the tracking writes — a count that does not grow
    # with the payments.
    assert len(statements) < 12, statements
    # The position is locked before the watermarks are read: a member that waited for the
    # lock then reads the watermarks the member before it committed.
    lock = next(i for i, s in enumerate(statements) if "FOR UPDATE" in s)
    read = next(i for i, s in enumerate(statements) if "FROM aggregate_watermarks" in s)
    assert lock < read, statements


async def test_a_refused_statement_in_the_pipeline_dead_letters_only_its_event(
    portal_databases,
) -> None:
    values = billing_values(payments=3)
    # A payment of another account (another aggregate, another certificate) whose account was
    # never opened: its row breaks the payments → billing_accounts foreign key.
    payment = next(v for v in values if not isinstance(parse_event(v)[1], BillingAccountOpened))
    aggregate_id = str(parse_event(payment)[0].aggregate_id).encode()
    stray_payment = payment.replace(b"0000000001", b"0000000002").replace(
        aggregate_id, str(uuid.uuid4()).encode()
    )
    fetch = [*records(values), (TOPIC, 0, len(values), stray_payment, {})]
    core, dead = portal_databases()
    await core.handle_batch(fetch)
    assert [offset for _, offset, _, _ in dead.letters] == [len(values)]
    reference, _ = portal_databases()
    await reference.handle_batch(records(values))
    assert read_models(core) == read_models(reference)
    with Session(core.sink.engine) as session:  # type: ignore[attr-defined]
        assert session.scalar(select(func.count()).select_from(PaymentView)) == 3
        assert session.get(BillingView, "0000000002") is None
    assert core.sink.position(TOPIC, 0) == len(values)
