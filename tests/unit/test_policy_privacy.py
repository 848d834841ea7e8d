"""Crypto-shredding in policy: personal fields sealed at rest (events, snapshots) and on the wire
(the outbox's envelopes), opened for the service, and placeholders that keep certificates
loadable and contracts valid once a person's keys are shredded.

Each test has an owner of its own (the session's key store is shared by every test)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.policy.api import create_policy_api
from services.policy.application import PolicyApplication
from services.policy.domain import certificate_id
from services.policy.integration import PolicyContracts, insured_subject
from services.policy.statuses import CertificateStatus
from services.policy.values import ContactInformation
from shared import personal_data
from shared.contracts import policy
from shared.contracts.envelope import parse_event
from shared.contracts.upcasting import upcast
from shared.messaging.outbox import Outbox
from shared.personal_data import (
    CLAIMS,
    PERSONAL,
    SERVICING,
    Blindfold,
    KeyedHash,
    Retention,
)
from tests.factories import certificate_body, issue_kwargs, party_id

NUMBER = "0000900001"
HASHER = KeyedHash(b"k" * 32)
CHILD = {
    "insured_id": "I2",
    "first_name": "Casey",
    "last_name": "Quillfeather",
    "relationship": "Child",
    "date_of_birth": "2010-04-03",
}
SAMPLES = Path(__file__).parents[1] / "contracts" / "samples"


def new_owner() -> str:
    """An owner name of this test alone (its party id and keys are its own)."""
    return f"owner{uuid4().hex[:10]}"


def seeded(owner: str) -> list[str]:
    """The owner's clear personal values as `tests.factories.certificate_body` seeds them."""
    return [
        owner.title(),  # first name (owner and owner-insured), in the payor's name too
        "Demo",  # last name
        "12 Elm Street",
        "Tolland",
        "06084",
        f"{owner}@example.com",
        "860-555-0101",
        "123-45-6789",
        "123456789",
        "1983-11-01",
    ]


CHILD_VALUES = ["Casey", "Quillfeather", "2010-04-03"]


def assert_clear_of(blob: bytes | str, values: list[str]) -> None:
    text = blob if isinstance(blob, str) else blob.decode(errors="replace")
    found = [value for value in values if value in text]
    assert not found, f"clear personal values stored or published: {found}"


def stored_bytes(app, snapshot_ids: tuple[UUID, ...] = ()) -> bytes:
    """Every stored event's state as the recorder holds it, and the snapshots of these ids."""
    notifications = app.recorder.select_notifications(start=1, limit=100_000)
    blob = b"\n".join(n.state for n in notifications)
    for aggregate_id in snapshot_ids:
        blob += b"\n".join(s.state for s in app.snapshots.recorder.select_events(aggregate_id))
    return blob


def outbox_values(outbox: Outbox) -> list[bytes]:
    records, _ = outbox.read(0, 100_000)
    return [record.value for record in records]


def issued(owner: str, app: PolicyApplication | None = None) -> PolicyApplication:
    app = app or PolicyApplication()
    app.issue_certificate(
        **issue_kwargs(NUMBER, owner=owner, product_code="CI", dependents=[CHILD])
    )
    return app


def policy_outbox(app: PolicyApplication) -> Outbox:
    return Outbox(app, "policy.events", PolicyContracts(personal_data.installed(), HASHER))


def contracts_of(app: PolicyApplication) -> list:
    return [parse_event(value)[1] for value in outbox_values(policy_outbox(app))]


def from_events(app, aggregate_id: UUID):
    """The aggregate replayed from its stored events alone (no snapshot)."""
    aggregate = None
    for domain_event in app.events.get(aggregate_id):
        aggregate = domain_event.mutate(aggregate)
    return aggregate


def erase(owner: str, *retained: str) -> None:
    until = datetime.now(UTC) + timedelta(days=365)
    retentions = [Retention(k, until, "in-force certificate") for k in retained]
    personal_data.installed().erase([party_id(owner)], retentions)


# --- at rest -------------------------------------------------------------------------------


def test_stored_events_and_snapshots_hold_no_clear_personal_value() -> None:
    owner = new_owner()
    app = issued(owner)
    contact = ContactInformation.model_validate(
        {
            "address": {"street": ["9 Oak Lane"], "city": "Hartford", "state": "CT",
                        "zip_code": "06103"},
            "phones": {"home": "860-555-0177"},
            "emails": [f"{owner}.new@example.com"],
        }
    )  # fmt: skip
    app.update_contact_information(UUID(party_id(owner)), contact)
    from_events = app.get_certificate(NUMBER)
    app.take_snapshot(certificate_id(NUMBER))

    blob = stored_bytes(app, (certificate_id(NUMBER),))
    assert blob.count(b"pii:v1:") >= 20
    assert_clear_of(blob, [*seeded(owner), *CHILD_VALUES, "9 Oak Lane", "Hartford", "555-0177"])

    # The service itself sees clear values, from the events and from the snapshot alike.
    for certificate in (from_events, app.get_certificate(NUMBER)):
        assert certificate.owner["first_name"] == owner.title()
        assert certificate.owner["government_id"] == "123-45-6789"
        assert certificate.owner["date_of_birth"] == date(1983, 11, 1)
        assert certificate.owner["contact"]["address"]["city"] == "Hartford"
        assert certificate.payor_name == f"{owner.title()} Demo"
        child = certificate.benefits["B1"]["insureds"][1]
        assert (child["first_name"], child["date_of_birth"]) == ("Casey", date(2010, 4, 3))


