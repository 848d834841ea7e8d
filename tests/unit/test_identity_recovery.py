"""Forgot User ID and Forgot Your Password, with the mail delivered by a real (in-process) SMTP
server: what arrives, what never does, and what an unknown user ID learns."""

import re
from collections.abc import Iterator
from datetime import date

import pytest

from services.identity.credentials import SECURITY_QUESTIONS
from services.identity.errors import LoginRefused, NotAuthenticated, PasswordRejected
from services.identity.errors import RecoveryRefused as Refused
from services.identity.integration import to_integration
from services.identity.main import identity_mail_dispatcher
from shared.contracts.envelope import Envelope
from shared.mail import DemoMailbox, MailSettings, free_port
from shared.messaging.outbox import Outbox
from tests.unit.test_identity_support import (
    ANSWERS,
    AVERY,
    PASSWORD,
    FakeClock,
    OwnerData,
    issue,
    make_identity,
    recorded,
    register,
)

SECRETS_OF_AVERY = ("123-45-6789", "123456789", "1970-03-14", "03/14/1970", PASSWORD)


@pytest.fixture
def mailbox(tmp_path) -> Iterator[DemoMailbox]:
    with DemoMailbox(tmp_path / "mail", port=free_port()) as box:
        yield box


def dispatcher(app, mailbox: DemoMailbox):
    settings = MailSettings(SMTP_HOST=mailbox.host, SMTP_PORT=mailbox.port)
    return identity_mail_dispatcher(app, settings)


def code_in(text: str) -> str:
    match = re.search(r"\b(\d{8})\b", text)
    assert match, "an 8-digit code"
    return match.group(1)


def latest_code(app) -> str:
    """The code of the last reset mail (read from the outbox, before it is sent)."""
    return code_in(app.mail.all()[-1].body or "")


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS_OF_AVERY:
        assert secret not in text


def published_types(app) -> list[str]:
    records, _ = Outbox(app, "identity.events", to_integration).read(0)
    return [Envelope.model_validate_json(r.value).event_type for r in records]


# --- Forgot User ID ---------------------------------------------------------------------


async def test_forgot_user_id_sends_the_user_id_to_the_email_on_file(mailbox) -> None:
    app = make_identity()
    issue(app)
    register(app)
    # Name, date of birth and the email address.
    sent = app.recover_user_id(
        first_name="avery",
        last_name="DEMO",
        date_of_birth=date(1970, 3, 14),
        email="Avery@Example.com",
    )
    assert sent == 1
    assert await dispatcher(app, mailbox).run_once() == 1

    [message] = mailbox.messages()
    assert message["To"] == "avery@example.com"
    body = message.get_content()
    assert "avery01" in body
    assert_no_secrets(message.as_string())


async def test_forgot_user_id_by_certificate_number(mailbox) -> None:
    app = make_identity()
    issue(app)
    register(app)
    sent = app.recover_user_id(
        first_name="Avery",
        last_name="Demo",
        date_of_birth=date(1970, 3, 14),
        certificate_number="0000100001",
    )
    assert sent == 1
    await dispatcher(app, mailbox).run_once()
    assert "avery01" in mailbox.messages()[0].get_content()


@pytest.mark.parametrize(
    "attempt",
    [
        {"date_of_birth": date(1970, 3, 15), "email": "avery@example.com"},
        {"last_name": "Other", "email": "avery@example.com"},
        {"email": "someone.else@example.com"},
        {"certificate_number": "0000100002"},
    ],
    ids=["wrong-dob", "wrong-name", "other-email", "other-certificate"],
)
async def test_forgot_user_id_sends_nothing_when_nothing_matches(mailbox, attempt) -> None:
    app = make_identity()
    issue(app)
    register(app)
    values = {"first_name": "Avery", "last_name": "Demo", "date_of_birth": date(1970, 3, 14)}
    values.update(attempt)
    assert app.recover_user_id(**values) == 0
    assert await dispatcher(app, mailbox).run_once() == 0
    assert mailbox.messages() == []


def test_forgot_user_id_of_an_owner_not_registered_sends_nothing() -> None:
    app = make_identity()
    issue(app)
    assert (
        app.recover_user_id(
            first_name="Avery",
            last_name="Demo",
            date_of_birth=date(1970, 3, 14),
            email="avery@example.com",
        )
        == 0
    )
    assert app.mail.all() == []


def test_a_second_user_id_mail_waits_a_minute() -> None:
    clock = FakeClock()
    app = make_identity(clock)
    issue(app)
    register(app)
    ask = {
        "first_name": "Avery",
        "last_name": "Demo",
        "date_of_birth": date(1970, 3, 14),
        "certificate_number": "0000100001",
    }
    assert [app.recover_user_id(**ask), app.recover_user_id(**ask)] == [1, 0]
    clock.advance(seconds=60)
    assert app.recover_user_id(**ask) == 1


# --- Forgot Your Password ---------------------------------------------------------------


