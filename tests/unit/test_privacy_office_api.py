"""The privacy office's HTTP API on identity's app (FastAPI's TestClient): the shapes the
portal's gateway relies on, clear 4xx answers (never a 500), and no personal data echoed."""

from __future__ import annotations

from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from services.identity.api import create_identity_api
from services.identity.application import IdentityApplication
from shared.privacy_catalog import categories_answer
from tests.unit.test_identity_support import PASSWORD, FakeClock, make_identity, register
from tests.unit.test_privacy_office import AGENT, POINTS, Person, issue_to, new_person

SUBMIT_KEYS = {
    "request_id",
    "kind",
    "detail",
    "status",
    "matched_points",
    "level",
    "by_agent",
    "received_at",
    "due_by",
    "message",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def identity(vault, clock: FakeClock) -> IdentityApplication:
    return make_identity(clock)


@pytest.fixture
def vault():
    from tests.unit.test_identity_support import fresh_vault

    return fresh_vault()


@pytest.fixture
def person(identity: IdentityApplication) -> Person:
    person = new_person()
    issue_to(identity, person)
    return person


@pytest.fixture
def client(identity: IdentityApplication) -> TestClient:
    return TestClient(create_identity_api(identity), raise_server_exceptions=False)


def submit(client: TestClient, requester: dict, kind: str = "know", **more):
    return client.post("/privacy/requests", json={"kind": kind, "requester": requester, **more})


def test_a_verified_request_to_know_answers_categories_and_stays_verified(client, person):
    response = submit(client, person.requester(*POINTS), agent=None)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == SUBMIT_KEYS | {"categories"}
    assert (body["status"], body["level"], body["matched_points"]) == ("verified", "specific", 5)
    assert body["due_by"] == "2024-07-18" and body["detail"] == "specific"
    assert body["categories"] == categories_answer()
    assert "by mail" in body["message"]

    categories = submit(client, person.requester("email", "cell"), detail="categories").json()
    assert (categories["status"], categories["level"]) == ("completed", "categories")
    assert categories["categories"] == categories_answer()
    assert categories["completed_at"] is not None


def test_a_denied_request_tells_nothing_of_what_matched(client, person) -> None:
    response = submit(client, person.requester("name", "cell"), kind="delete")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == SUBMIT_KEYS | {"completed_at"}  # no categories
    assert (body["status"], body["level"], body["matched_points"]) == ("denied", "none", 0)
    assert body["message"].startswith("We could not verify your identity")
    one = client.get(f"/privacy/requests/{body['request_id']}").json()
    assert (one["status"], one["matched_points"], one["outcome"]) == (
        "denied",
        0,
        "We could not verify your identity",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "know", "requester": {"email": "a@b.example"}}, "requester"),
        ({"kind": "know", "requester": {"first_name": "Avery", "last_name": "Demo"}}, "requester"),
        (
            {
                "kind": "delete",
                "requester": {"email": "a@b.example", "cell": "217-555-0101"},
                "agent": {**AGENT, "attested": False},
            },
            "agent.attested",
        ),
        ({"kind": "sell", "requester": {}}, "kind"),
        ({"kind": "know", "requester": {"date_of_birth": "1970-13-40"}}, "requester.date_of_birth"),
        (
            {"kind": "know", "requester": {"address": {"zip_code": "6270"}}},
            "requester.address.zip_code",
        ),
        ({"kind": "know", "requester": {}, "ssn": "123-45-6789"}, "ssn"),
        ({"kind": "know", "requester": {"cell": "call me"}}, "requester.cell"),
    ],
)
def test_bad_requests_are_refused_with_the_field(client, body, field) -> None:
    response = client.post("/privacy/requests", json=body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    for value in ("1970-13-40", "6270", "123-45-6789", "call me", "a@b.example"):
        assert value not in response.text


def test_repeated_failures_answer_429(client, person) -> None:
    for day in range(1, 6):
        requester = person.requester("email", date_of_birth=f"1999-01-0{day}")
        assert submit(client, requester).json()["status"] == "denied"
    response = submit(client, person.requester("email", "cell"))
    assert response.status_code == 429
    assert "Try again" in response.json()["detail"]


def test_a_signed_in_owners_request_to_know_then_to_delete(client, identity, person, clock) -> None:
    account = register(identity, person.data, user_id="person01")
    token = identity.log_in("person01", PASSWORD).token

    pieces = client.get(
        f"/accounts/{account.id}/personal-data", headers={"Authorization": f"Bearer {token}"}
    )
    assert pieces.status_code == 200, pieces.text
    assert set(pieces.json()) == {
        "account_id",
        "user_id",
        "certificate_number",
        "registered_at",
        "preferred_language",
        "preferred_date_format",
        "security_questions",
        "email",
        "last_login_at",
    }
    assert pieces.json()["user_id"] == "person01"

    response = client.post(
        "/privacy/requests/account", json={"account_id": str(account.id), "kind": "know"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "request_id",
        "kind",
        "status",
        "received_at",
        "due_by",
        "completed_at",
        "outcome",
        "party_id",
        "certificate_numbers",
    }
    assert (body["status"], body["party_id"]) == ("completed", person.party_id)
    assert body["certificate_numbers"] == [person.data.certificate_number]

    clock.advance(days=1)
    deletion = client.post(
        "/privacy/requests/account", json={"account_id": str(account.id), "kind": "delete"}
    )
    assert deletion.status_code == 201 and deletion.json()["status"] == "completed"
    assert "deleted" in deletion.json()["outcome"]
    # Closed: no log-in, no personal data, the same request to delete on a retry.
    log_in = client.post("/sessions", json={"user_id": "person01", "password": PASSWORD})
    assert log_in.status_code == 401
    assert client.get(f"/accounts/{account.id}/personal-data").status_code == 404
    again = client.post(
        "/privacy/requests/account", json={"account_id": str(account.id), "kind": "delete"}
    )
    assert again.json()["request_id"] == deletion.json()["request_id"]

    listed = client.get("/privacy/requests", params={"party_id": person.party_id}).json()
    assert [r["kind"] for r in listed["requests"]] == ["delete", "know"]
    assert all(r["channel"] == "account" for r in listed["requests"])


def test_unknown_things_are_404_and_bad_identifiers_422(client, person) -> None:
    assert client.get(f"/privacy/requests/{uuid4()}").status_code == 404
    assert client.get("/privacy/requests/not-a-uuid").status_code == 422
    assert client.get("/privacy/requests").status_code == 422  # party_id is required
    assert client.get(f"/accounts/{uuid4()}/personal-data").status_code == 404
    unknown = client.post(
        "/privacy/requests/account", json={"account_id": str(uuid4()), "kind": "know"}
    )
    assert unknown.status_code == 404
    assert client.get("/privacy/log", params={"since": "yesterday"}).status_code == 422
    assert client.post(f"/privacy/requests/{uuid4()}/complete", json={}).status_code == 404


def test_the_log_and_the_sweep(client, person, clock) -> None:
    verified = submit(client, person.requester(*POINTS), agent=AGENT).json()
    clock.advance(minutes=5)
    submit(client, {"email": "nobody@example.net", "cell": "312-555-0199"})
    done = client.post(f"/privacy/requests/{verified['request_id']}/complete", json={})
    assert done.status_code == 200 and done.json()["status"] == "completed"

    log = client.get("/privacy/log", params={"since": "2024-01-01"})
    assert log.status_code == 200
    entries = log.json()["requests"]
    assert [(e["status"], e["matched_points"], e["by_agent"]) for e in entries] == [
        ("completed", 5, True),
        ("denied", 0, False),
    ]
    assert entries[0]["answered_in_time"] is True
    assert "party_id" not in entries[0]
    for clear in ("Avery", "avery@example.com", "Harbor", "Jordan", person.party_id):
        assert clear not in log.text
    assert client.get("/privacy/log").json()["requests"] == entries  # default: 24 months

    sweep = client.post("/privacy/sweep")
    assert sweep.status_code == 200
    assert set(sweep.json()) == {
        "swept_at",
        "deletions_resumed",
        "servicing_extended",
        "keys_shredded",
        "requests_purged",
    }
