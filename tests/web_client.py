"""Driving the web pages without a browser: a TestClient on https (so the Secure cookies
flow), the CSRF token of a page, and logging in through the two log-in pages."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from services.portal.embedded import build_embedded, create_embedded_app
from shared.mail import MailSettings, free_port
from shared.settings import Settings

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_portal(var_dir: Path, seed: bool = True) -> TestClient:
    """The embedded portal (use it as a context manager: the lifespan loads the demo data)."""
    system = build_embedded(Settings(PORTAL_VAR_DIR=var_dir))
    app = create_embedded_app(system, seed=seed, mail=MailSettings(SMTP_PORT=free_port()))
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def post_form(client: TestClient, page: str, action: str, fields: dict[str, str]):
    """GET `page`, then POST `fields` (with its CSRF token) to `action`."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **fields})


def web_log_in(client: TestClient, user_id: str, password: str) -> None:
    answer = post_form(
        client, "/login", "/login/password", {"user_id": user_id, "password": password}
    )
    assert answer.status_code == 303, answer.text
    assert client.cookies.get("portal_session")


def text_of(html: str) -> str:
    """The visible text of a page, tags stripped and spaces collapsed (for assertions)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
