"""Billing's back-office HTTP API: reversals, billing cycles and list-bill files."""

from datetime import date

import pytest
from fastapi.testclient import TestClient

from services.billing.api import create_billing_api
from services.billing.application import BillingApplication
from shared.clock import Clock
from tests.unit.test_billing_account import open_account

NUMBER = "0000100001"
HEADER = "certificate_number,amount,transaction_date,apply_date,reference"
CSV = {"content-type": "text/csv"}


@pytest.fixture
def billing() -> BillingApplication:
    app = open_account(effective=date(2024, 1, 1))
    open_account(number="0000100002", effective=date(2024, 1, 1), status="Lapsed", app=app)
    return app


@pytest.fixture
def client(billing: BillingApplication) -> TestClient:
    return TestClient(create_billing_api(billing, clock=Clock(date(2024, 3, 1))))


def recorded(app: BillingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def pay(client: TestClient, payment_id: str, number: str = "100001"):
    return client.post(
        f"/accounts/{number}/payments",
        json={"amount": "44.00", "transaction_date": "2024-01-05", "payment_id": payment_id},
    )


def test_a_reversal_answers_the_account_with_paid_to_rolled_back(client: TestClient) -> None:
    for pid in ("p1", "p2"):
        assert pay(client, pid).status_code == 201
    response = client.post(
        "/accounts/100001/payments/p1/reversal", json={"reversed_on": "2024-01-20", "reason": "NSF"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["certificate_number"], body["paid_to_date"]) == (NUMBER, "2024-02-01")
    assert (body["suspense_balance"], body["status"]) == ("0.00", "Active Premium Paying")


def test_reversal_errors_are_404_409_and_422_and_record_nothing(
    client: TestClient, billing: BillingApplication
) -> None:
    assert pay(client, "p1").status_code == 201
    url = "/accounts/100001/payments/{}/reversal"
    body = {"reversed_on": "2024-01-20", "reason": "NSF"}
    assert client.post(url.format("p1"), json=body).status_code == 200
    before = recorded(billing)
    again = client.post(url.format("p1"), json=body)
    assert again.status_code == 409
    assert again.json()["detail"] == "payment p1 was already reversed on 2024-01-20"
    unknown = client.post(url.format("p9"), json=body)
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no payment p9 on certificate 0000100001"
    assert client.post("/accounts/999/payments/p1/reversal", json=body).status_code == 404
    for bad, field in [
        ({"reversed_on": "20/01/2024", "reason": "NSF"}, "reversed_on"),
        ({"reversed_on": "2024-01-20", "reason": "  "}, "reason"),
        ({"reversed_on": "2024-01-20"}, "reason"),
        ({**body, "amount": "44.00"}, "amount"),
    ]:
        response = client.post(url.format("p1"), json=bad)
        assert response.status_code == 422, bad
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert recorded(billing) == before


def test_a_payment_on_a_lapsed_certificate_is_422_with_a_clear_message(
    client: TestClient, billing: BillingApplication
) -> None:
    before = recorded(billing)
    response = pay(client, "p1", number="100002")
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "certificate 0000100002 is Lapsed (not in force): no payment can be accepted"
    )
    assert recorded(billing) == before


def test_a_billing_cycle_answers_its_summary(client: TestClient) -> None:
    response = client.post("/billing-cycles", json={"as_of": "2024-02-02"})
    assert response.status_code == 200
    # The active account is billed (01/01 … 02/01, one statement) and its January premium
    # defaulted; the lapsed one is neither.
    assert response.json() == {"billed": 1, "statements": 1, "defaulted": 1}
    again = client.post("/billing-cycles", json={"as_of": "2024-02-02"}).json()
    assert again == {"billed": 0, "statements": 0, "defaulted": 0}
    bad = client.post("/billing-cycles", json={"as_of": "02/02/2024"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "as_of"


def test_a_list_bill_is_201_with_what_was_applied(
    client: TestClient, billing: BillingApplication
) -> None:
    text = f"{HEADER}\n{NUMBER},44.00,2024-02-05,,LB-1\n{NUMBER},44.00,02/06/2024,,LB-2\n"
    response = client.post("/list-bills?received_on=2024-02-07", content=text, headers=CSV)
    assert response.status_code == 201, response.text
    assert response.json() == {"applied": 2, "accounts": 1}
    assert billing.get_account(NUMBER).paid_to_date == date(2024, 3, 1)


def test_a_list_bill_received_on_defaults_to_today(client: TestClient) -> None:
    # The clock says 03/01/2024: a transaction dated after it is refused.
    text = f"{HEADER}\n{NUMBER},44.00,2024-03-02,,LB-1\n"
    response = client.post("/list-bills", content=text, headers=CSV)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "line": 2,
            "field": "transaction_date",
            "message": "2024-03-02 is after the file was received (2024-03-01)",
        }
    ]


def test_a_list_bill_with_bad_rows_is_422_with_every_error_and_records_nothing(
    client: TestClient, billing: BillingApplication
) -> None:
    text = (
        f"{HEADER}\n{NUMBER},44.00,2024-02-05,,LB-1\n{NUMBER},-44.00,2024-02-05,,LB-2\n"
        f"0000999999,44.00,2024-02-05,,LB-3\n0000100002,44.00,2024-02-30,,LB-4\n"
    )
    before = recorded(billing)
    response = client.post("/list-bills?received_on=2024-02-07", content=text, headers=CSV)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("the list bill was refused, nothing was recorded")
    assert [(e["line"], e["field"]) for e in body["errors"]] == [
        (3, "amount"),
        (4, "certificate_number"),
        (5, "transaction_date"),
    ]
    assert recorded(billing) == before


def test_a_list_bill_can_be_uploaded_as_a_multipart_file(
    client: TestClient, billing: BillingApplication
) -> None:
    text = f"{HEADER}\n{NUMBER},88.00,2024-02-05,,LB-1\n"
    response = client.post(
        "/list-bills?received_on=2024-02-07", files={"file": ("march.csv", text, "text/csv")}
    )
    assert response.status_code == 201, response.text
    assert billing.get_account(NUMBER).paid_to_date == date(2024, 3, 1)
    wrong_field = client.post("/list-bills", files={"upload": ("march.csv", text, "text/csv")})
    assert wrong_field.status_code == 422
    assert "field named 'file'" in wrong_field.json()["detail"]


@pytest.mark.parametrize(
    ("content", "headers", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", CSV, "not CSV text"),
        (b"\xff\xfe\x00c\x00e\x00r", CSV, "not CSV text"),
        (b"", CSV, "the list bill is empty"),
        (b'{"rows": []}', {"content-type": "application/json"}, "send the list bill as text/csv"),
        (b"certificate,amount\n1,2\n", CSV, "bad header"),
    ],
)
def test_a_list_bill_body_that_is_not_csv_text_is_422(
    client: TestClient, billing: BillingApplication, content: bytes, headers: dict, message: str
) -> None:
    before = recorded(billing)
    response = client.post("/list-bills?received_on=2024-02-07", content=content, headers=headers)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert response.json()["errors"][0]["field"] in ("file", "header")
    assert recorded(billing) == before


def test_a_bad_received_on_is_422_with_the_field(client: TestClient) -> None:
    response = client.post("/list-bills?received_on=07/02/2024", content=HEADER, headers=CSV)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "received_on"
