"""The billing cycle, as of a date: bills within the lead days, billing and annual statements."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.billing.schedule import BILLING_LEAD_DAYS
from tests.unit.test_billing_account import open_account, pay, published

NUMBER = "0000100001"


def test_a_premium_is_billed_21_days_before_it_is_due_across_month_ends_and_leap_day() -> None:
    # Monthly from 01/31/2024 (a leap year): premiums due 01/31, 02/29, 03/31, …
    app = open_account(premium="10.00", effective=date(2024, 1, 31))
    assert BILLING_LEAD_DAYS == 21
    # 22 days before 01/31 nothing is billed; 21 days before, the first premium is.
    assert app.run_billing_cycle(date(2024, 1, 9)).billed == 0
    assert app.run_billing_cycle(date(2024, 1, 10)).billed == 1
    assert app.get_account(NUMBER).billed_to_date == date(2024, 2, 29)
    # The 02/29 premium from 02/08; the 03/31 one from 03/10.
    assert app.run_billing_cycle(date(2024, 2, 7)).billed == 0
    assert app.run_billing_cycle(date(2024, 2, 8)).billed == 1
    assert app.get_account(NUMBER).billed_to_date == date(2024, 3, 31)
    assert app.run_billing_cycle(date(2024, 3, 10)).billed == 1
    assert app.get_account(NUMBER).billed_to_date == date(2024, 4, 30)
    billed = published(app, "PremiumBilled")
    assert [(b.first_due_date, b.billed_to_date) for b in billed] == [
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2024, 2, 29), date(2024, 3, 31)),
        (date(2024, 3, 31), date(2024, 4, 30)),
    ]


@pytest.mark.parametrize(
    ("frequency", "due_dates"),
    [
        ("Monthly", [date(2023, 11, 30), date(2023, 12, 30), date(2024, 1, 30)]),
        ("Quarterly", [date(2023, 11, 30), date(2024, 2, 29), date(2024, 5, 30)]),
        ("Semi-Annual", [date(2023, 11, 30), date(2024, 5, 30), date(2024, 11, 30)]),
        ("Annual", [date(2023, 11, 30), date(2024, 11, 30), date(2025, 11, 30)]),
    ],
)
def test_every_mode_bills_each_due_date_from_its_lead_day(frequency, due_dates) -> None:
    app = open_account(frequency=frequency, premium="60.00", effective=date(2023, 11, 30))
    for due in due_dates:
        lead_day = due - timedelta(days=BILLING_LEAD_DAYS)
        assert app.run_billing_cycle(lead_day - timedelta(days=1)).billed == 0, due
        assert app.run_billing_cycle(lead_day).billed == 1, due
        [*_, statement] = published(app, "StatementIssued")
        assert (statement.due_date, statement.period_start) == (due, due)


def test_a_late_first_cycle_bills_every_premium_due_in_one_statement() -> None:
    app = open_account(effective=date(2024, 1, 1))
    summary = app.run_billing_cycle(date(2024, 3, 15))  # horizon 04/05
    assert summary.as_dict() == {"billed": 1, "statements": 1, "defaulted": 1}
    [billed] = published(app, "PremiumBilled")
    assert (billed.periods, billed.amount, billed.billed_to_date) == (
        4,
        Decimal("176.00"),
        date(2024, 5, 1),
    )


def test_the_billing_statement_nets_suspense_and_lists_the_payments_since_the_last_one() -> None:
    # Monthly 44.00 from 01/01/2024; paid ahead before any bill: one premium and 10.00.
    app = open_account(effective=date(2024, 1, 1))
    pay(app, "44.00", on=date(2023, 12, 20), pid="p1")
    pay(app, "10.00", on=date(2023, 12, 28), pid="p2")
    # The cycle of 01/11 bills 01/01 and 02/01 (the horizon is 02/01).
    assert app.run_billing_cycle(date(2024, 1, 11)).as_dict() == {
        "billed": 1,
        "statements": 1,
        "defaulted": 0,
    }
    [statement] = published(app, "StatementIssued")
    assert statement.model_dump() == {
        "certificate_number": NUMBER,
        "statement_id": "0000100001-B-20240101",
        "statement_type": "billing",
        "period_start": date(2024, 1, 1),
        "period_end": date(2024, 2, 29),  # inclusive: the day before the new billed-to
        "issued_on": date(2024, 1, 11),
        "premium": Decimal("44.00"),
        "payment_frequency": "Monthly",
        # 2 premiums billed, 1 already paid, 10.00 in suspense: 88 - 44 - 10
        "amount_due": Decimal("34.00"),
        "due_date": date(2024, 2, 1),  # January is paid: the first unpaid billed premium
        "paid_to_date": date(2024, 2, 1),
        "billed_to_date": date(2024, 3, 1),
        "total_paid": Decimal("54.00"),
        "lines": [
            {
                "transaction_date": date(2023, 12, 20),
                "apply_date": date(2023, 12, 20),
                "description": "Payment received",
                "amount": Decimal("44.00"),
            },
            {
                "transaction_date": date(2023, 12, 28),
                "apply_date": date(2023, 12, 28),
                "description": "Payment received",
                "amount": Decimal("10.00"),
            },
        ],
    }
    # The 10.00 bounces, 44.00 is paid; the next bill (03/01, from 02/09) shows only those.
    app.reverse_payment(NUMBER, "p2", date(2024, 1, 20), "NSF")
    app.record_payment(
        NUMBER,
        amount=Decimal("44.00"),
        transaction_date=date(2024, 2, 3),
        apply_date=date(2024, 2, 1),
        payment_id="p3",
    )
    assert app.run_billing_cycle(date(2024, 2, 8)).billed == 0
    assert app.run_billing_cycle(date(2024, 2, 9)).statements == 1
    second = published(app, "StatementIssued")[1]
    assert (second.statement_id, second.due_date) == ("0000100001-B-20240301", date(2024, 3, 1))
    assert [(x.transaction_date, x.apply_date, x.description, x.amount) for x in second.lines] == [
        (date(2024, 1, 20), date(2024, 1, 20), "Payment reversed", Decimal("-10.00")),
        (date(2024, 2, 3), date(2024, 2, 1), "Payment received", Decimal("44.00")),
    ]
    assert second.total_paid == Decimal("34.00")
    # Paid to 03/01, billed to 04/01: the 03/01 premium is due, nothing in suspense.
    assert second.amount_due == Decimal("44.00")


def test_the_amount_due_is_never_below_zero_and_carries_arrears() -> None:
    # Paid three months ahead (3 × 44.00, 18.00 over): the bill shows nothing due.
    app = open_account(effective=date(2024, 1, 1))
    pay(app, "150.00", on=date(2023, 12, 20))
    app.run_billing_cycle(date(2023, 12, 20))
    first = published(app, "StatementIssued")[0]
    assert (first.amount_due, first.due_date) == (Decimal("0.00"), None)
    # Unpaid from 04/01: the 05/01 bill also carries April's premium, less the 18.00.
    app.run_billing_cycle(date(2024, 3, 15))
    app.run_billing_cycle(date(2024, 4, 15))
    statement = published(app, "StatementIssued")[-1]
    assert (statement.due_date, statement.amount_due) == (date(2024, 5, 1), Decimal("70.00"))


def test_the_annual_statement_covers_the_last_certificate_year_once() -> None:
    # Effective 03/15/2023, paid monthly; one payment reversed; one after the anniversary.
    app = open_account(effective=date(2023, 3, 15))
    for month in range(12):  # 04/10/2023 … 03/10/2024
        pay(app, "44.00", on=date(2023 + (month + 3) // 12, (month + 3) % 12 + 1, 10))
    pay(app, "44.00", on=date(2023, 6, 20), pid="bounced")
    app.reverse_payment(NUMBER, "bounced", date(2023, 6, 28), "NSF")
    pay(app, "44.00", on=date(2024, 3, 16))
    # The day before the anniversary: no annual statement yet.
    app.run_billing_cycle(date(2024, 3, 14))
    assert [s.statement_type for s in published(app, "StatementIssued")] == ["billing"]
    # On the anniversary: the certificate year 03/15/2023 – 03/14/2024.
    assert app.run_billing_cycle(date(2024, 3, 15)).statements == 1
    annual = published(app, "StatementIssued")[-1]
    assert (annual.statement_type, annual.statement_id) == ("annual", "0000100001-A-20240315")
    assert (annual.period_start, annual.period_end) == (date(2023, 3, 15), date(2024, 3, 14))
    assert len(annual.lines) == 14  # 12 payments, the bounced one and its reversal
    assert annual.total_paid == Decimal("528.00")  # 12 × 44.00
    # In date order: the reversal of 06/28 follows the payments of 06/10 and 06/20.
    assert [x.transaction_date for x in annual.lines[2:6]] == [
        date(2023, 6, 10),
        date(2023, 6, 20),
        date(2023, 6, 28),
        date(2023, 7, 10),
    ]
    assert annual.lines[-1].transaction_date == date(2024, 3, 10)
    # Once per year: later cycles in the same certificate year issue no other.
    assert app.run_billing_cycle(date(2024, 3, 16)).statements == 0
    assert app.run_billing_cycle(date(2025, 3, 14)).statements <= 1  # (a billing one at most)
    assert [s.statement_type for s in published(app, "StatementIssued")].count("annual") == 1
    # The next year's statement starts with the payment made after the first anniversary.
    app.run_billing_cycle(date(2025, 3, 15))
    second = published(app, "StatementIssued")[-1]
    assert (second.statement_id, second.period_start) == (
        "0000100001-A-20250315",
        date(2024, 3, 15),
    )
    assert second.lines[0].transaction_date == date(2024, 3, 16)


def test_a_leap_day_certificate_has_its_anniversary_on_february_28() -> None:
    app = open_account(effective=date(2024, 2, 29), frequency="Annual", premium="500.00")
    pay(app, "500.00", on=date(2024, 2, 29))
    app.run_billing_cycle(date(2025, 2, 27))
    assert "annual" not in [s.statement_type for s in published(app, "StatementIssued")]
    app.run_billing_cycle(date(2025, 2, 28))
    annual = published(app, "StatementIssued")[-1]
    assert (annual.statement_type, annual.period_start, annual.period_end) == (
        "annual",
        date(2024, 2, 29),
        date(2025, 2, 27),
    )


def test_a_first_cycle_years_late_issues_only_the_latest_annual_statement() -> None:
    app = open_account(effective=date(2015, 12, 1))
    pay(app, "44.00", on=date(2023, 12, 5))
    summary = app.run_billing_cycle(date(2024, 1, 5))
    annual = [s for s in published(app, "StatementIssued") if s.statement_type == "annual"]
    assert [s.statement_id for s in annual] == ["0000100001-A-20231201"]
    assert summary.statements == 2  # the bill and that one annual statement


def test_the_cycle_visits_every_account_in_the_index() -> None:
    app = open_account(number="0000000001", effective=date(2024, 1, 1))
    for n in (2, 3):
        open_account(number=f"000000000{n}", effective=date(2024, 2, 1), app=app)
    assert app.run_billing_cycle(date(2024, 1, 11)).billed == 3
    assert app.run_billing_cycle(date(2024, 1, 11)).billed == 0


def test_an_account_full_of_cycles_loads_from_its_snapshot_with_all_its_state() -> None:
    # Ten years of monthly bills and payments (one month skipped), a reversal, a default.
    app = open_account(effective=date(2014, 1, 1))
    for month in range(120):
        due = date(2014 + month // 12, month % 12 + 1, 1)
        app.run_billing_cycle(due - timedelta(days=15))
        if month != 60:
            pay(app, "44.00", on=due + timedelta(days=3), pid=f"m{month}")
    app.reverse_payment(NUMBER, "m100", date(2022, 5, 20), "NSF")
    app.run_billing_cycle(date(2024, 1, 10))
    account = app.get_account(NUMBER)
    snapshots = list(app.snapshots.get(account.id, desc=True, limit=1))
    assert snapshots and snapshots[0].originator_version > account.version - 50
    assert account.reversed_payments == {"m100": date(2022, 5, 20)}
    # One month behind since 2019, two after the reversal: November 2023 defaulted.
    assert account.defaulted_due_dates == [date(2023, 11, 1)]
    assert account.annual_through == date(2024, 1, 1)
    # Loaded from the snapshot = replayed from every event.
    replayed = None
    for domain_event in app.events.get(account.id):
        replayed = domain_event.mutate(replayed)
    assert vars(account) == vars(replayed)
