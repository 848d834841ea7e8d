"""Deferred writes keep their order, come after the ORM changes made before them, and are
sent at commit at the latest (SQLite: one by one; PostgreSQL's pipeline is in
tests/integration/test_deferred_writes_postgres.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from services.portal.readmodels import BillingView, ReadModel
from shared.messaging.deferred_writes import defer, deferring, is_deferring, send_deferred
from shared.sqldb import make_engine

NUMBER = "0000000001"
SET_PREMIUM = (
    update(BillingView)
    .where(BillingView.certificate_number == bindparam("number"))
    .values(premium=bindparam("new_premium"))
)


def engine_at(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/deferred.sqlite")
    ReadModel.metadata.create_all(engine)
    return engine


def account() -> BillingView:
    return BillingView(
        certificate_number=NUMBER,
        payor_name="Payor",
        effective_date=date(2020, 1, 1),
        paid_to_date=date(2020, 1, 1),
        billed_to_date=date(2020, 1, 1),
        payment_frequency="Monthly",
        premium=Decimal("10.00"),
        payment_method="Direct Premium Notice",
        suspense_balance=Decimal("0.00"),
    )


def premium(engine) -> Decimal | None:
    with Session(engine) as session:
        row = session.get(BillingView, NUMBER)
        return row.premium if row else None


def test_deferred_statements_run_in_order_after_the_orm_changes_made_before_them(tmp_path):
    engine = engine_at(tmp_path)
    with Session(engine) as session, session.begin():
        session.add(account())  # pending: the UPDATEs below would miss it if they ran first
        defer(session, SET_PREMIUM, {"number": NUMBER, "new_premium": Decimal("20.00")})
        defer(session, SET_PREMIUM, {"number": NUMBER, "new_premium": Decimal("30.00")})
        assert send_deferred(session) == 2
        assert send_deferred(session) == 0
    assert premium(engine) == Decimal("30.00")


def test_what_is_still_deferred_at_commit_is_sent_and_a_rollback_drops_it(tmp_path):
    engine = engine_at(tmp_path)
    with Session(engine) as session, session.begin():
        session.add(account())
    with Session(engine) as session, session.begin():
        defer(session, SET_PREMIUM, {"number": NUMBER, "new_premium": Decimal("40.00")})
    assert premium(engine) == Decimal("40.00")
    with Session(engine) as session:
        session.begin()
        defer(session, SET_PREMIUM, {"number": NUMBER, "new_premium": Decimal("50.00")})
        session.rollback()
    assert premium(engine) == Decimal("40.00")


def test_a_projector_is_deferring_only_when_marked() -> None:
    @deferring
    def marked(session, envelope, event) -> None: ...

    def plain(session, envelope, event) -> None: ...

    assert is_deferring(marked) and not is_deferring(plain)
