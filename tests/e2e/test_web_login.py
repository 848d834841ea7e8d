"""Log-in and log-out pages, CSRF and the security headers, without a browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.portal.demo import DEMO_PASSWORD
from tests.web_client import csrf_of, post_form, text_of, web_log_in, web_portal

pytestmark = pytest.mark.embedded


def test_log_in_in_two_steps_then_log_out_ends_every_page(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        # The user ID first; the password page carries it in the form, not the URL.
        step = post_form(client, "/login", "/login", {"user_id": "demo"})
        assert step.status_code == 200 and 'name="password"' in step.text
        # A wrong password: one message, whatever was wrong.
        wrong = client.post(
            "/login/password",
            data={"csrf_token": csrf_of(step.text), "user_id": "demo", "password": "nope"},
        )
        assert wrong.status_code == 401
        assert "The user ID or password is incorrect." in text_of(wrong.text)
        web_log_in(client, "demo", DEMO_PASSWORD)
        assert "Log Out" in client.get("/glossary").text
        # Log out (a form post), then the personal pages send the browser to log in.
        out = post_form(client, "/glossary", "/logout", {})
        assert out.status_code == 303 and out.headers["location"] == "/login?done=logged-out"
        assert "You have logged out." in client.get(out.headers["location"]).text
        assert client.get("/my-insurance").headers["location"] == "/login"


def test_a_form_without_its_csrf_token_is_refused_and_nothing_happens(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        client.get("/login")
        forged = client.post("/login/password", data={"user_id": "demo", "password": DEMO_PASSWORD})
        assert forged.status_code == 403
        assert not client.cookies.get("portal_session")
        token = csrf_of(client.get("/login").text)
        other_site = client.post(
            "/login/password",
            data={"csrf_token": token, "user_id": "demo", "password": DEMO_PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert other_site.status_code == 403


def test_pages_carry_the_security_headers_and_are_never_cached(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        page = client.get("/login")
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert 'lang="en"' in page.text and 'name="viewport"' in page.text
        cookie = page.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
        assert client.get("/static/portal.css").headers.get("cache-control") != "no-store"


def test_a_redirect_after_log_in_stays_on_this_site(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        assert client.get("/glossary").status_code == 200  # public
        assert client.get("/my-insurance").headers["location"] == "/login"
        answer = post_form(
            client,
            "/login",
            "/login/password",
            {"user_id": "demo", "password": DEMO_PASSWORD, "next": "//evil.example/x"},
        )
        assert answer.headers["location"] == "/my-insurance"


def test_unknown_pages_answer_an_html_404_and_the_api_keeps_json(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        page = client.get("/no-such-page")
        assert page.status_code == 404 and "Page not found" in page.text
        api = client.get("/api/no-such-thing")
        assert api.status_code == 404 and api.headers["content-type"] == "application/json"
