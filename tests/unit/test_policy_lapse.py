"""Policy reacts to billing's PremiumDefaulted through the real consumer core and event-sourced
sink: a Whole Life certificate with value continues under its nonforfeiture option, anything
else lapses, dated the default's date; once, however often the default is delivered."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid5

import pytest
from fastapi.testclient import TestClient

from services.policy.api import create_policy_api
from services.policy.application import PolicyApplication
from services.policy.integration import PolicyContracts
from services.policy.main import policy_consumer
from services.policy.statuses import CertificateStatus
from shared.contracts import billing, policy
from shared.contracts.envelope import Envelope, parse_event
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.personal_data import KeyedHash, Vault
from shared.settings import Settings
from shared.sqldb import make_engine
from tests.factories import certificate_body, issue_kwargs

TOPIC = "billing.events"
ACCOUNTS = UUID("7d0c3f0e-4f3e-4a41-9b0a-6f7e2b1c5d33")
DEFAULTED_ON = date(2024, 3, 3)


class ListDeadLetters:
    def __init__(self) -> None:
        self.letters: list[tuple[str, int, str]] = []

    async def publish(self, topic, partition, offset, value, headers, reason, consumer) -> None:
        self.letters.append((topic, offset, reason))


def defaulted(number: str = "0000100001", defaulted_on: date = DEFAULTED_ON):
    return billing.PremiumDefaulted(
        certificate_number=number,
        due_date=date(2024, 2, 1),
        grace_ended_on=date(2024, 3, 3),
        defaulted_on=defaulted_on,
        paid_to_date=date(2024, 2, 1),
        amount_due=Decimal("44.00"),
    )


def envelope_of(event, version: int = 7) -> Envelope:
    """As billing's relay would wrap it (the billing account is the aggregate)."""
    return Envelope.wrap(
        event,
        aggregate_id=uuid5(ACCOUNTS, event.certificate_number),
        aggregate_version=version,
        occurred_at=datetime(2024, 3, 4, 6, 0, tzinfo=UTC),
        certificate_number=event.certificate_number,
    )


class Billing:
    """Billing's side of the topic: hands envelopes to policy's consumer at new offsets."""

    def __init__(self, app: PolicyApplication) -> None:
        self.core = policy_consumer(app, Settings(), ListDeadLetters())
        self.offset = 0

    async def deliver(self, envelope: Envelope, offset: int | None = None) -> None:
        if offset is None:
            self.offset += 1
            offset = self.offset
        await self.core.handle(TOPIC, 0, offset, envelope.to_bytes(), {})

    async def default(self, number: str = "0000100001", **kwargs) -> Envelope:
        envelope = envelope_of(defaulted(number, **kwargs))
        await self.deliver(envelope)
        return envelope


def issue(app: PolicyApplication, number: str = "0000100001", **overrides) -> None:
    body_overrides = {k: overrides.pop(k) for k in list(overrides) if k == "product_code"}
    kwargs = issue_kwargs(number, **body_overrides)
    kwargs.update(overrides)
    app.issue_certificate(**kwargs)


def status_changes(app: PolicyApplication) -> list[dict]:
    contracts = PolicyContracts(Vault(make_engine("sqlite://")), KeyedHash(b"k" * 32))
    records, _ = Outbox(app, "policy.events", contracts).read(0, limit=10_000)
    envelopes = [Envelope.model_validate_json(r.value) for r in records]
    return [e.data for e in envelopes if e.event_type == "CertificateStatusChanged"]


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("Reduced Paid Up", "Reduced Paid Up"),
        ("Extended Term", "Inforce – Extended Term"),
        (None, "Reduced Paid Up"),  # Whole Life's default option
    ],
)
async def test_whole_life_with_cash_value_continues_under_its_option(option, expected) -> None:
    app = PolicyApplication()
    issue(app, net_cash_value=Decimal("2641.82"), nonforfeiture_option=option)

    # Billing publishes that the premium due 02/01/2024 defaulted when grace ended on 03/03.
    await Billing(app).default()

    certificate = app.get_certificate("0000100001")
    assert certificate.status == expected
    assert certificate.status_history[-1] == (expected, DEFAULTED_ON)
    # Benefits in step with the certificate follow it.
    assert certificate.benefits["B1"]["status"] == expected
    [changed] = status_changes(app)
    assert changed == {
        "certificate_number": "0000100001",
        "previous_status": "Active Premium Paying",
        "status": expected,
        "status_date": "2024-03-03",
    }


@pytest.mark.parametrize("cash_value", [None, Decimal("0.00")])
async def test_whole_life_without_cash_value_lapses(cash_value) -> None:
    app = PolicyApplication()
    issue(app, net_cash_value=cash_value, nonforfeiture_option="Extended Term")
    await Billing(app).default()
    assert app.get_certificate("0000100001").status == "Lapsed"
    assert status_changes(app)[0]["status_date"] == "2024-03-03"


async def test_whole_life_whose_loans_use_up_the_cash_value_lapses() -> None:
    app = PolicyApplication()
    issue(app, net_cash_value=Decimal("2641.82"))
    # The loan takes the whole loan value of the benefit (its net benefit value, 2,612.49);
    # the cash value is then re-valued below the balance.
    app.take_loan("0000100001", "B1", "L1", Decimal("2612.49"), Decimal("5.00"), date(2023, 1, 2))
    app.update_cash_value("0000100001", date(2024, 1, 1), Decimal("2600.00"), {})
    await Billing(app).default()
    assert app.get_certificate("0000100001").status == "Lapsed"


async def test_accident_lapses() -> None:
    app = PolicyApplication()
    issue(app, product_code="AC")
    await Billing(app).default()
    certificate = app.get_certificate("0000100001")
    assert certificate.status == "Lapsed"
    assert certificate.nonforfeiture_option is None


