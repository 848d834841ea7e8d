"""The portal's certificate screens and owner scoping, fed by the real projections."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.portal.api import create_portal_app
from services.portal.gateway import CommandGateway
from shared.clock import Clock
from tests.portal_harness import PortalHarness

TODAY = date(2024, 11, 16)


@pytest.fixture
def harness(tmp_path) -> PortalHarness:
    h = PortalHarness(tmp_path)
    h.issue("0000100001", owner="avery", product_code="WL")
    h.issue("0000100003", owner="avery", product_code="AC", premium="18.50")
    h.issue("0000200001", owner="blake", product_code="CI")
    h.pay("0000100001", "44.00", date(2016, 1, 5))
    h.policy.take_loan("0000100001", "B1", "L1", Decimal("500.00"), Decimal("5.00"),
                       date(2024, 3, 1))  # fmt: skip
    h.policy.update_cash_value("0000100001", date(2024, 11, 1), Decimal("2641.82"), {})
    h.deliver()
    return h


@pytest.fixture
def client(harness: PortalHarness) -> TestClient:
    app = create_portal_app(
        harness.engine, CommandGateway({}), harness.vault.open, clock=Clock(TODAY)
    )
    return TestClient(app)


def test_everything_owner_facing_needs_a_session(client: TestClient) -> None:
    for path in ("/api/certificates", "/api/certificates/0000100001", "/api/profile",
                 "/api/certificates/0000100001/billing"):  # fmt: skip
        assert client.get(path).status_code == 401
    assert client.get("/api/profile", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_an_expired_session_is_refused(harness: PortalHarness, client: TestClient) -> None:
    token = harness.sign_in("avery", "0000100001", expires_in=timedelta(seconds=-1))
    assert (
        client.get("/api/profile", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )


def test_my_insurance_groups_by_product_with_the_guide_s_rules(
    harness: PortalHarness, client: TestClient
) -> None:
    token = harness.sign_in("avery", "0000100001")
    body = client.get("/api/certificates", headers={"Authorization": f"Bearer {token}"}).json()
    groups = {g["product_name"]: g["certificates"] for g in body["products"]}
    assert set(groups) == {"Harborview@Work Accident", "Harborview@Work Whole Life"}
    whole_life = groups["Harborview@Work Whole Life"][0]
    accident = groups["Harborview@Work Accident"][0]
    assert whole_life["coverage_amount"] == "12137.00"  # WL and UL only
    assert accident["coverage_amount"] is None
    assert [a["label"] for a in whole_life["actions"]] == [
        "Update Personal Information", "View Billing/Payments", "View Certificate Details",
    ]  # fmt: skip
    assert accident["actions"][-1]["label"] == "View Claims"  # accident elected


def test_certificate_detail_combines_policy_and_billing(
    harness: PortalHarness, client: TestClient
) -> None:
    token = harness.sign_in("avery", "0000100001")
    body = client.get(
        "/api/certificates/100001", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert body["current_as_of"] == "2024-11-16"
    info = body["information"]
    assert info["paid_to_date"] == "2016-01-01"
    assert info["last_payment_date"] == "2016-01-05"
    assert info["net_cash_value"] == "2641.82"
    assert info["currency_name"] == "DOLLAR (US)"
    assert body["owner_address"]["city"] == "Tolland"
    assert body["agents"][0]["name"] == "Jordan Agent"
    assert body["benefits"][0]["insureds"][0]["relationship"] == "Owner"


def test_benefit_detail_shows_loans_and_the_insured_s_birth_date(
    harness: PortalHarness, client: TestClient
) -> None:
    token = harness.sign_in("avery", "0000100001")
    body = client.get(
        "/api/certificates/0000100001/benefits/B1", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert body["loan_balance"] == "500.00"
    assert body["loan_value_available"] == "2112.49"
    assert body["loans"][0]["loan_id"] == "L1"
    assert body["insureds"][0]["date_of_birth"] == "1983-11-01"


def test_profile_redacts_the_government_id(harness: PortalHarness, client: TestClient) -> None:
    token = harness.sign_in("avery", "0000100001")
    response = client.get("/api/profile", headers={"Authorization": f"Bearer {token}"})
    body = response.json()
    assert body["personal"]["government_id"] == "***-**-6789"
    assert body["personal"]["date_of_birth"] == "1983-11-01"
    assert "123-45" not in response.text and "123456789" not in response.text


OWNER_ENDPOINTS = [
    "/api/certificates/{number}",
    "/api/certificates/{number}/benefits/B1",
    "/api/certificates/{number}/billing",
    "/api/certificates/{number}/billing?from=2000-01-01&page=2",
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    endpoint=st.sampled_from(OWNER_ENDPOINTS),
    number=st.sampled_from(["0000200001", "200001", "0000999999", "0000100002"]),
    use_cookie=st.booleans(),
)
def test_another_owner_s_certificate_answers_404_like_a_missing_one(
    harness: PortalHarness, client: TestClient, endpoint: str, number: str, use_cookie: bool
) -> None:
    # Owner A ("avery") asks for owner B's ("blake") certificate, or for one that does not exist.
    token = harness.sign_in("avery", "0000100001")
    path = endpoint.format(number=number)
    if use_cookie:
        client.cookies.set("portal_session", token)
        response = client.get(path)
        client.cookies.clear()
    else:
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert response.json() == {"detail": f"certificate {number.zfill(10)} not found"} or (
        response.json()["detail"].endswith("not found")
    )
    mine = client.get(
        endpoint.format(number="0000100001"), headers={"Authorization": f"Bearer {token}"}
    )
    assert mine.status_code == 200


def test_blake_sees_only_blake_s_certificates(harness: PortalHarness, client: TestClient) -> None:
    token = harness.sign_in("blake", "0000200001")
    body = client.get("/api/certificates", headers={"Authorization": f"Bearer {token}"}).json()
    numbers = [c["certificate_number"] for g in body["products"] for c in g["certificates"]]
    assert numbers == ["0000200001"]