def test_a_loaded_snapshot_opens_insureds_keyed_by_benefit() -> None:
    owner = new_owner()
    app = issued(owner)
    app.take_snapshot(certificate_id(NUMBER))
    [snapshot] = app.snapshots.get(certificate_id(NUMBER))
    insureds = snapshot.state["benefits"]["B1"]["insureds"]
    assert [i["first_name"] for i in insureds] == [owner.title(), "Casey"]
    raw = next(iter(app.snapshots.recorder.select_events(certificate_id(NUMBER)))).state
    assert b"Casey" not in raw and b"pii:v1:" in raw


# --- on the wire ---------------------------------------------------------------------------


def test_the_outbox_envelopes_hold_no_clear_personal_value() -> None:
    owner = new_owner()
    app = issued(owner)
    address = {"street": ["9 Oak Lane"], "city": "Hartford", "state": "CT", "zip_code": "06103"}
    contact = {"address": address, "emails": [f"{owner}.new@example.com"]}
    app.update_contact_information(
        UUID(party_id(owner)), ContactInformation.model_validate(contact)
    )
    values = outbox_values(policy_outbox(app))
    assert [json.loads(v)["schema_version"] for v in values] == [2, 2]
    for value in values:
        assert_clear_of(value, [*seeded(owner), *CHILD_VALUES, "9 Oak Lane", "Hartford"])

    issued_event, updated = (parse_event(v)[1] for v in values)
    assert isinstance(issued_event, policy.CertificateIssued)
    assert issued_event.owner.first_name == owner.title()
    assert issued_event.owner.contact.emails == [f"{owner}@example.com"]
    assert issued_event.owner.contact.address.street == ["12 Elm Street"]
    assert issued_event.payor_name == f"{owner.title()} Demo"
    assert [i.first_name for i in issued_event.benefits[0].insureds] == [owner.title(), "Casey"]
    assert isinstance(updated, policy.ContactInformationUpdated)
    assert updated.contact.address.city == "Hartford"


def test_dates_of_birth_are_sealed_with_the_servicing_key_of_whom_they_are_about() -> None:
    owner = new_owner()
    app = issued(owner)
    data = json.loads(outbox_values(policy_outbox(app))[0])["data"]
    owner_key = personal_data.key_id(party_id(owner), SERVICING)
    child_key = personal_data.key_id(insured_subject(NUMBER, "I2"), SERVICING)
    owner_insured, child = data["benefits"][0]["insureds"]
    assert data["owner"]["date_of_birth"].startswith(f"pii:v1:{owner_key}:")
    assert owner_insured["date_of_birth"].startswith(f"pii:v1:{owner_key}:")
    assert child["date_of_birth"].startswith(f"pii:v1:{child_key}:")
    personal_key = personal_data.key_id(party_id(owner), PERSONAL)
    assert data["owner"]["contact"]["emails"].startswith(f"pii:v1:{personal_key}:")
    assert data["owner"]["contact"]["address"].startswith(f"pii:v1:{owner_key}:")


@pytest.mark.parametrize("event_type", ["CertificateIssued", "ContactInformationUpdated"], ids=str)
def test_a_stored_v1_payload_still_loads_as_v2(event_type: str) -> None:
    raw = (SAMPLES / f"{event_type}.v1.json").read_bytes()
    envelope, event = parse_event(raw)
    assert envelope.schema_version == 2
    assert event is not None and type(event).schema_version == 2
    assert upcast(event_type, 1, json.loads(raw)["data"]) == (2, json.loads(raw)["data"])


# --- after an erasure ----------------------------------------------------------------------


