"""Billing account arithmetic, against the real Application in memory."""

from datetime import date
from decimal import Decimal

import pytest

from services.billing.application import AccountNotFound, BillingApplication
from services.billing.domain import DuplicatePayment, PaymentRejected
from services.billing.integration import to_integration
from shared.contracts.envelope import IntegrationEvent, parse_event
from shared.messaging.outbox import Outbox


def open_account(
    frequency: str = "Monthly",
    premium: str = "44.00",
    effective: date = date(2015, 12, 1),
    number: str = "0000100001",
    status: str = "Active Premium Paying",
    app: BillingApplication | None = None,
) -> BillingApplication:
    app = app or BillingApplication()
    app.save(
        *app.open_account(
            certificate_number=number,
            payor_name="Avery Demo",
            payment_frequency=frequency,
            payment_method="List Bill",
            premium=Decimal(premium),
            effective_date=effective,
            status=status,
        )
    )
    return app


def pay(
    app: BillingApplication,
    amount: str,
    on: date = date(2016, 1, 5),
    pid: str | None = None,
    number: str = "0000100001",
):
    return app.record_payment(number, amount=Decimal(amount), transaction_date=on, payment_id=pid)


def published(app: BillingApplication, event_type: str | None = None) -> list[IntegrationEvent]:
    """The contracts billing's outbox publishes (parsed back from their JSON), oldest first."""
    records, _ = Outbox(app, "billing.events", to_integration).read(0, 1_000_000)
    events = [parse_event(record.value)[1] for record in records]
    return [e for e in events if e and (event_type is None or e.event_type == event_type)]


def test_a_new_account_is_paid_and_billed_to_its_effective_date() -> None:
    account = open_account().get_account("0000100001")
    assert account.paid_to_date == date(2015, 12, 1)
    assert account.billed_to_date == date(2015, 12, 1)


def test_each_monthly_premium_advances_paid_to_by_one_month() -> None:
    app = open_account()
    for _ in range(3):
        account = pay(app, "44.00")
    assert account.paid_to_date == date(2016, 3, 1)
    assert account.suspense == Decimal("0.00")


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        ("Monthly", date(2024, 3, 31)),
        ("Quarterly", date(2024, 7, 31)),
        ("Semi-Annual", date(2025, 1, 31)),
        ("Annual", date(2026, 1, 31)),
    ],
)
def test_modes_from_a_month_end_effective_date(frequency: str, expected: date) -> None:
    # Effective 01/31/2024 (a leap year): two premiums paid.
    app = open_account(frequency=frequency, premium="100.00", effective=date(2024, 1, 31))
    pay(app, "100.00")
    account = pay(app, "100.00")
    assert account.paid_to_date == expected


def test_monthly_paid_to_lands_on_february_29_in_a_leap_year() -> None:
    app = open_account(premium="10.00", effective=date(2024, 1, 31))
    assert pay(app, "10.00").paid_to_date == date(2024, 2, 29)
    assert pay(app, "10.00").paid_to_date == date(2024, 3, 31)


def test_a_partial_payment_waits_in_suspense_until_a_whole_premium_is_covered() -> None:
    app = open_account()
    account = pay(app, "30.00")
    assert account.paid_to_date == date(2015, 12, 1)
    assert account.suspense == Decimal("30.00")
    account = pay(app, "14.00")
    assert account.paid_to_date == date(2016, 1, 1)
    assert account.suspense == Decimal("0.00")


def test_one_payment_of_several_premiums_advances_several_periods_and_keeps_the_rest() -> None:
    app = open_account()
    account = pay(app, "140.00")  # 3 × 44.00 = 132.00, 8.00 over
    assert account.paid_to_date == date(2016, 3, 1)
    assert account.suspense == Decimal("8.00")


def test_a_payment_is_recorded_once() -> None:
    app = open_account()
    pay(app, "44.00", pid="LB-1")
    with pytest.raises(DuplicatePayment):
        pay(app, "44.00", pid="LB-1")
    assert app.get_account("0000100001").paid_to_date == date(2016, 1, 1)


def test_a_payment_must_be_positive() -> None:
    app = open_account()
    with pytest.raises(PaymentRejected):
        pay(app, "0.00")
    with pytest.raises(PaymentRejected):
        pay(app, "-5.00")
    assert app.get_account("0000100001").version == 1


def test_paying_an_unknown_account_is_refused() -> None:
    app = open_account()
    with pytest.raises(AccountNotFound):
        app.record_payment("0000999999", amount=Decimal("1"), transaction_date=date(2020, 1, 1))


def test_bill_account_bills_every_premium_due_through_the_date() -> None:
    app = open_account()
    pay(app, "44.00")
    # premiums due 12/01 … 05/01 are billed as of 05/15: billed to 06/01 (the demo's call)
    account = app.bill_account("0000100001", date(2016, 5, 15))
    assert account.billed_to_date == date(2016, 6, 1)
    assert app.bill_account("0000100001", date(2016, 5, 31)).version == account.version
    # with the cycle's 21 lead days, the 07/01 premium is billed from 06/10
    assert app.bill_account("0000100001", date(2016, 6, 9), lead_days=21).billed_to_date == (
        date(2016, 7, 1)
    )
    account = app.bill_account("0000100001", date(2016, 6, 10), lead_days=21)
    assert account.billed_to_date == date(2016, 8, 1)
    # Billing history only: the premiums are billed, no statement goes to the owner.
    assert len(published(app, "PremiumBilled")) == 3
    assert published(app, "StatementIssued") == []


def test_a_long_lived_account_loads_from_a_snapshot() -> None:
    app = open_account()
    for i in range(120):
        pay(app, "44.00", pid=f"p{i}")
    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(app.get_account("0000100001").id))
    assert snapshots, "a billing account with 240 events has been snapshotted"
    assert app.get_account("0000100001").paid_to_date == date(2025, 12, 1)


def test_accounts_recorded_before_statuses_and_statements_still_load() -> None:
    from dataclasses import replace

    from eventsourcing.domain import Snapshot

    from services.billing.domain import BillingAccount

    app = open_account()
    pay(app, "44.00")
    account = app.get_account("0000100001")
    # An Opened event stored before it carried the status reads as Active Premium Paying.
    [opened, *_] = app.events.get(account.id)
    stored = app.mapper.to_stored_event(opened)
    state = app.mapper.transcoder.decode(stored.state)
    del state["status"]
    old = replace(stored, state=app.mapper.transcoder.encode(state))
    assert app.mapper.to_domain_event(old).mutate(None).status == "Active Premium Paying"
    # A version-1 snapshot (no class_version, none of the new state) is upcast when loaded.
    snapshot = Snapshot.take(account)
    new_keys = {"class_version", "status", "status_date", "reversed_payments"}
    new_keys |= {"defaulted_due_dates", "lines_since_bill", "year_lines", "annual_through"}
    v1_state = {k: v for k, v in snapshot.state.items() if k not in new_keys}
    v1 = Snapshot(
        originator_id=snapshot.originator_id,
        originator_version=snapshot.originator_version,
        timestamp=snapshot.timestamp,
        topic=snapshot.topic,
        state=v1_state,
    )
    loaded = v1.mutate(None)
    assert isinstance(loaded, BillingAccount)
    assert (loaded.status, loaded.paid_to_date, loaded.lines_since_bill) == (
        "Active Premium Paying",
        date(2016, 1, 1),
        [],
    )
    loaded.reverse_payment(next(iter(loaded.payment_ids)), date(2016, 1, 9), "NSF")
    assert loaded.paid_to_date == date(2015, 12, 1)
