"""The composition root on SQLite files (the embedded layout): event store and identity's tables
share one database file, and everything survives a restart."""

import re

from fastapi.testclient import TestClient

from services.identity.api import create_identity_api
from services.identity.main import (
    build_identity,
    identity_consumer,
    identity_mail_dispatcher,
    identity_outbox,
)
from shared.mail import DemoMailbox, MailSettings, free_port
from shared.settings import Settings
from tests.unit.test_identity_support import (
    ANSWERS,
    AVERY,
    CREDENTIALS,
    SECRET,
    certificate_issued,
    envelope_of,
)


def settings_in(tmp_path) -> Settings:
    return Settings(PORTAL_VAR_DIR=tmp_path, PII_HMAC_SECRET=SECRET.hex())


async def test_register_log_in_and_recover_on_sqlite_then_restart(tmp_path) -> None:
    settings = settings_in(tmp_path)
    app = build_identity(settings, credentials=CREDENTIALS)
    assert (tmp_path / "identity.sqlite").exists()

    # Policy's CertificateIssued reaches identity's consumer group.
    consumer = identity_consumer(app, settings)
    assert consumer.topics == ["policy.events"]
    value = envelope_of(certificate_issued(AVERY), AVERY.party_id).to_bytes()
    await consumer.handle("policy.events", 0, 1, value, {})

    # The owner registers and logs in over HTTP.
    client = TestClient(create_identity_api(app))
    personal = {
        "certificate_number": "100001",
        "first_name": "Avery",
        "last_name": "Demo",
        "email": "avery@example.com",
        "date_of_birth": "03/14/1970",
        "government_id": "123-45-6789",
    }
    registration_id = client.post("/registration/personal", json=personal).json()["registration_id"]
    questions = [{"question": q, "answer": a} for q, a in ANSWERS]
    step2 = {
        "registration_id": registration_id,
        "user_id": "avery01",
        "password": "Harbor-Light-42",
        "security_questions": questions,
    }
    assert client.post("/registration/credentials", json=step2).status_code == 200
    step3 = {"registration_id": registration_id}
    assert client.post("/registration/preferences", json=step3).status_code == 201
    login = {"user_id": "avery01", "password": "Harbor-Light-42"}
    assert client.post("/sessions", json=login).status_code == 201
    assert client.post("/recovery/password", json={"user_id": "avery01"}).status_code == 202

    # The relay reads identity.events from the outbox.
    records, _ = identity_outbox(app, settings).read(0)
    assert [r.topic for r in records] == ["identity.events", "identity.events"]
    app.close()

    # Restarted: the account, the registry and the queued mail are all still there.
    app = build_identity(settings, credentials=CREDENTIALS)
    assert app.find_account("avery01") is not None
    assert app.registry.owner_of("0000100001") is not None
    with DemoMailbox(tmp_path / "mail", port=free_port()) as box:
        mail_settings = MailSettings(SMTP_HOST=box.host, SMTP_PORT=box.port)
        assert await identity_mail_dispatcher(app, mail_settings).run_once() == 1
        assert re.search(r"\b\d{8}\b", box.messages()[0].get_content())
    app.close()