def test_after_erasure_the_certificate_loads_and_its_contracts_validate() -> None:
    owner = new_owner()
    app = issued(owner)
    app.take_snapshot(certificate_id(NUMBER))
    erase(owner)

    for certificate in (from_events(app, certificate_id(NUMBER)), app.get_certificate(NUMBER)):
        assert certificate.owner["first_name"] == certificate.owner["last_name"] == ""
        assert certificate.owner["date_of_birth"] is None
        assert certificate.owner["government_id"] == ""
        assert certificate.owner["contact"]["emails"] == []
        assert certificate.owner["contact"]["address"] == policy.ERASED_ADDRESS
        assert certificate.payor_name == ""
        owner_insured, child = certificate.benefits["B1"]["insureds"]
        assert owner_insured["first_name"] == "" and owner_insured["date_of_birth"] is None
        assert child["first_name"] == "Casey"  # another person: not erased

    # The certificate still takes commands; new values about the owner are unreadable.
    app.change_status(NUMBER, CertificateStatus.REDUCED_PAID_UP, date(2024, 2, 1))

    values = outbox_values(policy_outbox(app))  # a re-publish / replay maps them again
    for value in values:
        assert_clear_of(value, seeded(owner))
    event = parse_event(values[0])[1]
    assert isinstance(event, policy.CertificateIssued)
    assert (event.owner.first_name, event.payor_name) == ("", "")
    assert event.owner.government_id_last4 == policy.ERASED_LAST4
    assert event.owner.government_id_digest == policy.ERASED_DIGEST
    assert event.owner.date_of_birth_digest == policy.ERASED_DIGEST
    assert personal_data.installed().open(event.owner.date_of_birth) is None
    assert event.owner.contact.emails == [] and event.owner.contact.address.city == ""
    owner_insured, child = event.benefits[0].insureds
    assert owner_insured.birth_year_month == policy.ERASED_BIRTH_YEAR_MONTH
    assert (child.first_name, child.birth_year_month) == ("Casey", "2010-04")


def test_with_servicing_retained_the_exempt_fields_still_open() -> None:
    owner = new_owner()
    app = issued(owner)
    erase(owner, SERVICING, CLAIMS)

    certificate = app.get_certificate(NUMBER)
    assert certificate.owner["first_name"] == owner.title()
    assert certificate.owner["government_id"] == "123-45-6789"
    assert certificate.owner["date_of_birth"] == date(1983, 11, 1)
    assert certificate.owner["contact"]["address"]["street"] == ["12 Elm Street"]
    assert certificate.owner["contact"]["emails"] == []
    assert certificate.owner["contact"]["phones"] == {}
    assert certificate.owner["contact"]["preferred_contact_method"] is None

    event = contracts_of(app)[0]
    assert event.owner.first_name == owner.title()
    assert event.owner.government_id_last4 == "6789"
    assert HASHER.matches("date_of_birth", "1983-11-01", event.owner.date_of_birth_digest)
    assert personal_data.installed().open(event.owner.date_of_birth) == "1983-11-01"
    assert event.owner.contact.address.city == "Tolland"
    assert event.owner.contact.emails == [] and event.owner.contact.phones == policy.Phones()


def test_the_audit_s_blindfolded_read_maps_every_event_to_a_valid_contract() -> None:
    from services.portal.audit_stores import policy_mapping

    owner = new_owner()
    app = issued(owner)
    with personal_data.using(Blindfold()):
        records, _ = Outbox(app, "policy.events", policy_mapping()).read(0)
        [(_, event)] = [parse_event(r.value) for r in records]
    assert isinstance(event, policy.CertificateIssued)
    assert event.owner.first_name == "" and event.owner.contact.emails == []


# --- the back office -----------------------------------------------------------------------


def test_the_back_office_sees_the_exempt_fields_then_placeholders() -> None:
    owner = new_owner()
    app = PolicyApplication()
    client = TestClient(create_policy_api(app))
    body = certificate_body(NUMBER, owner, product_code="CI", dependents=[CHILD])
    assert client.post("/certificates", json=body).status_code == 201

    full = client.get(f"/certificates/{NUMBER}").json()
    assert full["owner"]["first_name"] == owner.title()
    assert full["owner"]["emails"] == [f"{owner}@example.com"]
    assert full["owner"]["phones"] == {"cell": "860-555-0101"}
    assert full["owner"]["government_id_last4"] == "6789"
    assert "123-45-6789" not in json.dumps(full)

    erase(owner, SERVICING)  # PERSONAL shredded, SERVICING retained
    retained = client.get(f"/certificates/{NUMBER}")
    assert retained.status_code == 200
    kept = retained.json()
    assert (kept["owner"]["first_name"], kept["owner"]["last_name"]) == (owner.title(), "Demo")
    assert kept["owner"]["date_of_birth"] == "1983-11-01"
    assert kept["owner"]["address"]["street"] == ["12 Elm Street"]
    assert kept["payor_name"] == f"{owner.title()} Demo"
    assert kept["owner"]["emails"] == [] and kept["owner"]["phones"] == {}
    assert kept["owner"]["preferred_contact_method"] is None

    personal_data.installed().sweep(datetime.now(UTC) + timedelta(days=400))  # retention ends
    gone = client.get(f"/certificates/{NUMBER}")
    assert gone.status_code == 200
    placeholders = gone.json()
    assert_clear_of(json.dumps(placeholders), seeded(owner))
    assert placeholders["owner"]["first_name"] == "" and placeholders["payor_name"] == ""
    assert placeholders["owner"]["date_of_birth"] is None
    assert placeholders["owner"]["government_id_last4"] is None
    insureds = placeholders["benefits"][0]["insureds"]
    assert [i["first_name"] for i in insureds] == ["", "Casey"]
