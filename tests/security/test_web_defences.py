"""The portal's defences, end to end through the pages and the API, where the identity unit
tests check the rules themselves (see SECURITY.md for where each rule is tested):

- CSRF on EVERY form post of the pages (enumerated from the app): no token, a forged token
  (another browser's, or garbage) and a valid token sent from another origin are all refused
  with 403 and change nothing; the JSON API takes no body a cross-site form can send.
- Session fixation: a session cookie planted before log-in is not the one after it; log-in
  rotates the token and ends the one presented; log-out revokes it server side.
- Lock-out: 5 wrong passwords in a row lock the account (the right password is then refused
  with the same message as a wrong one, and the owner is emailed); the API counts alike.
- Registration: 5 failed step-1 matches for a certificate refuse step 1, even with the right
  answers, with the throttle's message.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.portal.demo import DEMO_PASSWORD
from services.portal.demo_newcomer import NEWCOMER
from tests.security.owners import owner_of_a_new_certificate
from tests.security.routes import csrf_token, endpoints
from tests.security.system import SecuredPortal
from tests.web_client import csrf_of, post_form, text_of, web_log_in

pytestmark = pytest.mark.embedded

REFUSED = "The user ID or password is incorrect."
WRONG = "Wrong-Guess-2024!"
# Form posts whose accepted version would end the session or act on the person as a whole:
# the CSRF refusals are checked on them too, but not the accepted control.
NO_ACCEPTED_CONTROL = ("/logout", "/account/privacy")


@pytest.fixture
def portal(defended: SecuredPortal) -> SecuredPortal:
    return defended


def signed_in(portal: SecuredPortal, user_id: str = "demo") -> TestClient:
    client = portal.client_like()
    web_log_in(client, user_id, DEMO_PASSWORD)
    return client


def log_in_again(client: TestClient, user_id: str) -> None:
    """Log in from a browser that may be signed in already (the form of any page)."""
    fields = {"csrf_token": csrf_token(client), "user_id": user_id, "password": DEMO_PASSWORD}
    assert client.post("/login/password", data=fields).status_code == 303


def form_posts(portal: SecuredPortal) -> list[str]:
    posts = [e.path for e in endpoints(portal.app) if e.page and e.method == "POST"]
    assert {"/login", "/login/password", "/logout", "/register", "/profile"} <= set(posts)
    return posts


def still_signed_in(client: TestClient) -> bool:
    return client.get("/api/profile").status_code == 200


def test_every_form_post_refuses_a_missing_forged_or_cross_site_token(
    portal: SecuredPortal,
) -> None:
    victim = signed_in(portal)
    attacker = portal.client_like()
    attackers_token = csrf_token(attacker)  # valid, but for the attacker's own CSRF cookie
    victims_token = csrf_token(victim)
    profile_before = victim.get("/api/profile").content
    for path in form_posts(portal):
        forgeries = {
            "no token": ({}, {}),
            "another browser's token": ({"csrf_token": attackers_token}, {}),
            "a made-up token": ({"csrf_token": "0" * 64}, {}),
            "another site": ({"csrf_token": victims_token}, {"Origin": "https://evil.example"}),
        }
        for what, (fields, headers) in forgeries.items():
            answer = victim.post(path, data={**fields, "street_1": "1 Forged Way"}, headers=headers)
            assert answer.status_code == 403, f"POST {path} with {what}: {answer.status_code}"
            assert "This form has expired" in answer.text
        if not path.startswith(NO_ACCEPTED_CONTROL):  # the control: the same post, genuine
            genuine = victim.post(path, data={"csrf_token": csrf_token(victim)})
            assert genuine.status_code != 403, f"POST {path} refused a genuine form"
    assert still_signed_in(victim), "a forged log-out ended the session"
    assert victim.get("/api/profile").content == profile_before, "a forged post changed data"


def test_the_api_takes_no_body_a_cross_site_form_could_send(portal: SecuredPortal) -> None:
    """A cross-site form can only GET or POST, and only `text/plain`, urlencoded or multipart
    bodies (PUT, DELETE and JSON need a CORS preflight, which the portal never grants); the
    session cookie is SameSite=Strict besides. The API's POSTs parse JSON bodies only."""
    victim = signed_in(portal)
    before = victim.get("/api/profile").content
    posts = [e for e in endpoints(portal.app) if not e.page and e.method == "POST"]
    assert {"/api/session", "/api/registration/personal"} <= {e.path for e in posts}
    for endpoint in posts:
        if endpoint.path_params:
            continue
        for content_type in ("text/plain", "application/x-www-form-urlencoded"):
            answer = victim.post(
                endpoint.path,
                content=b'{"user_id": "demo", "kind": "delete", "confirm": true}',
                headers={"content-type": content_type},
            )
            assert answer.status_code in (400, 401, 415, 422), (
                f"{endpoint} accepted a {content_type} body: {answer.status_code}"
            )
    preflight = victim.options(
        "/api/profile",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert still_signed_in(victim)
    assert victim.get("/api/profile").content == before


def test_a_session_cookie_planted_before_log_in_is_replaced(portal: SecuredPortal) -> None:
    client = portal.client_like()
    planted = "attacker-chosen-session-value-0123456789"
    client.cookies.set("portal_session", planted, domain="testserver.local")
    answer = post_form(
        client, "/login", "/login/password", {"user_id": "demo", "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "portal_session=" in cookie and planted not in cookie
    for attribute in ("HttpOnly", "Secure", "SameSite=strict"):
        assert attribute in cookie
    token = client.cookies.get("portal_session")
    assert token and token != planted and len(token) >= 40
    assert still_signed_in(client)


def test_log_in_rotates_the_token_and_ends_the_one_presented(portal: SecuredPortal) -> None:
    client = signed_in(portal)
    first = client.cookies.get("portal_session")
    stolen = portal.client_like()  # someone who copied the first token
    stolen.cookies.set("portal_session", first, domain="testserver.local")
    assert still_signed_in(stolen)
    log_in_again(client, "demo")  # from the same browser
    second = client.cookies.get("portal_session")
    assert second != first
    assert still_signed_in(client)
    assert not still_signed_in(stolen), "the previous token still works after log-in"
    # Log-out revokes the token on the server, not just in the browser.
    stolen.cookies.set("portal_session", second, domain="testserver.local")
    assert post_form(client, "/help", "/logout", {}).status_code == 303
    assert not still_signed_in(stolen)
    assert stolen.get("/my-insurance").headers["location"] == "/login"


def test_a_planted_token_of_another_account_is_not_ended_nor_reused(
    portal: SecuredPortal,
) -> None:
    """Log-in with someone else's live token in the cookie: a new token for the one logging
    in; the other account's session is neither reused nor ended by it."""
    other = signed_in(portal, "demo2")
    theirs = other.cookies.get("portal_session")
    client = portal.client_like()
    client.cookies.set("portal_session", theirs, domain="testserver.local")
    log_in_again(client, "demo")
    mine = client.cookies.get("portal_session")
    assert mine != theirs
    assert client.get("/api/profile").json() != other.get("/api/profile").json()
    assert still_signed_in(other)


def test_five_wrong_passwords_lock_the_account_then_even_the_right_one_is_refused(
    portal: SecuredPortal,
) -> None:
    client = portal.client_like()
    for attempt in range(1, 6):
        wrong = post_form(
            client, "/login", "/login/password", {"user_id": "demo2", "password": WRONG}
        )
        assert wrong.status_code == 401, attempt
        assert REFUSED in text_of(wrong.text)
    right = post_form(
        client, "/login", "/login/password", {"user_id": "demo2", "password": DEMO_PASSWORD}
    )
    assert right.status_code == 401, "a locked account let the right password in"
    assert REFUSED in text_of(right.text)  # the same answer: a lock tells nothing either
    assert not client.cookies.get("portal_session")
    api = client.post("/api/session", json={"user_id": "demo2", "password": DEMO_PASSWORD})
    assert api.status_code == 401 and "token" not in api.text
    # The owner is told by email, with no secret in it.
    mail = portal.mail_containing("After 5 unsuccessful log-in attempts in a row")
    assert "locked until" in mail and DEMO_PASSWORD not in mail and WRONG not in mail
    # Other accounts are not affected.
    assert signed_in(portal, "demo").cookies.get("portal_session")


def test_an_unknown_user_id_is_answered_like_a_locked_or_wrong_one(
    portal: SecuredPortal,
) -> None:
    client = portal.client_like()
    unknown = post_form(
        client, "/login", "/login/password", {"user_id": "nobody.here", "password": WRONG}
    )
    assert unknown.status_code == 401 and REFUSED in text_of(unknown.text)


def test_the_api_and_the_pages_count_failures_together(portal: SecuredPortal) -> None:
    user_id, password = "casey.owner", "Amber-Lattice-8080!"
    owner_of_a_new_certificate(portal, "0000200077", "casey", user_id, password)
    client = portal.client_like()
    for _ in range(3):
        api = client.post("/api/session", json={"user_id": user_id, "password": WRONG})
        assert api.status_code == 401
    for _ in range(2):
        fields = {"user_id": user_id, "password": WRONG}
        assert post_form(client, "/login", "/login/password", fields).status_code == 401
    locked = client.post("/api/session", json={"user_id": user_id, "password": password})
    assert locked.status_code == 401


def test_repeated_registration_failures_are_throttled(portal: SecuredPortal) -> None:
    client = portal.client_like()
    step = {
        "action": "next",
        "user_type": "Certificate Owner",
        "certificate_number": "100004",
        "name_type": "Person",
        **NEWCOMER,
    }
    for day in range(1, 6):  # someone guesses the date of birth
        fields = {**step, "date_of_birth": f"01/0{day}/1990"}
        guess = post_form(client, "/register", "/register", fields)
        assert guess.status_code == 422, text_of(guess.text)
    right = post_form(client, "/register", "/register", step)
    assert right.status_code == 429, text_of(right.text)
    assert "Too many registration attempts for this certificate" in text_of(right.text)
    assert 'name="registration_id"' not in right.text
    # The API is throttled alike (the same certificate).
    api = client.post(
        "/api/registration/personal",
        json={k: v for k, v in step.items() if k != "action"},
    )
    assert api.status_code == 429


def test_a_page_form_token_is_bound_to_its_browser(portal: SecuredPortal) -> None:
    """The token of one browser's page does not work with another browser's cookie."""
    one, two = portal.client_like(), portal.client_like()
    token = csrf_of(one.get("/login").text)
    two.get("/login")
    refused = two.post("/login", data={"csrf_token": token, "user_id": "demo"})
    assert refused.status_code == 403
