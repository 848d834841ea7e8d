"""The portal's main flows, driven through the pages (and the JSON API where an owner's
program would use it), as the leak scan runs them: register the newcomer (a failed try
first), log in with a wrong then the right password, recover the user ID and the password,
read insurance, billing, claims and documents, update the profile and the preferences,
log out. Every value typed that is personal or secret is in `TYPED` for the scan; the
session tokens and the one-time code the run is given are what `run_all` answers."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from services.portal.demo import DEMO_PASSWORD, DEMO_USERS
from services.portal.demo_newcomer import NEWCOMER
from tests.security.needles import Needle
from tests.security.system import SecuredPortal
from tests.web_client import csrf_of, post_form, text_of, web_log_in

NEWCOMER_USER = "taylor.sample"
NEWCOMER_PASSWORD = "Lantern-Quay-4071!"
NEWCOMER_NEW_PASSWORD = "Copper-Heron-8352?"
WRONG_PASSWORD = "Not-Her-Password-66#"
WRONG_DOB = "07/16/1990"
ANSWERS = ("Marzipan Otter", "Zephyr Caravan", "Quillfeather Row")  # what the newcomer chooses

CHOSEN: dict[str, str] = {}  # question → answer, as registered (for the reset)
# Secrets the run is given: session tokens and the one-time reset code (the demo mailbox
# holds the mail that delivers the code: it may be there and nowhere else).
ISSUED: list[Needle] = []


def keep_token(client: TestClient, where: str) -> None:
    token = client.cookies.get("portal_session")
    assert token
    ISSUED.append(Needle(f"session token ({where})", token))


TYPED = [
    Needle("newcomer's password", NEWCOMER_PASSWORD),
    Needle("newcomer's new password", NEWCOMER_NEW_PASSWORD),
    Needle("a wrong password typed", WRONG_PASSWORD),
    Needle("a wrong date of birth typed", WRONG_DOB),
    Needle("a wrong date of birth typed (ISO)", "1990-07-16"),
    *(Needle(f"security answer {n}", answer) for n, answer in enumerate(ANSWERS, start=1)),
]


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden {name}"
    return match.group(1)


def register_newcomer(client: TestClient) -> None:
    personal = {
        "action": "next",
        "user_type": "Certificate Owner",
        "certificate_number": "100004",
        "name_type": "Person",
        **NEWCOMER,
    }
    wrong = post_form(client, "/register", "/register", {**personal, "date_of_birth": WRONG_DOB})
    assert wrong.status_code == 422, text_of(wrong.text)
    step2 = post_form(client, "/register", "/register", personal)
    assert step2.status_code == 200, text_of(step2.text)
    questions = re.findall(r'<option value="([^"]+)"', step2.text)
    fields = {
        "csrf_token": csrf_of(step2.text),
        "action": "next",
        "registration_id": _hidden(step2.text, "registration_id"),
        "user_id": NEWCOMER_USER,
        "password": NEWCOMER_PASSWORD,
        "confirm_password": NEWCOMER_PASSWORD,
    }
    for n, answer in enumerate(ANSWERS, start=1):
        fields[f"question_{n}"] = questions[n - 1]
        fields[f"answer_{n}"] = answer
        CHOSEN[html.unescape(questions[n - 1])] = answer
    step3 = client.post("/register/credentials", data=fields)
    assert step3.status_code == 200, text_of(step3.text)
    done = client.post(
        "/register/preferences",
        data={
            "csrf_token": csrf_of(step3.text),
            "action": "submit",
            "registration_id": _hidden(step3.text, "registration_id"),
            "user_id": NEWCOMER_USER,
            "preferred_language": "English",
            "preferred_date_format": "mm/dd/yyyy",
        },
    )
    assert "Congratulations!" in text_of(done.text), text_of(done.text)


def log_in_wrong_then_right(client: TestClient, user_id: str, password: str) -> None:
    wrong = post_form(
        client, "/login", "/login/password", {"user_id": user_id, "password": WRONG_PASSWORD}
    )
    assert wrong.status_code == 401
    web_log_in(client, user_id, password)
    keep_token(client, f"{user_id} on the pages")


def recover(portal: SecuredPortal, client: TestClient) -> str:
    """Forgot User ID (with the date of birth), then Forgot Your Password with the mailed
    code and the security answer; answers the new password."""
    sent = post_form(
        client,
        "/recovery/user-id",
        "/recovery/user-id",
        {
            "first_name": NEWCOMER["first_name"],
            "last_name": NEWCOMER["last_name"],
            "date_of_birth": NEWCOMER["date_of_birth"],
            "certificate_number": "100004",
        },
    )
    assert sent.status_code == 200, text_of(sent.text)
    step = post_form(client, "/recovery/password", "/recovery/password", {"user_id": NEWCOMER_USER})
    assert step.status_code == 200, text_of(step.text)
    question = _hidden(step.text, "question")
    code = portal.reset_code(NEWCOMER["first_name"])
    ISSUED.append(Needle("the one-time reset code", code, allowed_in=("file mail/",)))
    fields = {
        "csrf_token": csrf_of(step.text),
        "user_id": NEWCOMER_USER,
        "question": question,
        "code": code,
        "answer": "Wrong answer entirely",
        "new_password": NEWCOMER_NEW_PASSWORD,
        "confirm_new_password": NEWCOMER_NEW_PASSWORD,
    }
    refused = client.post("/recovery/password/reset", data=fields)
    assert refused.status_code == 401, text_of(refused.text)
    answer = CHOSEN[html.unescape(question)]
    done = client.post("/recovery/password/reset", data={**fields, "answer": answer})
    assert done.status_code == 200, text_of(done.text)
    return NEWCOMER_NEW_PASSWORD


def read_everything(client: TestClient, number: str) -> None:
    """My Insurance, certificate, benefits, billing, claims and documents pages."""
    insurance = client.get("/my-insurance")
    assert insurance.status_code == 200
    certificate = client.get(f"/certificates/{number}")
    assert certificate.status_code == 200
    for benefit in sorted(
        set(re.findall(rf"/certificates/{number}/benefits/(\w+)", certificate.text))
    ):
        assert client.get(f"/certificates/{number}/benefits/{benefit}").status_code == 200
    assert client.get(f"/certificates/{number}/billing").status_code == 200
    filtered = client.get(
        f"/certificates/{number}/billing",
        params={"from_date": "01/01/2023", "through_date": "12/31/2024"},
    )
    assert filtered.status_code == 200
    claims = client.get("/claims")
    assert claims.status_code == 200
    for claim in sorted(set(re.findall(r'href="/claims/(C\d+)"', claims.text))):
        assert client.get(f"/claims/{claim}").status_code == 200
    documents = client.get("/documents")
    assert documents.status_code == 200
    for document in sorted(
        set(re.findall(r'href="/documents/([0-9a-f-]{36})/pdf"', documents.text))
    )[:3]:
        assert client.get(f"/documents/{document}/pdf").status_code == 200
    assert client.get("/documents/preferences").status_code == 200


def update_profile(client: TestClient) -> None:
    saved = post_form(
        client,
        "/profile",
        "/profile",
        {
            "street_1": "9 Lighthouse Point",
            "city": "Mystic",
            "state": "CT",
            "country": "US",
            "zip_code": "06355",
            "cell": "860-555-0178",
            "preferred_contact_method": "Email",
            "email_1": "taylor@example.com",
        },
    )
    assert saved.status_code == 303, text_of(saved.text)
    prefs = post_form(
        client,
        "/account/preferences",
        "/account/preferences",
        {"preferred_language": "English", "preferred_date_format": "yyyy-mm-dd"},
    )
    assert prefs.status_code == 303, text_of(prefs.text)


def api_flows(client: TestClient) -> None:
    """An owner's program on the JSON API: bearer log-in (wrong, then right), every query,
    a profile update, log-out."""
    wrong = client.post("/api/session", json={"user_id": "demo2", "password": WRONG_PASSWORD})
    assert wrong.status_code == 401
    started = client.post("/api/session", json={"user_id": "demo2", "password": DEMO_PASSWORD})
    assert started.status_code == 201, started.text
    token = started.json()["token"]
    ISSUED.append(Needle("session token (demo2 on the API)", token))
    auth = {"Authorization": f"Bearer {token}"}
    number = DEMO_USERS["demo2"]
    for path in (
        "/api/certificates",
        f"/api/certificates/{number}",
        f"/api/certificates/{number}/billing",
        "/api/claims",
        "/api/documents",
        "/api/documents/preferences",
        "/api/profile",
    ):
        assert client.get(path, headers=auth).status_code == 200, path
    profile = client.get("/api/profile", headers=auth).json()
    contact = dict(profile["contact"])
    contact["phones"] = {**(contact.get("phones") or {}), "home": "413-555-0199"}
    put = client.put("/api/profile", json=contact, headers=auth)
    assert put.status_code == 200, put.text
    assert client.delete("/api/session", headers=auth).status_code == 204


def run_all(portal: SecuredPortal) -> list[Needle]:
    """Every flow, then delivery settled; answers the tokens and code the run issued."""
    ISSUED.clear()
    CHOSEN.clear()
    client = portal.client
    register_newcomer(client)
    log_in_wrong_then_right(client, NEWCOMER_USER, NEWCOMER_PASSWORD)
    read_everything(client, "0000100004")
    update_profile(client)
    assert post_form(client, "/my-insurance", "/logout", {}).status_code == 303
    new_password = recover(portal, client)
    web_log_in(client, NEWCOMER_USER, new_password)
    keep_token(client, "the newcomer after the reset")
    assert post_form(client, "/my-insurance", "/logout", {}).status_code == 303
    demo = portal.client_like()
    log_in_wrong_then_right(demo, "demo", DEMO_PASSWORD)
    read_everything(demo, DEMO_USERS["demo"])
    assert post_form(demo, "/my-insurance", "/logout", {}).status_code == 303
    api_flows(portal.client_like())
    portal.settle()
    return list(ISSUED)
