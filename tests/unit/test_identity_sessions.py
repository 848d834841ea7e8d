"""Log-in, sessions and lock-out, against the real application in memory with a moved clock."""

import base64
import hashlib

import pytest
from argon2 import PasswordHasher

from services.identity.credentials import Credentials
from services.identity.errors import LoginRefused, NotAuthenticated
from services.identity.integration import to_integration
from shared.contracts.envelope import Envelope
from shared.messaging.outbox import Outbox
from tests.unit.test_identity_support import (
    PASSWORD,
    FakeClock,
    issue,
    make_identity,
    recorded,
    register,
)

REFUSED = "The user ID or password is incorrect."


def registered(clock: FakeClock | None = None, password: str = PASSWORD):
    app = make_identity(clock)
    issue(app)
    register(app, password=password)
    return app


def published(app, after: int = 0) -> list[Envelope]:
    records, _ = Outbox(app, "identity.events", to_integration).read(after)
    return [Envelope.model_validate_json(r.value) for r in records]


def test_a_log_in_answers_a_256_bit_token_valid_for_8_hours() -> None:
    clock = FakeClock()
    app = registered(clock)
    session = app.log_in("avery01", PASSWORD)
    assert len(base64.urlsafe_b64decode(session.token + "=")) * 8 >= 128
    assert session.expires_at == clock.now.replace(hour=17)
    # The token opens the session, until it expires.
    assert app.authenticate(session.token)[1].user_id == "avery01"
    clock.advance(hours=8)
    with pytest.raises(NotAuthenticated):
        app.authenticate(session.token)


def test_the_user_id_is_not_case_sensitive_at_log_in() -> None:
    app = registered()
    assert app.log_in("  AVERY01 ", PASSWORD).account_id == app.find_account("avery01").id


def test_every_log_in_gets_a_new_token_and_only_its_digest_is_stored() -> None:
    app = registered()
    tokens = {app.log_in("avery01", PASSWORD).token for _ in range(5)}
    assert len(tokens) == 5
    stored = b"".join(n.state for n in app.recorder.select_notifications(start=1, limit=1000))
    for token in tokens:
        assert token.encode() not in stored
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored
    # What is published is the digest too (SessionStarted.token_digest).
    started = [e for e in published(app) if e.event_type == "SessionStarted"]
    assert {e.data["token_digest"] for e in started} == {
        hashlib.sha256(t.encode()).hexdigest() for t in tokens
    }


def test_log_out_revokes_the_token_and_unknown_tokens_are_ignored() -> None:
    app = registered()
    session = app.log_in("avery01", PASSWORD)
    other = app.log_in("avery01", PASSWORD)
    app.log_out(session.token)
    with pytest.raises(NotAuthenticated):
        app.authenticate(session.token)
    assert app.authenticate(other.token)  # another device stays signed in
    ended = [e for e in published(app) if e.event_type == "SessionEnded"]
    assert [(e.data["session_id"], e.data["reason"]) for e in ended] == [
        (str(session.session_id), "logout")
    ]
    # Logging out twice, or with a token nobody issued, records nothing.
    before = recorded(app)
    app.log_out(session.token)
    app.log_out("never-issued")
    assert recorded(app) == before


def test_a_log_in_presenting_the_previous_token_ends_it_as_rotated() -> None:
    app = registered()
    first = app.log_in("avery01", PASSWORD)
    second = app.log_in("avery01", PASSWORD, previous_token=first.token)
    with pytest.raises(NotAuthenticated):
        app.authenticate(first.token)
    assert app.authenticate(second.token)
    ended = [e for e in published(app) if e.event_type == "SessionEnded"]
    assert [e.data["reason"] for e in ended] == ["rotated"]


def test_unknown_user_and_wrong_password_are_refused_alike() -> None:
    app = registered()
    with pytest.raises(LoginRefused) as unknown:
        app.log_in("nobody", PASSWORD)
    with pytest.raises(LoginRefused) as wrong:
        app.log_in("avery01", "Wrong-Password-1")
    assert str(unknown.value) == str(wrong.value) == REFUSED


