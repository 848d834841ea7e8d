"""Billing on the real broker and PostgreSQL: a year of monthly bills and payments with one
returned payment and one late payment, checked against a schedule computed by hand; and an
employer's list-bill file of 1,000 rows, rejected whole for 3 bad rows, then accepted."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from services.portal.queries import NotFound, billing_detail
from shared.dates import add_months
from tests.factories import certificate_body
from tests.integration.conftest import Stack, eventually

pytestmark = pytest.mark.integration

EFFECTIVE = date(2023, 1, 1)


def detail(stack: Stack, number: str, **kwargs):
    with Session(stack.read_engine) as session:
        try:
            return billing_detail(session, number, **kwargs)
        except NotFound:
            return None


async def issue(stack: Stack, number: str, premium: str, owner: str = "avery") -> None:
    body = certificate_body(
        number,
        owner=owner,
        premium=premium,
        effective_date=EFFECTIVE.isoformat(),
        application_date="2022-12-01",
    )
    response = await stack.policy_api.post("/certificates", json=body)
    assert response.status_code == 201, response.text


async def accounts_opened(stack: Stack, numbers: set[str]) -> None:
    await eventually(lambda: numbers <= set(stack.billing.account_numbers()), timeout=90)


async def test_a_year_of_billing_matches_the_hand_computed_schedule(stack: Stack) -> None:
    stack.start_relays()
    stack.start_consumer("billing")
    stack.start_consumer("portal")
    number = "0000500001"
    await issue(stack, number, "50.00")
    await accounts_opened(stack, {number})

    expected_rows = []  # (transaction date, apply date, amount, state), oldest first
    for month in range(12):
        due = add_months(EFFECTIVE, month)
        cycle = await stack.billing_api.post(
            "/billing-cycles", json={"as_of": (due - timedelta(days=15)).isoformat()}
        )
        assert cycle.status_code == 200, cycle.text
        # July is paid late but inside grace (day 24); every other month on day 5.
        paid_on = due + timedelta(days=24 if month == 6 else 5)
        payment_id = f"M{month + 1:02d}"
        response = await stack.billing_api.post(
            f"/accounts/{number}/payments",
            json={"amount": "50.00", "transaction_date": paid_on.isoformat(),
                  "payment_id": payment_id},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        state = "Applied"
        if month == 3:  # April's payment comes back unpaid (NSF) and is paid again
            reversed_ = await stack.billing_api.post(
                f"/accounts/{number}/payments/{payment_id}/reversal",
                json={"reversed_on": "2023-04-20", "reason": "NSF"},
            )
            assert reversed_.status_code == 200, reversed_.text
            assert reversed_.json()["paid_to_date"] == "2023-04-01"
            state = "Reversed"
            repaid = await stack.billing_api.post(
                f"/accounts/{number}/payments",
                json={"amount": "50.00", "transaction_date": "2023-04-24", "payment_id": "M04b"},
            )
            assert repaid.status_code == 201, repaid.text
        expected_rows.append((paid_on, paid_on, "50.00", state))
        if month == 3:
            expected_rows.append((date(2023, 4, 24), date(2023, 4, 24), "50.00", "Applied"))
        # After each month's cycle nothing may have defaulted: every payment was within grace.
        assert cycle.json().get("defaulted", 0) == 0

    # Hand-computed: 12 premiums paid (April's twice, once reversed) → paid to 01/01/2024.
    shown = await eventually(
        lambda: (
            (d := detail(stack, number, size=100))
            and d.payor.paid_to_date == date(2024, 1, 1)
            and d.payment_history.total == 13
            and d
        ),
        timeout=90,
    )
    rows = [
        (r.transaction_date, r.apply_date, f"{r.payment_amount:.2f}", r.state)
        for r in reversed(shown.payment_history.items)
    ]
    assert rows == expected_rows
    assert shown.billing.suspense_balance == 0
    assert shown.billing.last_payment_date == date(2023, 12, 6)
    assert shown.billing.billed_to_date >= date(2023, 12, 1)


async def test_a_list_bill_file_with_3_bad_rows_is_refused_whole_then_accepted(
    stack: Stack,
) -> None:
    stack.start_relays()
    stack.start_consumer("billing")
    stack.start_consumer("portal")
    numbers = [f"00006000{i:02d}" for i in range(20)]
    for i, number in enumerate(numbers):
        await issue(stack, number, "10.00", owner=f"owner{i}")
    await accounts_opened(stack, set(numbers))

    lines = ["certificate_number,amount,transaction_date,apply_date,reference"]
    for row in range(1000):  # 50 monthly payments for each of 20 certificates
        number, month = numbers[row % 20], row // 20
        paid = add_months(EFFECTIVE, month).isoformat()
        lines.append(f"{number},10.00,{paid},{paid},LB-{row:04d}")
    good = "\n".join(lines) + "\n"
    bad_lines = list(lines)
    bad_lines[16] = bad_lines[16].replace(",2023-", ",2023/", 1)  # line 17: a bad date
    bad_lines[502] = bad_lines[502].replace(",10.00,", ",-10.00,")  # line 503: negative amount
    bad_lines[899] = "0000999999" + bad_lines[899][10:]  # line 900: unknown certificate
    headers = {"content-type": "text/csv"}

    refused = await stack.billing_api.post(
        "/list-bills?received_on=2027-03-01", content="\n".join(bad_lines) + "\n", headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert sorted({e["line"] for e in refused.json()["errors"]}) == [17, 503, 900]
    assert stack.billing.get_account(numbers[0]).paid_to_date == EFFECTIVE  # nothing applied

    accepted = await stack.billing_api.post(
        "/list-bills?received_on=2027-03-01", content=good, headers=headers
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["applied"] == 1000
    shown = await eventually(
        lambda: (d := detail(stack, numbers[7])) and d.payment_history.total == 50 and d,
        timeout=90,
    )
    await eventually(
        lambda: detail(stack, numbers[7]).payor.paid_to_date == add_months(EFFECTIVE, 50)
    )
    assert shown.payment_history.items[0].payment_method == "List Bill"

    not_csv = await stack.billing_api.post(
        "/list-bills", content=b"\x89PNG\r\n\x1a\n\x00\x00", headers={"content-type": "text/csv"}
    )
    assert not_csv.status_code == 422
