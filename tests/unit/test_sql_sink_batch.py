"""`SqlSink.apply_many` (a replay's runs, one transaction each) leaves exactly what `apply`
(one transaction per event) leaves: same rows, same watermarks, same positions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from services.billing.application import BillingApplication
from services.billing.integration import to_integration as billing_contracts
from services.portal.projections import portal_sink
from services.portal.readmodels import ReadModel
from shared.contracts.envelope import parse_event
from shared.messaging.outbox import Outbox
from shared.messaging.records import Delivery
from shared.messaging.sql_sink import aggregate_watermarks, consumer_positions
from shared.sqldb import make_engine

TOPIC = "billing.events"


def deliveries() -> list[Delivery]:
    billing = BillingApplication()
    for n in range(1, 4):
        billing.save(
            *billing.open_account(
                certificate_number=f"{n:010d}",
                payor_name="A",
                payment_frequency="Monthly",
                payment_method="List Bill",
                premium=Decimal("10.00"),
                effective_date=date(2020, 1, 1),
            )
        )
        for _ in range(n + 1):
            billing.record_payment(
                f"{n:010d}", amount=Decimal("10.00"), transaction_date=date(2020, 2, 1)
            )
    records, _ = Outbox(billing, TOPIC, billing_contracts).read(0)
    parsed = [parse_event(r.value) for r in records]
    first = [Delivery(TOPIC, 0, i, e, ev) for i, (e, ev) in enumerate(parsed)]
    # Re-published after a relay crash (new offsets, same events), and one redelivered offset.
    again = [Delivery(TOPIC, 0, len(first) + i, e, ev) for i, (e, ev) in enumerate(parsed[:5])]
    return [*first, first[-1], *again]


def sink(tmp_path, name: str):
    engine = make_engine(f"sqlite:///{tmp_path}/{name}.sqlite")
    ReadModel.metadata.create_all(engine)
    return portal_sink(engine)


def everything(engine) -> dict[str, list[tuple]]:
    with Session(engine) as session:
        return {
            table: sorted(
                tuple(map(str, row)) for row in session.execute(text(f"SELECT * FROM {table}"))
            )
            for table in inspect(engine).get_table_names()
        }


@pytest.mark.parametrize("run", [1, 4, 100])
def test_runs_in_one_transaction_leave_what_one_by_one_leaves(tmp_path, run: int) -> None:
    one_by_one, batched = sink(tmp_path, "alone"), sink(tmp_path, "runs")
    stream = deliveries()
    applied_alone = sum(one_by_one.apply(d) for d in stream)
    applied_in_runs = sum(
        batched.apply_many(stream[i : i + run]) for i in range(0, len(stream), run)
    )
    assert applied_in_runs == applied_alone > 0
    assert everything(batched.engine) == everything(one_by_one.engine)
    with Session(batched.engine) as session:
        assert session.scalar(select(consumer_positions.c.offset)) == max(d.offset for d in stream)
        assert len(session.execute(select(aggregate_watermarks)).all()) == 3


def test_a_failing_run_leaves_nothing_of_itself(tmp_path) -> None:
    batched = sink(tmp_path, "runs")
    stream = deliveries()
    batched.apply_many(stream[:3])
    before = everything(batched.engine)
    poisoned = [*stream[3:6], Delivery(TOPIC, 0, 99, stream[6].envelope, object())]  # type: ignore[arg-type]
    batched.projectors[object] = lambda *_: (_ for _ in ()).throw(ValueError("bad"))
    with pytest.raises(ValueError):
        batched.apply_many(poisoned)
    assert everything(batched.engine) == before
