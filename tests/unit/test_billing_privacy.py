"""Crypto-shredding in billing: the payor's name sealed at rest and on the wire with the
certificate owner's servicing key, and what an account and its contract look like after the
owner's keys are shredded (or while the servicing key is retained)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from services.billing.application import BillingApplication
from services.billing.consumers import billing_sink
from services.billing.domain import billing_account_id
from services.billing.integration import to_integration
from shared import personal_data
from shared.contracts import billing
from shared.contracts.envelope import parse_event
from shared.contracts.policy import ownerless_subject
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.personal_data import SERVICING
from tests.factories import party_id
from tests.unit.test_messaging import ListDeadLetters
from tests.unit.test_policy_privacy import (
    NUMBER,
    SAMPLES,
    assert_clear_of,
    erase,
    issued,
    new_owner,
    outbox_values,
    policy_outbox,
    stored_bytes,
)


def opened(owner: str, app: BillingApplication | None = None) -> BillingApplication:
    app = app or BillingApplication()
    app.save(
        *app.open_account(
            certificate_number=NUMBER,
            owner_party_id=UUID(party_id(owner)),
            payor_name=f"{owner.title()} Payor",
            payment_frequency="Monthly",
            payment_method="List Bill",
            premium=Decimal("44.00"),
            effective_date=date(2024, 1, 1),
        )
    )
    app.record_payment(NUMBER, amount=Decimal("44.00"), transaction_date=date(2024, 1, 5))
    return app


def billing_outbox(app: BillingApplication) -> Outbox:
    return Outbox(app, "billing.events", to_integration)


def opened_contract(app: BillingApplication) -> billing.BillingAccountOpened:
    event = parse_event(outbox_values(billing_outbox(app))[0])[1]
    assert isinstance(event, billing.BillingAccountOpened)
    return event


def test_the_payor_name_is_sealed_at_rest_and_on_the_wire() -> None:
    owner = new_owner()
    app = opened(owner)
    app.take_snapshot(billing_account_id(NUMBER))
    payor = f"{owner.title()} Payor"
    assert_clear_of(stored_bytes(app, (billing_account_id(NUMBER),)), [owner.title(), payor])
    for value in outbox_values(billing_outbox(app)):
        assert_clear_of(value, [owner.title()])
    data = json.loads(outbox_values(billing_outbox(app))[0])["data"]
    key = personal_data.key_id(party_id(owner), SERVICING)
    assert data["payor_name"].startswith(f"pii:v1:{key}:")
    assert data["owner_party_id"] == party_id(owner)

    assert app.get_account(NUMBER).payor_name == payor  # the snapshot opens
    assert opened_contract(app).payor_name == payor


def test_after_erasure_the_account_loads_and_its_contract_validates() -> None:
    owner = new_owner()
    app = opened(owner)
    app.take_snapshot(billing_account_id(NUMBER))
    erase(owner)
    account = app.get_account(NUMBER)
    assert account.payor_name == "" and account.paid_to_date == date(2024, 2, 1)
    app.record_payment(NUMBER, amount=Decimal("44.00"), transaction_date=date(2024, 2, 5))
    event = opened_contract(app)
    assert event.payor_name == "" and event.owner_party_id == UUID(party_id(owner))


def test_with_servicing_retained_the_payor_name_still_opens() -> None:
    owner = new_owner()
    app = opened(owner)
    erase(owner, SERVICING)
    assert app.get_account(NUMBER).payor_name == f"{owner.title()} Payor"
    assert opened_contract(app).payor_name == f"{owner.title()} Payor"


def test_an_account_without_its_owner_is_sealed_under_the_certificate_s_own_subject() -> None:
    app = BillingApplication()
    app.save(
        *app.open_account(
            certificate_number="0000900777",
            payor_name="Legacy Payor",
            payment_frequency="Monthly",
            payment_method="List Bill",
            premium=Decimal("10.00"),
            effective_date=date(2024, 1, 1),
        )
    )
    data = json.loads(outbox_values(billing_outbox(app))[0])["data"]
    key = personal_data.key_id(ownerless_subject("0000900777"), SERVICING)
    assert data["payor_name"].startswith(f"pii:v1:{key}:") and data["owner_party_id"] is None
    assert app.get_account("0000900777").payor_name == "Legacy Payor"


async def test_the_account_opened_from_policy_knows_its_owner() -> None:
    owner = new_owner()
    policy = issued(owner)
    app = BillingApplication()
    core = ConsumerCore(billing_sink(app), ["policy.events"], ListDeadLetters())
    for offset, value in enumerate(outbox_values(policy_outbox(policy))):
        await core.handle("policy.events", 0, offset, value, {})
    account = app.get_account(NUMBER)
    assert account.owner_party_id == UUID(party_id(owner))
    assert account.payor_name == f"{owner.title()} Demo"
    assert_clear_of(stored_bytes(app), [owner.title()])


@pytest.mark.parametrize("version", [1])
def test_a_stored_v1_payload_still_loads_as_v2(version: int) -> None:
    raw = (SAMPLES / f"BillingAccountOpened.v{version}.json").read_bytes()
    envelope, event = parse_event(raw)
    assert envelope.schema_version == 2
    assert isinstance(event, billing.BillingAccountOpened) and event.owner_party_id is None
    assert event.payor_name == json.loads(raw)["data"]["payor_name"]
