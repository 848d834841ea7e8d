"""What identity publishes (through the outbox and the relay) and what it consumes."""

import contextlib
import hashlib
import json
import re

from services.identity.consumers import SUBSCRIBED_TOPICS, identity_sink
from services.identity.errors import LoginRefused
from services.identity.integration import to_integration
from shared.contracts import identity as contracts
from shared.contracts.envelope import parse_event
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.messaging.relay import Relay
from tests.unit.test_identity_support import (
    AVERY,
    KEYED_HASH,
    PASSWORD,
    FakeClock,
    ListDeadLetters,
    ListPublisher,
    certificate_issued,
    envelope_of,
    fresh_vault,
    issue,
    make_identity,
    register,
)


def busy_account():
    """An account that has registered, failed, locked, logged in and out, reset, changed
    preferences, and was finally deleted at its owner's request: every kind of event
    identity records."""
    fresh_vault()
    clock = FakeClock()
    app = make_identity(clock)
    issue(app)
    register(app)
    for _ in range(5):
        with contextlib.suppress(LoginRefused):
            app.log_in("avery01", "Wrong-Password-1")
    clock.advance(minutes=15)
    session = app.log_in("avery01", PASSWORD)
    app.change_preferences(
        session.token, preferred_language="Spanish", preferred_date_format="mm/dd/yyyy"
    )
    app.log_out(session.token)
    other = app.log_in("avery01", PASSWORD)
    app.request_password_reset("avery01")
    code = re.findall(r"\b\d{8}\b", app.mail.all()[-1].body or "")[0]
    app.reset_password("avery01", answer="Rex", code=code, new_password="New-Harbor-77")
    last = app.log_in("avery01", "New-Harbor-77")
    app.submit_account_request(last.account_id, "delete")
    return app, [session.token, other.token, last.token], code


async def test_every_contract_is_published_and_private_events_are_not() -> None:
    app, tokens, code = busy_account()
    publisher = ListPublisher()
    relay = Relay(Outbox(app, "identity.events", to_integration), publisher)
    while await relay.run_once():
        pass
    events = [parse_event(r.value)[1] for r in publisher.records]
    kinds = [type(e).__name__ for e in events]
    assert set(kinds) == {c.__name__ for c in contracts.EVENTS}
    # Keyed by the certificate number the account was registered with.
    assert {r.key for r in publisher.records} == {"0000100001"}
    # No LoginFailed, FailuresCleared, RecoveryCodeIssued, claim or session-log entry.
    total = app.recorder.max_notification_id()
    assert len(events) < total
    # Nothing secret travels: no hash, no code, no token (only its digest), no DOB or SSN.
    payloads = b"".join(r.value for r in publisher.records)
    for secret in ("argon2", code, *tokens, PASSWORD, "123-45-6789", "1970-03-14"):
        assert secret.encode() not in payloads
    # Nor the user ID (sealed), the names or the email.
    for personal in ("avery01", "Avery", "avery@example.com"):
        assert personal.encode() not in payloads
    digests = {e.token_digest for e in events if isinstance(e, contracts.SessionStarted)}
    assert digests == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    reasons = [e.reason for e in events if isinstance(e, contracts.SessionEnded)]
    assert reasons == ["logout", "password_changed", "account_closed"]


async def test_identity_consumes_policy_events_once_and_dead_letters_garbage() -> None:
    app = make_identity()
    dead = ListDeadLetters()
    core = ConsumerCore(identity_sink(app.engine, KEYED_HASH), SUBSCRIBED_TOPICS, dead)
    value = envelope_of(certificate_issued(AVERY), AVERY.party_id).to_bytes()
    await core.handle("policy.events", 0, 1, b"{not json", {})
    await core.handle("policy.events", 0, 2, value, {})
    await core.handle("policy.events", 0, 2, value, {})  # redelivered
    await core.handle("policy.events", 1, 7, value, {})  # re-published
    assert (core.applied, core.duplicates, core.dead_lettered) == (1, 2, 1)
    assert app.registry.owner_of("0000100001").party_id == AVERY.party_id
    # The consumer stores no clear personal value from the message.
    stored = json.dumps(app.registry.owner_of("0000100001").__dict__, default=str)
    assert "1970-03-14" not in stored and "123-45-6789" not in stored


def test_a_v1_user_registered_with_a_clear_user_id_still_parses() -> None:
    """UserRegistered v2 seals the user ID; a v1 payload (clear) is upcast as it is."""
    app = make_identity()
    issue(app)
    register(app)
    [record] = [
        r
        for r in Outbox(app, "identity.events", to_integration).read(0)[0]
        if b"UserRegistered" in r.value
    ]
    envelope = json.loads(record.value)
    envelope["schema_version"] = 1
    envelope["data"]["user_id"] = "avery01"
    parsed_envelope, event = parse_event(json.dumps(envelope).encode())
    assert isinstance(event, contracts.UserRegistered)
    assert (parsed_envelope.schema_version, event.user_id) == (2, "avery01")
