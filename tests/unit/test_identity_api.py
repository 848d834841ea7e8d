"""Identity's HTTP API through FastAPI's TestClient: status codes, 422 with the field, and
answers that do not tell accounts apart."""

import logging
import re

import pytest
from fastapi.testclient import TestClient

from services.identity.api import create_identity_api
from services.identity.application import IdentityApplication
from tests.unit.test_identity_support import (
    ANSWERS,
    PASSWORD,
    OwnerData,
    issue,
    make_identity,
    recorded,
    register,
)

PERSONAL = {
    "user_type": "Certificate Owner",
    "certificate_number": "100001",  # 10 digits once zero-padded
    "name_type": "Person",
    "first_name": "Avery",
    "last_name": "Demo",
    "email": "avery@example.com",
    "date_of_birth": "03/14/1970",
    "government_id": "123-45-6789",
}
QUESTIONS = [{"question": q, "answer": a} for q, a in ANSWERS]


@pytest.fixture
def identity() -> IdentityApplication:
    app = make_identity()
    issue(app)
    return app


@pytest.fixture
def client(identity: IdentityApplication) -> TestClient:
    return TestClient(create_identity_api(identity))


def start(client: TestClient, **overrides) -> str:
    response = client.post("/registration/personal", json={**PERSONAL, **overrides})
    assert response.status_code == 201, response.text
    return response.json()["registration_id"]


def credentials(client: TestClient, registration_id: str, **overrides):
    body = {
        "registration_id": registration_id,
        "user_id": "avery01",
        "password": PASSWORD,
        "security_questions": QUESTIONS,
    }
    return client.post("/registration/credentials", json={**body, **overrides})


def test_registration_through_the_three_pages(client: TestClient) -> None:
    # Personal Information: a 6-digit certificate number is zero-padded to 10.
    response = client.post("/registration/personal", json=PERSONAL)
    assert response.status_code == 201
    step = response.json()
    assert step["next_step"] == "credentials" and step["expires_at"]

    # Login & Security Information.
    response = credentials(client, step["registration_id"])
    assert response.status_code == 200
    assert response.json()["next_step"] == "preferences"

    # Preference Information; submit.
    response = client.post(
        "/registration/preferences",
        json={"registration_id": step["registration_id"], "preferred_language": "Spanish"},
    )
    assert response.status_code == 201
    registered = response.json()
    assert registered["certificate_number"] == "0000100001"
    assert registered["user_id"] == "avery01"
    assert (registered["preferred_language"], registered["preferred_date_format"]) == (
        "Spanish",
        "mm/dd/yyyy",
    )
    assert registered["message"].startswith("Congratulations")


def test_iso_dates_and_undashed_ssns_are_accepted_too(client: TestClient) -> None:
    start(client, date_of_birth="1970-03-14", government_id="123456789")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("certificate_number", "12345678901"),
        ("certificate_number", "00-ABC"),
        ("date_of_birth", "14/03/1970"),
        ("date_of_birth", "02/30/1970"),
        ("date_of_birth", "3/14/70"),
        ("date_of_birth", "03/14/2999"),
        ("government_id", "123-45-678"),
        ("government_id", "123-456-789"),
        ("government_id", "SSN 123-45-6789"),
        ("email", "avery.example.com"),
        ("first_name", ""),
        ("user_type", "Agent"),
        ("name_type", "Organization"),
        ("bogus", "1"),
    ],
)
def test_bad_personal_information_is_422_with_the_field(
    client: TestClient, identity: IdentityApplication, field: str, value: str
) -> None:
    response = client.post("/registration/personal", json={**PERSONAL, field: value})
    assert response.status_code == 422
    assert any(e["field"] == field for e in response.json()["errors"])
    # The answer never repeats what was entered.
    if field in ("date_of_birth", "government_id"):
        assert value not in response.text
    assert recorded(identity) == 0


def test_a_mandatory_field_missing_is_422_with_the_field(client: TestClient) -> None:
    body = {k: v for k, v in PERSONAL.items() if k != "government_id"}
    response = client.post("/registration/personal", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "government_id"


@pytest.mark.parametrize(
    "overrides",
    [
        {"date_of_birth": "03/15/1970"},
        {"government_id": "123-45-6780"},
        {"certificate_number": "9"},
    ],
)
def test_personal_information_not_on_record_is_one_clear_422(client: TestClient, overrides) -> None:
    response = client.post("/registration/personal", json={**PERSONAL, **overrides})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "The information entered does not match our records for this certificate."
    }


def test_an_owner_already_registered_is_409(
    client: TestClient, identity: IdentityApplication
) -> None:
    register(identity)
    response = client.post("/registration/personal", json=PERSONAL)
    assert response.status_code == 409
    assert "already registered" in response.json()["detail"]


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"password": "short1!"}, 422, "password"),
        ({"password": "Password1!"}, 422, "password"),
        ({"password": "x" * 120 + "Aa1!" + "x" * 5}, 422, "password"),  # 129 characters
        ({"user_id": "ab"}, 422, "user_id"),
        ({"user_id": "has space"}, 422, "user_id"),
        ({"security_questions": QUESTIONS[:2]}, 422, "security_questions"),
        ({"security_questions": [QUESTIONS[0]] * 3}, 422, "security_questions"),
    ],
)
def test_bad_login_and_security_information(
    client: TestClient, overrides: dict, status: int, field: str
) -> None:
    response = credentials(client, start(client), **overrides)
    assert response.status_code == status
    assert any(e["field"] == field for e in response.json()["errors"])