async def test_a_certificate_no_longer_premium_paying_does_not_change() -> None:
    app = PolicyApplication()
    issue(app, product_code="AC")
    app.change_status("0000100001", CertificateStatus.LAPSED, date(2024, 1, 5))
    billing_side = Billing(app)

    await billing_side.default()

    certificate = app.get_certificate("0000100001")
    assert certificate.status == "Lapsed" and certificate.version == 2
    assert billing_side.core.dead_letters.letters == []
    assert (billing_side.core.applied, billing_side.core.duplicates) == (1, 0)
    assert billing_side.core.sink.position(TOPIC, 0) == 1


async def test_a_default_older_than_the_latest_status_change_is_stale() -> None:
    # Lapsed on 03/03, reinstated on 03/20: a default dated before the reinstatement (a
    # late delivery) does not lapse the reinstated certificate again.
    app = PolicyApplication()
    issue(app, product_code="AC")
    app.change_status("0000100001", CertificateStatus.LAPSED, date(2024, 3, 3))
    app.change_status("0000100001", CertificateStatus.ACTIVE_PREMIUM_PAYING, date(2024, 3, 20))
    await Billing(app).default(defaulted_on=date(2024, 3, 3))
    assert app.get_certificate("0000100001").status == "Active Premium Paying"


async def test_the_same_default_delivered_twice_changes_the_status_once() -> None:
    app = PolicyApplication()
    issue(app, net_cash_value=Decimal("2641.82"))
    billing_side = Billing(app)
    envelope = await billing_side.default()

    # Redelivered at the same offset (consumer restart), re-published at a new offset (relay
    # crash), and seen on another partition.
    await billing_side.deliver(envelope, offset=1)
    await billing_side.deliver(envelope)
    await billing_side.core.handle(TOPIC, 3, 9, envelope.to_bytes(), {})

    assert (billing_side.core.applied, billing_side.core.duplicates) == (1, 3)
    assert len(status_changes(app)) == 1
    assert app.get_certificate("0000100001").version == 2


async def test_a_default_for_an_unknown_certificate_is_dead_lettered() -> None:
    app = PolicyApplication()
    billing_side = Billing(app)
    await billing_side.default("0000999999")
    [(topic, offset, reason)] = billing_side.core.dead_letters.letters
    assert (topic, offset) == (TOPIC, 1)
    assert "0000999999 not found" in reason
    assert billing_side.core.sink.position(TOPIC, 0) == 1


async def test_other_billing_events_only_move_the_position_on() -> None:
    app = PolicyApplication()
    issue(app)
    billing_side = Billing(app)
    billed = billing.PremiumBilled(
        certificate_number="0000100001",
        periods=1,
        amount=Decimal("44.00"),
        first_due_date=date(2024, 2, 1),
        billed_to_date=date(2024, 3, 1),
    )
    await billing_side.deliver(envelope_of(billed))
    assert app.get_certificate("0000100001").version == 1
    assert billing_side.core.sink.position(TOPIC, 0) == 1


def test_the_consumer_group_is_policy_on_billing_events() -> None:
    core = policy_consumer(PolicyApplication(), Settings(TOPIC_PREFIX="t1."))
    assert isinstance(core, ConsumerCore)
    assert (core.name, core.topics) == ("policy", ["t1.billing.events"])


# --- the option at issue ------------------------------------------------------------------


def test_the_option_travels_in_the_issue_command_and_the_contract() -> None:
    app = PolicyApplication()
    client = TestClient(create_policy_api(app))
    body = certificate_body("100001", nonforfeiture_option="Extended Term")
    response = client.post("/certificates", json=body)
    assert response.status_code == 201
    assert response.json()["nonforfeiture_option"] == "Extended Term"

    # Whole Life without a choice: Reduced Paid Up; Accident: none.
    whole_life = client.post("/certificates", json=certificate_body("100002"))
    assert whole_life.json()["nonforfeiture_option"] == "Reduced Paid Up"
    accident = client.post("/certificates", json=certificate_body("100003", product_code="AC"))
    assert accident.json()["nonforfeiture_option"] is None

    contracts = PolicyContracts(Vault(make_engine("sqlite://")), KeyedHash(b"k" * 32))
    records, _ = Outbox(app, "policy.events", contracts).read(0)
    issued = [Envelope.model_validate_json(r.value).data for r in records]
    assert [i["nonforfeiture_option"] for i in issued] == [
        "Extended Term",
        "Reduced Paid Up",
        None,
    ]


@pytest.mark.parametrize(
    "body",
    [
        certificate_body("100001", product_code="AC", nonforfeiture_option="Extended Term"),
        certificate_body("100001", nonforfeiture_option="Cash Surrender"),
    ],
)
def test_a_bad_option_is_422_with_the_field_and_records_nothing(body) -> None:
    app = PolicyApplication()
    response = TestClient(create_policy_api(app)).post("/certificates", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["nonforfeiture_option"]
    assert (app.recorder.max_notification_id() or 0) == 0


def test_a_certificate_issued_payload_without_the_option_still_validates() -> None:
    app = PolicyApplication()
    issue(app)
    contracts = PolicyContracts(Vault(make_engine("sqlite://")), KeyedHash(b"k" * 32))
    [record], _ = Outbox(app, "policy.events", contracts).read(0)
    envelope = Envelope.model_validate_json(record.value)
    data = dict(envelope.data)
    del data["nonforfeiture_option"]  # as published before the field existed
    _, event = parse_event(envelope.model_copy(update={"data": data}).to_bytes())
    assert isinstance(event, policy.CertificateIssued)
    assert event.nonforfeiture_option is None
