"""Register Now (three steps), Forgot User ID, Forgot Your Password and Language and Date
Format, through the pages, without a browser."""

from __future__ import annotations

import re
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from services.portal.demo import DEMO_PASSWORD
from services.portal.demo_newcomer import NEWCOMER
from tests.web_client import csrf_of, post_form, text_of, web_log_in, web_portal

pytestmark = pytest.mark.embedded

NEW_USER = "taylor.sample"
NEW_PASSWORD = "Harbor-Light-93!"
NOT_MATCHING = "The information entered does not match our records for this certificate."


def personal(**changes: str) -> dict[str, str]:
    return {
        "action": "next",
        "user_type": "Certificate Owner",
        "certificate_number": "100004",  # the page (and identity) pad it to 0000100004
        "name_type": "Person",
        **NEWCOMER,
        **changes,
    }


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


def current_step(html: str) -> str:
    match = re.search(r'<li aria-current="step">([^<]+)</li>', html)
    assert match, "no current step"
    return match.group(1).replace("&amp;", "&")


def credentials(html: str, **changes: str) -> dict[str, str]:
    questions = re.findall(r'<option value="([^"]+)"', html)
    return {
        "csrf_token": csrf_of(html),
        "action": "next",
        "registration_id": hidden(html, "registration_id"),
        "user_id": NEW_USER,
        "password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
        "question_1": questions[0],
        "answer_1": "Biscuit",
        "question_2": questions[1],
        "answer_2": "Volvo",
        "question_3": questions[2],
        "answer_3": "Elm Street",
        **changes,
    }


def mail_text(var_dir: Path, containing: str, timeout: float = 15.0) -> str:
    """The body of the newest demo-mailbox message whose text contains `containing`."""
    deadline = time.monotonic() + timeout
    parser = BytesParser(policy=policy.default)
    while time.monotonic() < deadline:
        for path in sorted((var_dir / "mail").glob("*.eml"), reverse=True):
            body = parser.parsebytes(path.read_bytes()).get_body(("plain",)).get_content()
            if containing in body:
                return body
        time.sleep(0.2)
    raise AssertionError(f"no mail containing {containing!r}")


