"""Claims' back-office HTTP API: status codes, and nothing recorded on a refusal."""

import pytest
from fastapi.testclient import TestClient

from services.claims.api import create_claims_api
from services.claims.application import ClaimsApplication
from tests.unit.test_claims_lifecycle import on_file, recorded

SUBMIT = {
    "certificate_number": "200001",
    "claim_number": "C000000001",
    "patient_insured_id": "I1",
    "provider": "Universal Provider",
    "service_date": "2023-11-09",
    "submitted_amount": "175.00",
    "submitted_on": "2023-11-20",
}
LINE = {
    "date_of_service": "2023-11-09",
    "type_of_service": "Urgent Care or Emer Physician Treatment",
    "amount_claimed": "125.00",
}


@pytest.fixture
def claims() -> ClaimsApplication:
    app = on_file()
    on_file(app, "0000200002", codes=())
    return app


@pytest.fixture
def client(claims: ClaimsApplication) -> TestClient:
    return TestClient(create_claims_api(claims))


def test_a_claim_through_its_lifecycle_over_http(client: TestClient) -> None:
    response = client.post("/claims", json=SUBMIT)
    assert response.status_code == 201
    body = response.json()
    assert (body["claim_number"], body["status"], body["certificate_number"]) == (
        "C000000001",
        "Pending",
        "0000200001",
    )
    assert body["patient"]["first_name"] == "Avery"
    assert client.post("/claims/C000000001/lines", json=LINE).status_code == 200
    line = {**LINE, "type_of_service": "X-Ray", "amount_claimed": "50.00"}
    assert client.post("/claims/C000000001/lines", json=line).status_code == 200
    assert client.post("/claims/C000000001/review-complete", json={"on": "2023-12-01"}).is_success
    decision = {"on": "2023-12-05", "deductible_applied": "25.00"}
    assert client.post("/claims/C000000001/decision", json=decision).status_code == 200
    payment = {"on": "2024-01-20", "paid_to": "Avery Demo"}
    assert client.post("/claims/C000000001/payment", json=payment).status_code == 200
    response = client.post("/claims/C000000001/issue", json={"on": "2024-01-25"})
    assert response.status_code == 200
    body = client.get("/claims/C000000001").json()
    assert (body["status"], body["status_date"]) == ("Issued", "2024-01-25")
    assert len(body["status_history"]) == 5
    assert body["totals"] == {
        "amount_claimed": "175.00",
        "excluded_amount": "0.00",
        "deductible_applied": "25.00",
        "coinsurance_copay": "0.00",
        "other_carrier_paid": "0.00",
        "patient_responsibility": "25.00",
        "total_amount_paid": "150.00",
    }
    assert [x["line_id"] for x in body["lines"]] == ["L1", "L2"]
    assert client.get("/health").json() == {"status": "ok"}


def test_a_claim_number_is_generated_when_none_is_given(client: TestClient) -> None:
    body = client.post("/claims", json={**SUBMIT, "claim_number": None}).json()
    assert client.get(f"/claims/{body['claim_number']}").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/claims", {**SUBMIT, "certificate_number": "999999"}, 404),
        ("post", "/claims", {**SUBMIT, "patient_insured_id": "I7"}, 422),
        ("post", "/claims", {**SUBMIT, "certificate_number": "200002"}, 422),
        ("post", "/claims", {**SUBMIT, "claim_number": "X1"}, 422),
        ("post", "/claims", {**SUBMIT, "submitted_amount": "-1"}, 422),
        ("post", "/claims", {**SUBMIT, "service_date": "11/09/2023"}, 422),
        ("post", "/claims", SUBMIT, 409),  # the claim number is taken
        ("post", "/claims/C000000001/lines", {**LINE, "benefit_amount": "125.01"}, 422),
        ("post", "/claims/C000000001/lines", {**LINE, "excluded_amount": "200.00"}, 422),
        ("post", "/claims/C000000001/lines", {**LINE, "amount_claimed": "0"}, 422),
        ("post", "/claims/C000000002/lines", LINE, 404),
        ("post", "/claims/nope/lines", LINE, 404),
        ("post", "/claims/C000000001/decision", {"on": "2023-12-05"}, 409),
        ("post", "/claims/C000000001/payment", {"on": "2023-12-05"}, 409),
        ("post", "/claims/C000000001/issue", {"on": "2023-12-05"}, 409),
        ("post", "/claims/C000000001/review-complete", {"on": "2023-11-01"}, 422),
        ("post", "/claims/C000000001/deny", {"on": "2023-12-05"}, 422),
        ("post", "/claims/C000000001/deny", {"on": "2023-12-05", "reason": " "}, 422),
        ("get", "/claims/C000000009", None, 404),
    ],
)
def test_refusals_have_their_status_code_and_record_nothing(
    claims: ClaimsApplication, client: TestClient, method, path, body, status
) -> None:
    assert client.post("/claims", json=SUBMIT).status_code == 201
    assert client.post("/claims/C000000001/lines", json=LINE).status_code == 200
    before = recorded(claims)
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert recorded(claims) == before


def test_an_unknown_patient_names_the_field(client: TestClient) -> None:
    response = client.post("/claims", json={**SUBMIT, "patient_insured_id": "I7"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "patient_insured_id"


def test_a_denied_claim_cannot_be_paid(client: TestClient) -> None:
    client.post("/claims", json=SUBMIT)
    deny = {"on": "2023-12-01", "reason": "Not eligible under plan design", "not_covered": True}
    response = client.post("/claims/C000000001/deny", json=deny)
    assert (response.status_code, response.json()["status"]) == (200, "Not Covered")
    assert (
        client.post("/claims/C000000001/review-complete", json={"on": "2024-01-01"}).status_code
        == 409
    )