async def test_forgot_password_resets_it_and_ends_every_session(mailbox) -> None:
    app = make_identity()
    issue(app)
    register(app)
    sessions = [app.log_in("avery01", PASSWORD) for _ in range(2)]

    # Step 1: the first security question, and a code by email.
    assert app.request_password_reset("avery01") == ANSWERS[0][0]
    await dispatcher(app, mailbox).run_once()
    [mail] = mailbox.messages()
    assert mail["To"] == "avery@example.com"
    code = code_in(mail.get_content())
    assert_no_secrets(mail.as_string())
    assert all(code not in (m.body or "") for m in app.mail.all())  # erased once sent

    # Step 2: the answer (spaces and case do not matter), the code, a new password.
    app.reset_password("avery01", answer="  rex ", code=code, new_password="New-Harbor-77")

    # Every session has ended; the old password no longer works, the new one does.
    for session in sessions:
        with pytest.raises(NotAuthenticated):
            app.authenticate(session.token)
    with pytest.raises(LoginRefused):
        app.log_in("avery01", PASSWORD)
    assert app.log_in("avery01", "New-Harbor-77").token
    types = published_types(app)
    assert types.count("PasswordChanged") == 1
    records, _ = Outbox(app, "identity.events", to_integration).read(0)
    reasons = [
        Envelope.model_validate_json(r.value).data.get("reason")
        for r in records
        if b'"SessionEnded"' in r.value
    ]
    assert reasons == ["password_changed", "password_changed"]

    # The owner is told, and the code cannot be used twice.
    await dispatcher(app, mailbox).run_once()
    assert "password was changed" in mailbox.messages()[-1]["Subject"]
    with pytest.raises(Refused):
        app.reset_password("avery01", answer="Rex", code=code, new_password="Other-Harbor-88")


@pytest.mark.parametrize(("answer", "good_code"), [("Rex", False), ("Fido", True), ("Fido", False)])
def test_a_wrong_code_or_answer_gets_one_answer(answer: str, good_code: bool) -> None:
    app = make_identity()
    issue(app)
    register(app)
    app.request_password_reset("avery01")
    code = latest_code(app) if good_code else "00000000"
    with pytest.raises(Refused) as refused:
        app.reset_password("avery01", answer=answer, code=code, new_password="New-Harbor-77")
    assert "answer or the code is not correct" in str(refused.value)
    assert app.log_in("avery01", PASSWORD).token  # unchanged


def test_a_code_dies_after_5_wrong_attempts() -> None:
    app = make_identity()
    issue(app)
    register(app)
    app.request_password_reset("avery01")
    code = latest_code(app)
    for _ in range(5):
        with pytest.raises(Refused):
            app.reset_password("avery01", answer="Rex", code="11111111", new_password="New-Harb-7")
    with pytest.raises(Refused):
        app.reset_password("avery01", answer="Rex", code=code, new_password="New-Harbor-77")


def test_a_code_expires_after_15_minutes() -> None:
    clock = FakeClock()
    app = make_identity(clock)
    issue(app)
    register(app)
    app.request_password_reset("avery01")
    code = latest_code(app)
    clock.advance(minutes=15)
    with pytest.raises(Refused):
        app.reset_password("avery01", answer="Rex", code=code, new_password="New-Harbor-77")


def test_an_unknown_user_id_gets_a_steady_plausible_question_and_no_mail() -> None:
    app = make_identity()
    issue(app)
    register(app)
    before = recorded(app)
    question = app.request_password_reset("nobody-here")
    assert question in SECURITY_QUESTIONS
    assert app.request_password_reset("NOBODY-HERE") == question  # the same every time
    assert len({app.request_password_reset(f"ghost{i}") for i in range(40)}) > 1
    assert app.mail.all() == [] and recorded(app) == before
    with pytest.raises(Refused):
        app.reset_password("nobody-here", answer="Rex", code="12345678", new_password="New-Hb-77")


def test_a_new_password_must_not_be_one_of_the_last_5() -> None:
    clock = FakeClock()
    app = make_identity(clock)
    issue(app)
    register(app, password="First-Pass-01")

    def reset(new_password: str) -> None:
        clock.advance(seconds=61)
        app.request_password_reset("avery01")
        app.reset_password(
            "avery01", answer="Rex", code=latest_code(app), new_password=new_password
        )

    for n in range(2, 6):  # the 2nd to the 5th password
        reset(f"Pass-Number-{n:02d}")
    # The last 5 are First-Pass-01 and Pass-Number-02 … 05: each refused on reset.
    for old in ("First-Pass-01", "Pass-Number-03", "Pass-Number-05"):
        with pytest.raises(PasswordRejected) as refused:
            reset(old)
        assert "last 5 passwords" in str(refused.value)
        assert refused.value.field == "new_password"
    reset("Pass-Number-06")
    reset("First-Pass-01")  # now the 6th most recent: allowed again
    assert app.log_in("avery01", "First-Pass-01").token


def test_a_refused_new_password_does_not_use_up_the_code() -> None:
    app = make_identity()
    issue(app)
    register(app)
    app.request_password_reset("avery01")
    code = latest_code(app)
    with pytest.raises(PasswordRejected):
        app.reset_password("avery01", answer="Rex", code=code, new_password="Password123!")
    app.reset_password("avery01", answer="Rex", code=code, new_password="New-Harbor-77")


def test_a_reset_unlocks_a_locked_account() -> None:
    app = make_identity()
    issue(app)
    register(app)
    for _ in range(5):
        with pytest.raises(LoginRefused):
            app.log_in("avery01", "Wrong-Password-1")
    app.request_password_reset("avery01")
    app.reset_password("avery01", answer="Rex", code=latest_code(app), new_password="New-Harb-77")
    assert app.log_in("avery01", "New-Harb-77").token


def test_two_owners_with_one_email_each_get_their_own_user_id() -> None:
    app = make_identity()
    blake = OwnerData(
        certificate_number="0000100002", first_name="Blake", emails=("b@example.com",)
    )
    for owner, user_id in ((AVERY, "avery01"), (blake, "blake01")):
        issue(app, owner)
        register(app, owner, user_id=user_id)
    app.recover_user_id(
        first_name="Blake",
        last_name="Demo",
        date_of_birth=date(1970, 3, 14),
        email="b@example.com",
    )
    [mail] = app.mail.all()
    assert mail.recipient == "b@example.com" and "blake01" in (mail.body or "")
