"""Your Privacy Rights (California) and the public privacy request form, through the pages and
the JSON API of the embedded portal, without a browser; and `portal privacy export`.
Identity's privacy office answers the requests (`POST /privacy/requests[/account]`).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from services.portal.demo import DEMO_PASSWORD, owner_party_id
from services.portal.privacy_cli import privacy_app
from tests.web_client import csrf_of, post_form, text_of, web_log_in, web_portal

pytestmark = pytest.mark.embedded

AVERY_SSN = ("900-12-3456", "900123456")
TAYLOR = {  # the demo owner without an account (demo_newcomer.py)
    "first_name": "Taylor",
    "last_name": "Sample",
    "date_of_birth": "07/15/1990",
    "email": "taylor@example.com",
}
WRONG = {
    "date_of_birth": "01/01/2000",
    "email": "somebody.else@example.com",
    "cell": "212-555-0199",
    "street": "1 Nowhere Road",
    "city": "Nowhere",
    "state": "CA",
    "zip_code": "90001",
}


def public_request(client: TestClient, **fields: str):
    values = {
        "request_type": "know_specific",
        "who": "self",
        **TAYLOR,
        "cell": WRONG["cell"],
        "street": WRONG["street"],
        "city": WRONG["city"],
        "state": WRONG["state"],
        "zip_code": WRONG["zip_code"],
        **fields,
    }
    return post_form(client, "/privacy/request", "/privacy/request", values)


def test_a_signed_in_owner_requests_to_know_and_downloads_the_export(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/account/privacy")
        assert page.status_code == 200
        assert len(re.findall(r"<h1[ >]", page.text)) == 1
        assert "Your Privacy Rights (California)" in page.text
        assert "You have not made a privacy request." in text_of(page.text)
        assert 'href="/account/privacy"' in page.text  # the menu and the footer
        # Before any request to know there is nothing to download.
        assert client.get("/api/privacy/export").status_code == 409
        made = post_form(client, "/account/privacy", "/account/privacy/know", {})
        assert made.status_code == 303 and made.headers["location"] == "/account/privacy?done=know"
        page = client.get(made.headers["location"])
        assert "Download your personal information (JSON)" in page.text
        [listed] = client.get("/api/privacy/requests").json()["requests"]
        assert listed["kind"] == "know" and listed["status"] == "completed"
        received = datetime.fromisoformat(listed["received_at"]).date()
        due_by = date.fromisoformat(listed["due_by"])
        assert due_by == received + timedelta(days=45)
        shown = text_of(page.text)
        assert "Respond by" in shown and due_by.strftime("%m/%d/%Y") in shown
        export = client.get("/api/privacy/export")
        assert export.status_code == 200
        assert export.headers["content-disposition"].startswith("attachment;")
        assert export.headers["cache-control"] == "no-store"
        body = export.json()
        pieces = body["specific_pieces"]
        assert body["request_id"] == listed["request_id"]
        assert pieces["identifiers"]["names"][0]["name"] == "Avery Demo"
        assert pieces["identifiers"]["government_id"] == "***-**-3456"
        numbers = [c["certificate_number"] for c in pieces["certificates"]]
        assert "0000100001" in numbers and "0000100002" not in numbers  # demo2's
        [billing] = [b for b in pieces["billing"] if b["certificate_number"] == "0000100001"]
        payments = billing["payments"]
        assert len(payments) == 97 and payments[0]["payment_amount"] == "44.00"
        assert pieces["account"]["user_id"] == "demo"
        assert not any(ssn in export.text for ssn in AVERY_SSN)
        assert body["categories"][0]["category"] == "Identifiers"


def test_the_public_form_verifies_three_matching_points_and_denies_one(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        form = client.get("/privacy/request")
        assert form.status_code == 200 and len(re.findall(r"<h1[ >]", form.text)) == 1
        for name in ("first_name", "date_of_birth", "email", "cell", "zip_code", "agent_name",
                     "agent_permission", "agent_attested", "request_type"):  # fmt: skip
            assert f'<label for="{name}"' in form.text
        # Name, date of birth and email match (3 points): the specific pieces go by mail.
        verified = public_request(client)
        assert verified.status_code == 200, verified.text
        shown = text_of(verified.text)
        assert "We will mail the specific pieces" in shown
        assert "Request number" in shown and "Respond by" in shown
        assert "07/15/1990" not in verified.text and "1990-07-15" not in verified.text
        assert "date_of_birth" not in str(verified.url) and "Taylor" not in str(verified.url)
        # Only the name matches (1 point): not verified.
        denied = public_request(client, **{k: WRONG[k] for k in ("date_of_birth", "email")})
        assert "We could not verify your identity" in text_of(denied.text)
        assert "We will mail" not in denied.text


def test_two_points_are_enough_for_the_categories(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        answer = public_request(client, request_type="know_categories", email=WRONG["email"])
        shown = text_of(answer.text)
        assert "verified your identity for the categories" in shown
        assert "Identifiers" in shown and "Respond by" in shown


def test_an_agent_without_the_attestation_is_refused_and_dob_is_not_echoed(
    tmp_path: Path,
) -> None:
    with web_portal(tmp_path) as client:
        values = {
            "request_type": "know_specific",
            "who": "agent",
            **TAYLOR,
            "cell": "860-555-0177",
            "street": "7 Harbor Lane",
            "city": "Mystic",
            "state": "CT",
            "zip_code": "06355",
            "agent_name": "Pat Agent",
            "agent_email": "pat@agents.example",
            "agent_permission": "Signed letter from Taylor Sample dated 11/01/2024",
        }
        refused = post_form(client, "/privacy/request", "/privacy/request", values)
        assert refused.status_code == 422
        assert "gave you signed written permission" in text_of(refused.text)
        assert 'id="agent_attested" name="agent_attested" value="yes" aria-invalid="true"' in (
            refused.text
        )
        # Everything typed is kept but the date of birth.
        assert 'value="Pat Agent"' in refused.text
        assert "07/15/1990" not in refused.text
        # A form without its CSRF token is refused.
        forged = client.post("/privacy/request", data=values)
        assert forged.status_code == 403


def test_a_request_to_delete_logs_the_owner_out_for_good(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo2", DEMO_PASSWORD)
        page = client.get("/account/privacy")
        assert "your portal account will be closed" in text_of(page.text)
        unconfirmed = client.post(
            "/account/privacy/delete", data={"csrf_token": csrf_of(page.text)}
        )
        assert unconfirmed.status_code == 422
        assert "Tick the box to confirm" in text_of(unconfirmed.text)
        assert client.get("/my-insurance").status_code == 200  # still signed in
        deleted = post_form(
            client, "/account/privacy", "/account/privacy/delete", {"confirm": "yes"}
        )
        assert deleted.status_code == 303, deleted.text
        assert deleted.headers["location"] == "/login?done=deleted"
        assert not client.cookies.get("portal_session")
        assert "your account is closed" in text_of(client.get("/login?done=deleted").text)
        assert client.get("/my-insurance").headers["location"] == "/login"
        again = post_form(
            client, "/login", "/login/password", {"user_id": "demo2", "password": DEMO_PASSWORD}
        )
        assert again.status_code != 303 and not client.cookies.get("portal_session")


def test_the_back_office_exports_a_person_from_the_read_models(tmp_path: Path) -> None:
    with web_portal(tmp_path):
        pass  # the demo data, seeded
    out = tmp_path / "avery.json"
    party = str(owner_party_id("demo"))
    result = CliRunner().invoke(
        privacy_app,
        ["export", "--party", party, "--output", str(out)],
        env={"PORTAL_VAR_DIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text())
    assert body["party_id"] == party
    assert body["specific_pieces"]["identifiers"]["names"][0]["name"] == "Avery Demo"
    assert not any(ssn in out.read_text() for ssn in AVERY_SSN)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    unknown = CliRunner().invoke(
        privacy_app,
        ["export", "--party", "00000000-0000-0000-0000-000000000000"],
        env={"PORTAL_VAR_DIR": str(tmp_path)},
    )
    assert unknown.exit_code == 1 and "nothing is held" in unknown.output