def test_a_taken_user_id_is_409_with_the_field(client: TestClient, identity) -> None:
    registration_id = start(client)
    credentials(client, registration_id)
    client.post("/registration/preferences", json={"registration_id": registration_id})
    blake = OwnerData(certificate_number="0000100002", first_name="Blake")
    issue(identity, blake)
    other = start(client, certificate_number="100002", first_name="Blake")
    response = credentials(client, other, user_id="Avery01")
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {"field": "user_id", "message": "This user ID is already taken. Choose another one."}
    ]


def test_an_unknown_registration_is_404_and_an_incomplete_one_409(client: TestClient) -> None:
    response = client.post("/registration/preferences", json={"registration_id": "nope"})
    assert response.status_code == 404
    response = client.post("/registration/preferences", json={"registration_id": start(client)})
    assert response.status_code == 409


def test_log_in_and_out(client: TestClient, identity: IdentityApplication) -> None:
    register(identity)
    response = client.post("/sessions", json={"user_id": "avery01", "password": PASSWORD})
    assert response.status_code == 201
    session = response.json()
    assert set(session) == {"token", "session_id", "account_id", "party_id", "expires_at"}
    assert len(session["token"]) >= 43

    headers = {"Authorization": f"Bearer {session['token']}"}
    prefs = {"preferred_language": "Spanish", "preferred_date_format": "dd/mm/yyyy"}
    assert client.put("/preferences", json=prefs, headers=headers).status_code == 200

    assert client.post("/sessions/end", json={"token": session["token"]}).status_code == 204
    assert client.put("/preferences", json=prefs, headers=headers).status_code == 401
    assert client.post("/sessions/end", json={"token": "unknown"}).status_code == 204


def test_unknown_user_and_wrong_password_answer_identically(
    client: TestClient, identity: IdentityApplication
) -> None:
    register(identity)
    unknown = client.post("/sessions", json={"user_id": "nobody", "password": PASSWORD})
    wrong = client.post("/sessions", json={"user_id": "avery01", "password": "Wrong-Pass-1"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.content == wrong.content
    assert unknown.headers["www-authenticate"] == wrong.headers["www-authenticate"] == "Bearer"


def test_forgot_user_id_always_answers_202_the_same(
    client: TestClient, identity: IdentityApplication
) -> None:
    register(identity)
    ask = {"first_name": "Avery", "last_name": "Demo", "date_of_birth": "03/14/1970"}
    match = client.post("/recovery/user-id", json={**ask, "email": "avery@example.com"})
    miss = client.post("/recovery/user-id", json={**ask, "certificate_number": "999"})
    assert match.status_code == miss.status_code == 202
    assert match.json() == miss.json()
    assert len(identity.mail.all()) == 1
    # Neither an email nor a certificate number: say which field is missing.
    response = client.post("/recovery/user-id", json=ask)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"


def test_forgot_password_through_http(client: TestClient, identity: IdentityApplication) -> None:
    register(identity)
    known = client.post("/recovery/password", json={"user_id": "avery01"})
    unknown = client.post("/recovery/password", json={"user_id": "nobody"})
    assert known.status_code == unknown.status_code == 202
    assert known.json()["detail"] == unknown.json()["detail"]
    assert known.json()["question"] == ANSWERS[0][0]

    code = re.findall(r"\b\d{8}\b", identity.mail.all()[-1].body or "")[0]
    reset = {"user_id": "avery01", "answer": "rex", "new_password": "New-Harbor-77"}
    wrong = client.post("/recovery/password/reset", json={**reset, "code": "00000000"})
    assert wrong.status_code == 401
    malformed = client.post("/recovery/password/reset", json={**reset, "code": "12ab"})
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"] == "code"
    weak = client.post(
        "/recovery/password/reset", json={**reset, "code": code, "new_password": "password"}
    )
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"
    done = client.post("/recovery/password/reset", json={**reset, "code": code})
    assert done.status_code == 200
    login = {"user_id": "avery01", "password": "New-Harbor-77"}
    assert client.post("/sessions", json=login).status_code == 201


def test_no_personal_data_in_the_logs(client: TestClient, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    registration_id = start(client)
    credentials(client, registration_id)
    client.post("/registration/preferences", json={"registration_id": registration_id})
    client.post("/sessions", json={"user_id": "avery01", "password": PASSWORD})
    client.post("/registration/personal", json={**PERSONAL, "government_id": "987-65-4321"})
    for secret in ("123-45-6789", "987-65-4321", "03/14/1970", "1970-03-14", PASSWORD, "Volvo"):
        assert secret not in caplog.text


def test_health_openapi_and_the_security_questions_offered(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert "/registration/personal" in client.get("/openapi.json").json()["paths"]
    assert [q["question"] for q in QUESTIONS] == client.get(
        "/registration/security-questions"
    ).json()["questions"][:3]