def test_register_in_three_steps_with_previous_then_log_in(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        start = client.get("/register")
        assert start.status_code == 200
        page = text_of(start.text)
        assert "Register Now" in page and current_step(start.text) == "Personal Information"
        for label in ("User Type(s)", "Certificate/Policy Number", "Name Type", "First Name",
                      "Last Name", "Email Address", "Date of Birth (mm/dd/yyyy)",
                      "Government ID (xxx-xx-xxxx)"):  # fmt: skip
            assert label in page
        # Step 1 → step 2: the draft travels in a hidden field, not the URL.
        step2 = post_form(client, "/register", "/register", personal())
        assert step2.status_code == 200, text_of(step2.text)
        assert current_step(step2.text) == "Login & Security Information"
        assert "Must be at least 8 characters" in text_of(step2.text)
        assert NEWCOMER["government_id"] not in step2.text
        # The confirmation must equal the password (checked by the page).
        mismatch = client.post(
            "/register/credentials", data=credentials(step2.text, confirm_password="Other-1!")
        )
        assert mismatch.status_code == 422
        assert re.search(r'id="confirm_password-error">The passwords do not match\.', mismatch.text)
        assert NEW_PASSWORD not in mismatch.text
        # Identity wants three different questions.
        same = credentials(step2.text)
        same["question_2"] = same["question_1"]
        refused = client.post("/register/credentials", data=same)
        assert refused.status_code == 422
        assert "Choose 3 different security questions." in text_of(refused.text)
        step3 = client.post("/register/credentials", data=credentials(step2.text))
        assert step3.status_code == 200, text_of(step3.text)
        assert current_step(step3.text) == "Preference Information"
        # Previous shows step 2 again on the same draft; Next again comes back to step 3.
        registration_id = hidden(step3.text, "registration_id")
        back = client.post(
            "/register/preferences",
            data={
                "csrf_token": csrf_of(step3.text),
                "action": "previous",
                "registration_id": registration_id,
                "user_id": NEW_USER,
            },
        )
        assert current_step(back.text) == "Login & Security Information"
        assert hidden(back.text, "registration_id") == registration_id
        assert f'value="{NEW_USER}"' in back.text
        again = client.post("/register/credentials", data=credentials(back.text))
        assert current_step(again.text) == "Preference Information"
        done = client.post(
            "/register/preferences",
            data={
                "csrf_token": csrf_of(again.text),
                "action": "submit",
                "registration_id": registration_id,
                "user_id": NEW_USER,
                "preferred_language": "English",
                "preferred_date_format": "dd/mm/yyyy",
            },
        )
        assert done.status_code == 200
        assert "Congratulations!" in text_of(done.text)
        assert "Your registration is complete" in text_of(done.text)
        assert 'href="/login">Log In</a>' in done.text
        # The new user logs in; her pages use the date format she chose.
        web_log_in(client, NEW_USER, NEW_PASSWORD)
        account = client.get("/account/preferences")
        assert account.status_code == 200
        assert re.search(r'<span id="today">\d{2}/\d{2}/\d{4}</span>', account.text)
        assert '<option value="dd/mm/yyyy" selected>' in account.text


def test_a_wrong_date_of_birth_gives_one_message_and_no_personal_data_back(
    tmp_path: Path,
) -> None:
    with web_portal(tmp_path) as client:
        wrong = post_form(client, "/register", "/register", personal(date_of_birth="07/16/1990"))
        assert wrong.status_code == 422
        assert text_of(wrong.text).count(NOT_MATCHING) == 1
        assert current_step(wrong.text) == "Personal Information"
        assert 'value="Taylor"' in wrong.text and 'value="taylor@example.com"' in wrong.text
        assert "07/16/1990" not in wrong.text and NEWCOMER["government_id"] not in wrong.text
        # A badly written date is shown next to its field; blanks are asked for.
        bad = post_form(
            client, "/register", "/register", personal(date_of_birth="1990", government_id="")
        )
        assert bad.status_code == 422
        assert 'id="government_id-error">Enter your government ID' in bad.text
        # Cancel, from any step, ends on its own page.
        cancel = post_form(client, "/register", "/register", {"action": "cancel"})
        assert cancel.status_code == 303 and cancel.headers["location"] == "/register/cancelled"
        page = text_of(client.get("/register/cancelled").text)
        assert "Your registration was cancelled." in page and "Register" in page
        # Previous from step 2 is step 1 again, empty.
        back = post_form(client, "/register", "/register/credentials", {"action": "previous"})
        assert current_step(back.text) == "Personal Information"
        assert 'value="Taylor"' not in back.text
        # An unknown (or expired) draft starts again at step 1, saying so.
        step2 = post_form(client, "/register", "/register", personal())
        unknown = client.post(
            "/register/credentials", data=credentials(step2.text, registration_id="no-such")
        )
        assert unknown.status_code == 404
        assert current_step(unknown.text) == "Personal Information"
        assert "This registration has expired or does not exist." in text_of(unknown.text)


def test_forgot_user_id_answers_the_same_and_mails_the_user_id(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        blank = post_form(client, "/recovery/user-id", "/recovery/user-id", {"first_name": "A"})
        assert blank.status_code == 422
        assert 'id="email-error">Enter your email address or a certificate' in blank.text
        sent = post_form(
            client,
            "/recovery/user-id",
            "/recovery/user-id",
            {"first_name": "Avery", "last_name": "Demo", "date_of_birth": "11/01/1983",
             "certificate_number": "100001"},
        )  # fmt: skip
        assert sent.status_code == 200
        answer = "If the information entered matches our records, we have sent your user ID"
        assert answer in text_of(sent.text)
        assert "11/01/1983" not in sent.text
        assert re.search(r"It is:\s+demo\s", mail_text(tmp_path, "user ID. It is"))


def test_forgot_your_password_with_the_mailed_code_then_log_in(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        step = post_form(client, "/recovery/password", "/recovery/password", {"user_id": "demo2"})
        assert step.status_code == 200
        page = text_of(step.text)
        assert "What was the name of your first pet?" in page and "One-Time Code" in page
        code = re.search(r"\b(\d{8})\b", mail_text(tmp_path, "one-time code")).group(1)
        fields = {
            "csrf_token": csrf_of(step.text),
            "user_id": "demo2",
            "question": hidden(step.text, "question"),
            "code": code,
            "answer": "wrong",
            "new_password": "Quiet-Harbor-58!",
            "confirm_new_password": "Quiet-Harbor-58!",
        }
        wrong = client.post("/recovery/password/reset", data=fields)
        assert wrong.status_code == 401
        assert "The answer or the code is not correct" in text_of(wrong.text)
        weak = client.post(
            "/recovery/password/reset",
            data={**fields, "answer": "demo", "new_password": "short",
                  "confirm_new_password": "short"},
        )  # fmt: skip
        assert weak.status_code == 422
        assert 'id="new_password-error">The password must be at least 8' in weak.text
        done = client.post("/recovery/password/reset", data={**fields, "answer": "demo"})
        assert done.status_code == 200, text_of(done.text)
        assert "Your password has been changed." in text_of(done.text)
        web_log_in(client, "demo2", "Quiet-Harbor-58!")


def test_language_and_date_format_change_shows_dates_in_the_new_format(
    tmp_path: Path,
) -> None:
    with web_portal(tmp_path) as client:
        assert client.get("/account/preferences").headers["location"].startswith("/login")
        web_log_in(client, "demo", DEMO_PASSWORD)
        before = client.get("/account/preferences")
        assert "Language and Date Format" in text_of(before.text)
        month, day, year = re.search(
            r'<span id="today">(\d{2})/(\d{2})/(\d{4})</span>', before.text
        ).groups()
        saved = post_form(
            client,
            "/account/preferences",
            "/account/preferences",
            {"preferred_language": "English", "preferred_date_format": "dd/mm/yyyy"},
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/account/preferences?done=saved"
        after = client.get(saved.headers["location"])
        assert "Your preferences were saved." in text_of(after.text)
        assert f'<span id="today">{day}/{month}/{year}</span>' in after.text
        bad = post_form(
            client,
            "/account/preferences",
            "/account/preferences",
            {"preferred_language": "Klingon", "preferred_date_format": "dd/mm/yyyy"},
        )
        assert bad.status_code == 422
        assert 'id="preferred_language-error">Choose English or Spanish.' in bad.text
