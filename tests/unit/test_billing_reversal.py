"""Returned items and NSF: reversing a payment rolls paid-to back by money arithmetic."""

from datetime import date
from decimal import Decimal

import pytest

from services.billing.application import AccountNotFound, BillingApplication
from services.billing.domain import BillingAccount, PaymentAlreadyReversed, PaymentNotFound
from tests.unit.test_billing_account import open_account, pay, published

NUMBER = "0000100001"


def recorded(app: BillingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def test_reversing_the_first_of_three_payments_rolls_paid_to_back_one_period() -> None:
    # Three monthly premiums paid: paid to 03/01/2016.
    app = open_account()
    for pid in ("p1", "p2", "p3"):
        pay(app, "44.00", pid=pid)
    assert app.get_account(NUMBER).paid_to_date == date(2016, 3, 1)
    # The first payment comes back unpaid (NSF) after the later ones were applied.
    account = app.reverse_payment(NUMBER, "p1", date(2016, 1, 20), "NSF")
    # Exactly one period is taken back; nothing goes to suspense.
    assert account.paid_to_date == date(2016, 2, 1)
    assert account.suspense == Decimal("0.00")
    # The contract says which payment, how many periods, and the new balances.
    [reversed_] = published(app, "PaymentReversed")
    assert reversed_.model_dump() == {
        "certificate_number": NUMBER,
        "payment_id": "p1",
        "reversed_on": date(2016, 1, 20),
        "reason": "NSF",
        "amount": Decimal("44.00"),
        "periods_reversed": 1,
        "paid_to_date": date(2016, 2, 1),
        "suspense_balance": Decimal("0.00"),
    }
    # The account remembers the reversal (the portal marks the history row from the contract).
    assert app.get_account(NUMBER).reversed_payments == {"p1": date(2016, 1, 20)}
    # Paid again: paid-to moves forward again.
    assert pay(app, "44.00", pid="p1-again").paid_to_date == date(2016, 3, 1)


def test_a_reversal_takes_back_only_whole_premiums_the_money_no_longer_covers() -> None:
    # 30.00 waits in suspense, then 44.00 makes one premium with 30.00 left over.
    app = open_account()
    pay(app, "30.00", pid="part")
    account = pay(app, "44.00", pid="full")
    assert (account.paid_to_date, account.suspense) == (date(2016, 1, 1), Decimal("30.00"))
    # Reversing the 44.00: 74.00 - 44.00 = 30.00 → no whole premium, 30.00 in suspense.
    account = app.reverse_payment(NUMBER, "full", date(2016, 1, 25), "Returned item")
    assert (account.paid_to_date, account.suspense) == (date(2015, 12, 1), Decimal("30.00"))
    assert published(app, "PaymentReversed")[0].periods_reversed == 1


def test_reversing_money_still_in_suspense_takes_no_period_back() -> None:
    # One premium paid, then 20.00 in suspense.
    app = open_account()
    pay(app, "44.00", pid="p1")
    pay(app, "20.00", pid="p2")
    # Reversing the 20.00 leaves paid-to alone: periods_reversed is 0.
    account = app.reverse_payment(NUMBER, "p2", date(2016, 1, 25), "NSF")
    assert (account.paid_to_date, account.suspense) == (date(2016, 1, 1), Decimal("0.00"))
    assert published(app, "PaymentReversed")[0].periods_reversed == 0


def test_an_overpayment_reversed_gives_back_every_period_it_paid() -> None:
    # 140.00 paid three premiums with 8.00 over; 44.00 more makes four with 8.00 over.
    app = open_account()
    pay(app, "140.00", pid="big")
    pay(app, "44.00", pid="small")
    assert app.get_account(NUMBER).paid_to_date == date(2016, 4, 1)
    # 184.00 - 140.00 = 44.00: one period stays paid, suspense 0.00.
    account = app.reverse_payment(NUMBER, "big", date(2016, 2, 1), "Stop payment")
    assert (account.paid_to_date, account.suspense) == (date(2016, 1, 1), Decimal("0.00"))
    assert published(app, "PaymentReversed")[0].periods_reversed == 3


def test_more_reversed_than_the_account_holds_leaves_negative_suspense_owed() -> None:
    # Every amount in an account comes from its payments, so commands alone never reverse more
    # than it holds; a balance brought forward (e.g. a paid-to taken over from an older system)
    # can. Here the account is treated as paid for two periods before its one payment.
    account = BillingAccount(
        certificate_number=NUMBER,
        payor_name="Avery Demo",
        payment_frequency="Monthly",
        payment_method="List Bill",
        premium=Decimal("44.00"),
        effective_date=date(2015, 12, 1),
    )
    account.receive_payment(
        payment_id="p1",
        amount=Decimal("100.00"),
        transaction_date=date(2016, 1, 5),
        apply_date=date(2016, 1, 5),
        payment_method="List Bill",
    )
    assert (account.paid_periods, account.suspense) == (2, Decimal("12.00"))
    account.paid_periods = 0  # the balance brought forward: nothing actually paid here
    account.suspense = Decimal("12.00")
    account.reverse_payment("p1", date(2016, 1, 20), "NSF")
    # 0 × 44.00 + 12.00 - 100.00 = -88.00: nothing paid, 88.00 owed.
    assert (account.paid_to_date, account.suspense) == (date(2015, 12, 1), Decimal("-88.00"))
    # The next payments fill the hole first: 100.00 → 12.00 in suspense, still no period.
    account.receive_payment(
        payment_id="p2",
        amount=Decimal("100.00"),
        transaction_date=date(2016, 2, 5),
        apply_date=date(2016, 2, 5),
        payment_method="List Bill",
    )
    assert (account.paid_to_date, account.suspense) == (date(2015, 12, 1), Decimal("12.00"))
    account.receive_payment(
        payment_id="p3",
        amount=Decimal("32.00"),
        transaction_date=date(2016, 3, 5),
        apply_date=date(2016, 3, 5),
        payment_method="List Bill",
    )
    assert (account.paid_to_date, account.suspense) == (date(2016, 1, 1), Decimal("0.00"))


def test_reversing_twice_is_refused_and_records_nothing() -> None:
    app = open_account()
    pay(app, "44.00", pid="p1")
    app.reverse_payment(NUMBER, "p1", date(2016, 1, 20), "NSF")
    before = recorded(app)
    with pytest.raises(PaymentAlreadyReversed, match="already reversed on 2016-01-20"):
        app.reverse_payment(NUMBER, "p1", date(2016, 1, 21), "NSF")
    assert recorded(app) == before


def test_reversing_an_unknown_payment_or_account_is_refused() -> None:
    app = open_account()
    pay(app, "44.00", pid="p1")
    before = recorded(app)
    with pytest.raises(PaymentNotFound, match="no payment p9"):
        app.reverse_payment(NUMBER, "p9", date(2016, 1, 20), "NSF")
    with pytest.raises(AccountNotFound):
        app.reverse_payment("0000999999", "p1", date(2016, 1, 20), "NSF")
    assert recorded(app) == before