def test_five_failures_in_a_row_lock_the_account_for_15_minutes() -> None:
    clock = FakeClock()
    app = registered(clock)
    # Five wrong passwords in a row.
    for _ in range(5):
        with pytest.raises(LoginRefused):
            app.log_in("avery01", "Wrong-Password-1")
    locked = [e for e in published(app) if e.event_type == "AccountLocked"]
    assert len(locked) == 1
    # While locked, even the right password gets the same answer as a wrong one.
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(LoginRefused) as refused:
        app.log_in("avery01", PASSWORD)
    assert str(refused.value) == REFUSED
    # 15 minutes after the lock, the right password works again.
    clock.advance(seconds=1)
    assert app.log_in("avery01", PASSWORD).token
    # The owner was told by email, without any secret in it.
    mail = app.mail.all()[-1]
    assert "locked" in mail.subject and mail.recipient == "avery@example.com"
    assert PASSWORD not in (mail.body or "")


def test_attempts_while_locked_are_not_recorded() -> None:
    app = registered()
    for _ in range(5):
        with pytest.raises(LoginRefused):
            app.log_in("avery01", "Wrong-Password-1")
    before = recorded(app)
    for _ in range(20):
        with pytest.raises(LoginRefused):
            app.log_in("avery01", "Wrong-Password-1")
    assert recorded(app) == before


def test_a_successful_log_in_ends_the_failure_streak() -> None:
    app = registered()
    for _ in range(4):
        with pytest.raises(LoginRefused):
            app.log_in("avery01", "Wrong-Password-1")
    app.log_in("avery01", PASSWORD)
    for _ in range(4):
        with pytest.raises(LoginRefused):
            app.log_in("avery01", "Wrong-Password-1")
    assert app.log_in("avery01", PASSWORD).token  # never 5 in a row: not locked


def test_a_long_password_is_accepted_and_never_truncated() -> None:
    long_password = "Tide-" + "harbor" * 20 + "-42"  # 128 characters
    assert len(long_password) == 128
    app = registered(password=long_password)
    assert app.log_in("avery01", long_password).token
    # The same password with character 70 changed does not open the account.
    altered = long_password[:69] + ("X" if long_password[69] != "X" else "Y") + long_password[70:]
    with pytest.raises(LoginRefused):
        app.log_in("avery01", altered)


def test_log_ins_do_not_grow_the_account_history() -> None:
    app = registered()
    account_version = app.find_account("avery01").version
    for _ in range(30):
        app.log_in("avery01", PASSWORD)
    # Each session is its own aggregate; the account is untouched by successful log-ins.
    assert app.find_account("avery01").version == account_version


def test_an_account_under_a_long_attack_is_loaded_from_a_snapshot() -> None:
    clock = FakeClock()
    app = registered(clock)
    for _ in range(12):  # 12 lock cycles: 72 events
        for _ in range(5):
            with pytest.raises(LoginRefused):
                app.log_in("avery01", "Wrong-Password-1")
        clock.advance(minutes=15)
    account = app.find_account("avery01")
    assert account.version > 50
    assert app.snapshots is not None and list(app.snapshots.get(account.id))
    # Loaded from its snapshot, the account still knows its password and its (expired) lock.
    assert app.log_in("avery01", PASSWORD).token


def test_a_hash_with_outdated_parameters_is_upgraded_at_log_in() -> None:
    app = registered()
    old_hash = app.find_account("avery01").password_hash
    app.credentials = Credentials(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    app.log_in("avery01", PASSWORD)
    new_hash = app.find_account("avery01").password_hash
    assert new_hash != old_hash and "t=2" in new_hash
    assert app.log_in("avery01", PASSWORD).token


def test_a_session_token_changes_the_preferences() -> None:
    app = registered()
    session = app.log_in("avery01", PASSWORD)
    account = app.change_preferences(
        session.token, preferred_language="Spanish", preferred_date_format="yyyy-mm-dd"
    )
    assert (account.preferred_language, account.preferred_date_format) == (
        "Spanish",
        "yyyy-mm-dd",
    )
    assert published(app)[-1].event_type == "PreferencesChanged"
    with pytest.raises(NotAuthenticated):
        app.change_preferences(
            "forged", preferred_language="English", preferred_date_format="mm/dd/yyyy"
        )
