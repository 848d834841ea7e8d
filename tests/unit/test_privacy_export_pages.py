"""The privacy pages over a fake identity privacy office: what each answer shows, identity's
refusals next to their fields, and the request to delete through the page."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.portal.api import create_portal_app
from services.portal.owner_commands import CommandRefused
from services.portal.web.pages.privacy import refusal_errors, request_body
from shared.clock import Clock
from tests.portal_harness import PortalHarness
from tests.unit.test_privacy_export_api import FakeIdentity
from tests.web_client import csrf_of, text_of

TODAY = date(2024, 11, 16)
TYPED = {
    "request_type": "know_specific",
    "who": "self",
    "first_name": "Taylor",
    "last_name": "Sample",
    "date_of_birth": "07/15/1990",
    "email": "taylor@example.com",
    "cell": "860-555-0177",
    "street": "7 Harbor Lane",
    "city": "Mystic",
    "state": "CT",
    "zip_code": "06355",
}
ANSWERED = {"request_id": "5f0e4c1e-0000-4000-8000-000000000001", "due_by": "2024-12-31"}


class PrivacyOffice(FakeIdentity):
    """Answers `POST /privacy/requests` with what the test sets in `answer`."""

    def __init__(self, harness: PortalHarness) -> None:
        super().__init__(harness)
        self.answer: tuple[int, dict[str, Any]] = (201, {})

    async def send(self, service, method, path, body=None, headers=None) -> httpx.Response:
        if path == "/privacy/requests":
            self.calls.append((method, path, body))
            status, content = self.answer
            return httpx.Response(status, json=content)
        return await super().send(service, method, path, body, headers)


@pytest.fixture
def harness(tmp_path) -> PortalHarness:
    h = PortalHarness(tmp_path)
    h.issue("0000100001", owner="avery", product_code="WL")
    return h


@pytest.fixture
def office(harness: PortalHarness) -> PrivacyOffice:
    return PrivacyOffice(harness)


@pytest.fixture
def client(harness: PortalHarness, office: PrivacyOffice) -> TestClient:
    app = create_portal_app(harness.engine, office, harness.vault.open, clock=Clock(TODAY))  # type: ignore[arg-type]
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def submit(client: TestClient, **changes: str) -> httpx.Response:
    token = csrf_of(client.get("/privacy/request").text)
    return client.post("/privacy/request", data={"csrf_token": token, **TYPED, **changes})


@pytest.mark.parametrize(
    ("answer", "shown", "not_shown"),
    [
        (
            {"kind": "know", "status": "verified", "level": "specific", "matched_points": 3},
            "We will mail the specific pieces",
            "could not verify",
        ),
        (
            {"kind": "know", "status": "verified", "level": "categories", "matched_points": 2},
            "verified your identity for the categories",
            "We will mail",
        ),
        (
            {"kind": "know", "status": "denied", "level": "none", "matched_points": 1},
            "We could not verify your identity",
            "Identifiers",
        ),
        (
            {"kind": "delete", "status": "completed", "level": "specific", "matched_points": 5},
            "carried out your request to delete",
            "could not verify",
        ),
    ],
)
def test_the_outcome_of_a_public_request(
    client: TestClient, office: PrivacyOffice, answer: dict, shown: str, not_shown: str
) -> None:
    office.answer = (201, {**ANSWERED, **answer, "message": "Thank you."})
    page = submit(client)
    assert page.status_code == 200
    text = text_of(page.text)
    assert shown in text and not_shown not in text
    assert ANSWERED["request_id"] in text and "Respond by 12/31/2024" in text
    assert "07/15/1990" not in page.text and "Thank you." in text
    assert len(re.findall(r"<h1[ >]", page.text)) == 1
    [(_, _, body)] = office.calls
    assert body["requester"]["date_of_birth"] == "1990-07-15"
    assert body["agent"] is None


def test_identity_s_refusal_is_shown_next_to_its_field(
    client: TestClient, office: PrivacyOffice
) -> None:
    office.answer = (
        422,
        {
            "detail": "An authorized agent must attest to the written permission.",
            "errors": [{"field": "agent.attested", "message": "Attest to the permission."}],
        },
    )
    page = submit(
        client,
        who="agent",
        agent_name="Pat Agent",
        agent_email="pat@agents.example",
        agent_permission="A signed letter",
        agent_attested="yes",
    )
    assert page.status_code == 422
    assert 'id="agent_attested-error">Attest to the permission.' in page.text
    assert "An authorized agent must attest" in text_of(page.text)
    assert "07/15/1990" not in page.text


def test_what_is_checked_before_anything_is_sent(client: TestClient, office: PrivacyOffice) -> None:
    page = submit(client, date_of_birth="1990-07-15", zip_code="6355", request_type="")
    assert page.status_code == 422
    for field in ("date_of_birth", "zip_code", "request_type"):
        assert f'id="{field}-error"' in page.text
    assert office.calls == []


def test_refusal_fields_map_to_the_form_s_inputs() -> None:
    refused = CommandRefused(
        422,
        "bad",
        {
            "requester.address.zip_code": "zip",
            "requester.date_of_birth": "dob",
            "agent.permission": "permission",
            "agent": "agent",
            "kind": "kind",
            "body.requester.email": "email",
        },
    )
    assert refusal_errors(refused) == {
        "zip_code": "zip",
        "date_of_birth": "dob",
        "agent_permission": "permission",
        "agent_attested": "agent",
        "request_type": "kind",
        "email": "email",
    }
    delete = request_body({**TYPED, "request_type": "delete", "agent_name": ""}, "07/15/1990")
    assert delete["kind"] == "delete" and delete["detail"] == "specific"


def test_the_account_page_and_a_request_to_delete(
    harness: PortalHarness, client: TestClient, office: PrivacyOffice
) -> None:
    assert client.get("/account/privacy").headers["location"] == "/login?next=/account/privacy"
    client.cookies.set("portal_session", harness.sign_in("avery", "0000100001"))
    page = client.get("/account/privacy")
    assert page.status_code == 200
    assert "Your Privacy Rights (California)" in page.text
    assert "/privacy/request" in page.text  # for agents and people without an account
    assert '<label for="confirm">' in page.text
    deleted = client.post(
        "/account/privacy/delete", data={"csrf_token": csrf_of(page.text), "confirm": "yes"}
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == "/login?done=deleted"
    assert "portal_session=" in deleted.headers["set-cookie"]
    assert office.calls[0][:2] == ("POST", "/privacy/requests/account")
    assert client.get("/account/privacy").headers["location"].startswith("/login")


def test_the_account_page_lists_a_request_with_its_respond_by_date(
    harness: PortalHarness, client: TestClient
) -> None:
    client.cookies.set("portal_session", harness.sign_in("avery", "0000100001"))
    page = client.get("/account/privacy")
    made = client.post("/account/privacy/know", data={"csrf_token": csrf_of(page.text)})
    assert made.status_code == 303 and made.headers["location"] == "/account/privacy?done=know"
    page = client.get(made.headers["location"])
    text = text_of(page.text)
    assert "Request to know" in text and "Completed" in text and "Respond by" in text
    assert 'href="/api/privacy/export"' in page.text
