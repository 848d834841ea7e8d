"""Bad input on the back-office command APIs: a clear 4xx and nothing recorded."""

from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from services.billing.api import create_billing_api
from services.billing.application import BillingApplication
from services.policy.api import create_policy_api
from services.policy.application import PolicyApplication


@pytest.fixture
def billing() -> BillingApplication:
    app = BillingApplication()
    app.save(
        *app.open_account(
            certificate_number="0000100001",
            payor_name="Avery Demo",
            payment_frequency="Monthly",
            payment_method="List Bill",
            premium=Decimal("44.00"),
            effective_date=date(2015, 12, 1),
        )
    )
    return app


def recorded(app) -> int:
    return app.recorder.max_notification_id() or 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-44.00", "transaction_date": "2024-01-08"}, "amount"),
        ({"amount": "0", "transaction_date": "2024-01-08"}, "amount"),
        ({"amount": "forty", "transaction_date": "2024-01-08"}, "amount"),
        ({"amount": "44.001", "transaction_date": "2024-01-08"}, "amount"),
        ({"amount": "44.00", "transaction_date": "01/08/2024"}, "transaction_date"),
        ({"amount": "44.00", "transaction_date": "2024-02-30"}, "transaction_date"),
        ({"amount": "44.00"}, "transaction_date"),
        (
            {"amount": "44.00", "transaction_date": "2024-01-08", "payment_method": "Cash"},
            "payment_method",
        ),
        ({"amount": "44.00", "transaction_date": "2024-01-08", "bogus": 1}, "bogus"),
    ],
)
def test_bad_payment_is_422_with_the_field_and_records_nothing(
    billing: BillingApplication, body: dict, field: str
) -> None:
    before = recorded(billing)
    response = TestClient(create_billing_api(billing)).post("/accounts/100001/payments", json=body)
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert any(e["field"] == field for e in response.json()["errors"])
    assert recorded(billing) == before


@pytest.mark.parametrize("number", ["0000999999", "12345678901", "abc"])
def test_payment_for_an_unknown_certificate_is_404(
    billing: BillingApplication, number: str
) -> None:
    before = recorded(billing)
    response = TestClient(create_billing_api(billing)).post(
        f"/accounts/{number}/payments", json={"amount": "44.00", "transaction_date": "2024-01-08"}
    )
    assert response.status_code == 404
    assert "no billing account" in response.json()["detail"]
    assert recorded(billing) == before


def test_a_payment_recorded_twice_is_409(billing: BillingApplication) -> None:
    client = TestClient(create_billing_api(billing))
    body = {"amount": "44.00", "transaction_date": "2024-01-08", "payment_id": "CHK-1"}
    assert client.post("/accounts/100001/payments", json=body).status_code == 201
    before = recorded(billing)
    response = client.post("/accounts/100001/payments", json=body)
    assert response.status_code == 409
    assert recorded(billing) == before


def test_zero_padded_certificate_number_on_input(billing: BillingApplication) -> None:
    response = TestClient(create_billing_api(billing)).post(
        "/accounts/100001/payments", json={"amount": "44.00", "transaction_date": "2016-01-05"}
    )
    assert response.status_code == 201
    assert response.json()["certificate_number"] == "0000100001"
    assert response.json()["paid_to_date"] == "2016-01-01"


def test_issue_certificate_validation() -> None:
    from tests.factories import certificate_body

    policy = PolicyApplication()
    client = TestClient(create_policy_api(policy))
    body = certificate_body("275")
    owner = body["owner"]
    bad_bodies = [
        ({**body, "premium": "-1"}, "premium"),
        ({**body, "product_code": "XX"}, "product_code"),
        ({**body, "owner": {**owner, "government_id": "123456789"}}, "owner.government_id"),
        ({**body, "owner": {**owner, "date_of_birth": "11/01/1983"}}, "owner.date_of_birth"),
        ({**body, "benefits": []}, "benefits"),
    ]
    for bad, field in bad_bodies:
        response = client.post("/certificates", json=bad)
        assert response.status_code == 422, field
        assert response.json()["errors"][0]["field"] == field
    response = client.post("/certificates", json={**body, "effective_date": "2015-01-01"})
    assert response.status_code == 422
    assert "effective date" in response.json()["detail"]
    assert recorded(policy) == 0
    created = client.post("/certificates", json=body)
    assert created.status_code == 201
    assert created.json()["certificate_number"] == "0000000275"
    assert client.post("/certificates", json=body).status_code == 409
