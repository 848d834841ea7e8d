"""Grace and default, and billing's mirror of the certificate status (from policy's events)."""

from datetime import date
from decimal import Decimal

import pytest

from services.billing.application import BillingApplication
from services.billing.consumers import billing_sink
from services.billing.domain import CertificateNotInForce
from services.policy.application import PolicyApplication
from services.policy.statuses import CertificateStatus
from shared.messaging.consumer import ConsumerCore
from tests.factories import issue_kwargs
from tests.unit.test_billing_account import open_account, pay, published
from tests.unit.test_messaging import ListDeadLetters, policy_outbox

NUMBER = "0000100001"
JAN_1 = date(2024, 1, 1)


def test_no_default_through_day_31_of_grace_then_once_on_day_32() -> None:
    # A monthly certificate effective 01/01/2024: its first premium is due 01/01 and unpaid.
    app = open_account(effective=JAN_1)
    # Day 31 after the due date (02/01) is still grace: no default.
    assert app.run_billing_cycle(date(2024, 2, 1)).defaulted == 0
    # The cycle on day 32 (02/02) records the default, once.
    assert app.run_billing_cycle(date(2024, 2, 2)).defaulted == 1
    [defaulted] = published(app, "PremiumDefaulted")
    assert defaulted.model_dump() == {
        "certificate_number": NUMBER,
        "due_date": JAN_1,
        "grace_ended_on": date(2024, 2, 1),
        "defaulted_on": date(2024, 2, 2),
        "paid_to_date": JAN_1,
        "amount_due": Decimal("44.00"),
    }
    # Running the cycle again the next day (or the same day) emits nothing new.
    assert app.run_billing_cycle(date(2024, 2, 3)).defaulted == 0
    assert app.run_billing_cycle(date(2024, 2, 3)).as_dict() == {
        "billed": 0,
        "statements": 0,
        "defaulted": 0,
    }
    assert len(published(app, "PremiumDefaulted")) == 1


def test_a_payment_on_day_31_keeps_the_certificate_in_force() -> None:
    # Premium due 01/01/2024, paid on 02/01 (day 31 of grace).
    app = open_account(effective=JAN_1)
    app.run_billing_cycle(date(2024, 1, 15))
    pay(app, "44.00", on=date(2024, 2, 1))
    # The cycle on 02/02 finds the premium paid: paid to 02/01, whose grace runs to 03/03.
    assert app.run_billing_cycle(date(2024, 2, 2)).defaulted == 0
    assert app.run_billing_cycle(date(2024, 3, 3)).defaulted == 0
    assert app.run_billing_cycle(date(2024, 3, 4)).defaulted == 1
    assert published(app, "PremiumDefaulted")[0].due_date == date(2024, 2, 1)


def test_a_partial_payment_in_suspense_lowers_the_amount_in_default() -> None:
    app = open_account(effective=JAN_1)
    pay(app, "30.00", on=date(2024, 1, 10))
    app.run_billing_cycle(date(2024, 2, 2))
    assert published(app, "PremiumDefaulted")[0].amount_due == Decimal("14.00")


def test_a_reversal_that_reopens_an_earlier_premium_defaults_it_once() -> None:
    # Paid for January on time; the payment bounces after January's grace has ended.
    app = open_account(effective=JAN_1)
    pay(app, "44.00", on=date(2024, 1, 5), pid="jan")
    pay(app, "44.00", on=date(2024, 2, 5), pid="feb")
    assert app.run_billing_cycle(date(2024, 2, 20)).defaulted == 0
    app.reverse_payment(NUMBER, "jan", date(2024, 2, 21), "NSF")
    # Paid to 02/01 again; February's premium is unpaid when its grace ends (03/03).
    assert app.run_billing_cycle(date(2024, 3, 3)).defaulted == 0
    assert app.run_billing_cycle(date(2024, 3, 4)).defaulted == 1
    assert app.run_billing_cycle(date(2024, 3, 5)).defaulted == 0


@pytest.mark.parametrize(
    "status", ["Lapsed", "Cash Surrender", "Not Taken", "Declined", "Withdrawn"]
)
def test_a_certificate_not_in_force_refuses_payments_and_records_nothing(status: str) -> None:
    app = open_account(status=status)
    before = app.recorder.max_notification_id()
    with pytest.raises(CertificateNotInForce, match=f"is {status} \\(not in force\\)"):
        pay(app, "44.00")
    assert app.recorder.max_notification_id() == before


def test_reduced_paid_up_takes_payments_but_is_neither_billed_nor_defaulted() -> None:
    app = open_account(effective=JAN_1, status="Reduced Paid Up")
    assert app.run_billing_cycle(date(2024, 6, 1)).as_dict() == {
        "billed": 0,
        "statements": 0,
        "defaulted": 0,
    }
    assert pay(app, "44.00").paid_to_date == date(2024, 2, 1)


async def test_a_lapse_from_policy_stops_payments_billing_and_defaults(tmp_path) -> None:
    # Policy issues a monthly certificate effective 01/01/2024; billing opens its account by
    # reacting to CertificateIssued.
    policy, billing = PolicyApplication(), BillingApplication()
    policy.issue_certificate(
        **issue_kwargs(NUMBER, effective_date="2024-01-01", application_date="2023-12-01")
    )
    outbox = policy_outbox(policy, tmp_path)
    core = ConsumerCore(billing_sink(billing), ["policy.events"], ListDeadLetters())

    async def deliver() -> None:
        records, _ = outbox.read(0)
        for record in records:  # redelivering what was applied already is a no-op
            await core.handle("policy.events", 0, record.position, record.value, {})

    await deliver()
    assert billing.get_account(NUMBER).status == "Active Premium Paying"
    # The premium goes unpaid: the cycle of 02/02 defaults it.
    assert billing.run_billing_cycle(date(2024, 2, 2)).defaulted == 1
    # Policy lapses the certificate; billing mirrors the status.
    policy.change_status(NUMBER, CertificateStatus.LAPSED, date(2024, 2, 5))
    await deliver()
    account = billing.get_account(NUMBER)
    assert (account.status, account.status_date) == ("Lapsed", date(2024, 2, 5))
    # A payment is refused with a clear message; nothing is recorded.
    version = account.version
    with pytest.raises(CertificateNotInForce, match="0000100001 is Lapsed"):
        billing.record_payment(NUMBER, amount=Decimal("44.00"), transaction_date=date(2024, 2, 6))
    # Later cycles neither bill nor default it again.
    for as_of in (date(2024, 3, 10), date(2024, 6, 1)):
        assert billing.run_billing_cycle(as_of).as_dict() == {
            "billed": 0,
            "statements": 0,
            "defaulted": 0,
        }
    assert billing.get_account(NUMBER).version == version
    # Reinstated: payments are accepted again.
    policy.change_status(NUMBER, CertificateStatus.ACTIVE_PREMIUM_PAYING, date(2024, 6, 3))
    await deliver()
    account = billing.record_payment(
        NUMBER, amount=Decimal("220.00"), transaction_date=date(2024, 6, 3)
    )
    assert account.paid_to_date == date(2024, 6, 1)
    assert core.dead_letters.letters == []
