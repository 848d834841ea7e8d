"""Crypto-shredding in claims: the member id, the payee and the patients' names sealed at rest
and on the wire with the claims key of whom they are about (the registry's names with the
servicing key, as policy's own copy), and claims that still load, answer and publish valid
contracts after a person's keys are shredded."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from services.claims.api import create_claims_api
from services.claims.application import ClaimsApplication
from services.claims.consumers import claims_sink
from services.claims.domain import certificate_on_file_id, claim_id
from services.claims.integration import to_integration
from services.policy.integration import insured_subject
from shared import personal_data
from shared.contracts import claims
from shared.contracts.envelope import parse_event
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.personal_data import CLAIMS, SERVICING
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

MEMBER_ID = "MBR-7788991"
D = Decimal


async def on_file(owner: str) -> ClaimsApplication:
    """Claims with the owner's certificate on file, from policy's real CertificateIssued (a CI
    certificate: the owner and a child insured)."""
    app = ClaimsApplication(env={"IS_SNAPSHOTTING_ENABLED": "y"})
    core = ConsumerCore(claims_sink(app), ["policy.events"], ListDeadLetters())
    for offset, value in enumerate(outbox_values(policy_outbox(issued(owner)))):
        await core.handle("policy.events", 0, offset, value, {})
    return app


def submit(app: ClaimsApplication, number: str, patient: str) -> None:
    app.submit_claim(
        certificate_number=NUMBER,
        claim_number=number,
        patient_insured_id=patient,
        provider="Universal Provider",
        service_date=date(2024, 3, 1),
        submitted_amount=D("175.00"),
        submitted_on=date(2024, 3, 5),
        member_id=MEMBER_ID,
    )


def paid(app: ClaimsApplication, number: str, patient: str) -> None:
    submit(app, number, patient)
    app.adjudicate_line(
        number, date_of_service=date(2024, 3, 1), type_of_service="X-Ray", amount_claimed=D("50")
    )
    app.complete_review(number, date(2024, 3, 10))
    app.render_decision(number, date(2024, 3, 11))
    app.record_payment(number, date(2024, 3, 12))
    app.issue(number, date(2024, 3, 13))


def denied(app: ClaimsApplication, number: str, patient: str) -> None:
    submit(app, number, patient)
    app.deny(number, date(2024, 3, 10), "Not a covered illness")


async def claims_of(owner: str) -> ClaimsApplication:
    app = await on_file(owner)
    paid(app, "C000000001", "I1")  # the owner
    denied(app, "C000000002", "I2")  # the child
    return app


def claims_outbox(app: ClaimsApplication) -> Outbox:
    return Outbox(app, "claims.events", to_integration)


def published(app: ClaimsApplication) -> list:
    return [parse_event(value)[1] for value in outbox_values(claims_outbox(app))]


def values_of(owner: str) -> list[str]:
    return [owner.title(), "Demo", MEMBER_ID, "Casey", "Quillfeather"]


async def test_claims_hold_no_clear_personal_value_at_rest_or_on_the_wire() -> None:
    owner = new_owner()
    app = await claims_of(owner)
    for number in ("C000000001", "C000000002"):
        app.take_snapshot(claim_id(number))
    app.take_snapshot(certificate_on_file_id(NUMBER))
    snapshots = (claim_id("C000000001"), claim_id("C000000002"), certificate_on_file_id(NUMBER))
    assert_clear_of(stored_bytes(app, snapshots), values_of(owner))
    values = outbox_values(claims_outbox(app))
    assert {json.loads(v)["event_type"] for v in values} >= {"ClaimSubmitted", "ClaimDenied"}
    for value in values:
        assert_clear_of(value, values_of(owner))

    # Opened for the service (from the snapshots) and for consumers (from the envelopes).
    owners, childs = app.get_claim("C000000001"), app.get_claim("C000000002")
    assert owners.patient["first_name"] == owner.title() and owners.member_id == MEMBER_ID
    assert owners.paid_to == f"{owner.title()} Demo"
    assert childs.patient["last_name"] == "Quillfeather"
    assert app.get_certificate(NUMBER).owner_name == f"{owner.title()} Demo"
    issued_event = next(e for e in published(app) if isinstance(e, claims.ClaimIssued))
    assert issued_event.patient.first_name == owner.title()
    assert issued_event.paid_to == f"{owner.title()} Demo"
    assert issued_event.owner_party_id == UUID(party_id(owner))


async def test_each_value_is_sealed_with_the_claims_key_of_whom_it_is_about() -> None:
    owner = new_owner()
    app = await claims_of(owner)
    submitted = [
        json.loads(v)["data"]
        for v in outbox_values(claims_outbox(app))
        if json.loads(v)["event_type"] == "ClaimSubmitted"
    ]
    owner_claims = personal_data.key_id(party_id(owner), CLAIMS)
    child_claims = personal_data.key_id(insured_subject(NUMBER, "I2"), CLAIMS)
    for data, patient_key in zip(submitted, (owner_claims, child_claims), strict=True):
        assert data["member_id"].startswith(f"pii:v1:{owner_claims}:")
        assert data["patient"]["first_name"].startswith(f"pii:v1:{patient_key}:")
    # The registry's copy of the certificate is servicing data: only a claim makes claims keys.
    classes = {k.key_class for k in personal_data.installed().keys_of([party_id(owner)])}
    assert classes == {SERVICING, "personal", CLAIMS}


async def test_registering_a_certificate_makes_no_claims_key() -> None:
    owner = new_owner()
    await on_file(owner)
    classes = {k.key_class for k in personal_data.installed().keys_of([party_id(owner)])}
    assert CLAIMS not in classes


async def test_after_erasure_claims_load_answer_and_publish_valid_contracts() -> None:
    owner = new_owner()
    app = await claims_of(owner)
    app.take_snapshot(claim_id("C000000001"))
    erase(owner)

    owners = app.get_claim("C000000001")
    assert (owners.patient["first_name"], owners.member_id, owners.paid_to) == ("", "", "")
    childs = app.get_claim("C000000002")
    assert childs.patient["first_name"] == "Casey"  # another person: not erased
    assert childs.member_id == ""  # the member's (the owner's)
    assert app.get_certificate(NUMBER).owner_name == ""

    client = TestClient(create_claims_api(app))
    answer = client.get("/claims/C000000001")
    assert answer.status_code == 200
    assert answer.json()["patient"]["first_name"] == "" and answer.json()["paid_to"] == ""

    # A new claim still goes through (the registry's names are gone, not the coverage).
    paid(app, "C000000003", "I1")
    events = published(app)  # a replay maps every event again
    assert all(e is not None for e in events)
    for value in outbox_values(claims_outbox(app)):
        assert_clear_of(value, [owner.title(), MEMBER_ID])
    issued_event = next(e for e in events if isinstance(e, claims.ClaimIssued))
    assert issued_event.patient.first_name == "" and issued_event.paid_to == ""


async def test_with_claims_retained_the_claims_file_still_opens() -> None:
    owner = new_owner()
    app = await claims_of(owner)
    erase(owner, CLAIMS)
    owners = app.get_claim("C000000001")
    assert owners.patient["first_name"] == owner.title() and owners.member_id == MEMBER_ID
    assert owners.paid_to == f"{owner.title()} Demo"
    assert app.get_certificate(NUMBER).owner_name == ""  # servicing data: shredded
    submitted = next(e for e in published(app) if isinstance(e, claims.ClaimSubmitted))
    assert submitted.member_id == MEMBER_ID


@pytest.mark.parametrize(
    "event_type", ["ClaimSubmitted", "ClaimStatusChanged", "ClaimIssued", "ClaimDenied"]
)
def test_a_stored_v1_payload_still_loads_as_v2(event_type: str) -> None:
    raw = (SAMPLES / f"{event_type}.v1.json").read_bytes()
    envelope, event = parse_event(raw)
    assert envelope.schema_version == 2
    assert event is not None and event.owner_party_id is None  # type: ignore[attr-defined]


async def test_a_claim_from_before_the_owner_was_recorded_learns_it_from_the_registry() -> None:
    from services.claims.domain import Claim

    owner = new_owner()
    app = await on_file(owner)
    legacy = Claim.submit(  # as submitted before claims recorded the owner's party id
        claim_number="C000000009",
        certificate_number=NUMBER,
        group_number="",
        account_number="",
        member_id=MEMBER_ID,
        patient=app.get_certificate(NUMBER).patient("I1"),
        provider="Universal Provider",
        service_date=date(2024, 3, 1),
        submitted_amount=D("175.00"),
        submitted_on=date(2024, 3, 5),
        paid_to=f"{owner.title()} Demo",
    )
    app.save(legacy)
    app.deny("C000000009", date(2024, 3, 10), "Not a covered illness")
    [submitted, *_, denial] = [json.loads(v)["data"] for v in outbox_values(claims_outbox(app))]
    assert submitted["owner_party_id"] is None
    assert denial["owner_party_id"] == party_id(owner)
    owner_claims = personal_data.key_id(party_id(owner), CLAIMS)
    assert denial["patient"]["first_name"].startswith(f"pii:v1:{owner_claims}:")
