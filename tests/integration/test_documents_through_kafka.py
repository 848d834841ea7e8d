"""Documents on the real broker and PostgreSQL: a certificate becomes a PDF in the owner's
inbox; a letter for Portal delivery sends one notification email — once, even when the event
that caused it is delivered twice; the guide's preference rules refuse and change nothing."""

from __future__ import annotations

import asyncio
from datetime import date

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy.orm import Session

from services.documents.api import create_documents_api
from services.documents.main import (
    build_documents,
    documents_consumer,
    documents_mail_dispatcher,
    documents_outbox,
)
from services.policy.main import policy_outbox
from services.portal.queries import inbox
from shared.mail import MailSettings, free_port
from shared.messaging.kafka import KafkaPublisher
from shared.runtime import run_consumer, run_relay
from tests.factories import certificate_body, party_id
from tests.integration.conftest import Stack, eventually

pytestmark = pytest.mark.integration


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:
        self.messages.append(message)


async def test_certificate_pdf_letter_notification_once_and_preference_rules(stack: Stack):
    smtp = Inbox()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    documents = build_documents(stack.settings)
    bootstrap = stack.settings.kafka_bootstrap_servers
    mail = MailSettings(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    docs_core = documents_consumer(documents, stack.settings)
    stack.start_relays()
    stack.start_consumer("billing")
    portal_core = stack.start_consumer("portal")
    outbox = documents_outbox(documents, stack.settings)
    group = stack.settings.topic("documents")
    stack.start("documents-relay", lambda stop: run_relay(outbox, bootstrap, stop))
    stack.start("documents", lambda stop: run_consumer(docs_core, bootstrap, group, stop))
    stack.start("documents-mailer", documents_mail_dispatcher(documents, mail).run_forever)
    owner = party_id("avery")
    api = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_documents_api(documents, documents.content_store)),
        base_url="http://documents",
    )
    try:
        response = await stack.policy_api.post("/certificates", json=certificate_body("0000400001"))
        assert response.status_code == 201, response.text

        # The certificate PDF reaches the owner's inbox, unopened.
        def certificate_in_inbox():
            with Session(stack.read_engine) as s:
                found = inbox(s, owner, document_type="certificate")
            return found.items[0] if found.total else None

        document = await eventually(certificate_in_inbox)
        assert document.unopened and document.delivery_method == "Mail"

        # Preference rules: Portal without an email, or EOB on the portal, change nothing.
        url = "/certificates/0000400001/preferences"

        async def choose(document_type: str, method: str, emails: list[str]) -> httpx.Response:
            selection = {"document_type": document_type, "method": method, "emails": emails}
            return await api.put(url, json={"owner_party_id": owner, "preferences": [selection]})

        assert (await choose("letter", "Portal", [])).status_code == 422
        eob = await choose("eob", "Portal", ["a@example.com"])
        assert eob.status_code == 422 and "EOB" in eob.json()["detail"]
        current = await api.get(url, params={"owner_party_id": owner})
        assert {p["method"] for p in current.json()["preferences"]} == {"Mail"}
        chosen = await choose("letter", "Portal", ["avery@example.com"])
        assert chosen.status_code == 200, chosen.text

        # A contact change → a confirmation letter on the portal → one notification email.
        contact = {
            "address": {"street": ["1 Dock St"], "city": "Mystic", "state": "CT",
                        "zip_code": "06355"},
            "emails": ["avery@example.com"],
        }  # fmt: skip
        changed = await stack.policy_api.put(f"/parties/{owner}/contact", json=contact)
        assert changed.status_code == 200, changed.text
        await eventually(lambda: len(smtp.messages) == 1)

        # The same policy events delivered again (a relay that re-published after a crash).
        republisher = KafkaPublisher(bootstrap)
        await republisher.start()
        records, _ = policy_outbox(stack.policy, stack.settings).read(0)
        await republisher.publish(records)
        await republisher.stop()
        await eventually(lambda: docs_core.duplicates >= len(records))
        await eventually(lambda: portal_core.duplicates >= len(records))
        await asyncio.sleep(1.5)  # give a wrong second email every chance to arrive
        assert len(smtp.messages) == 1
        assert not any(part.get_filename() for part in smtp.messages[0].walk())
        with Session(stack.read_engine) as s:
            letters = inbox(s, owner, document_type="letter")
        assert letters.total == 1
        assert letters.items[0].created_on <= date.today()
    finally:
        await api.aclose()
        for name in ("documents-mailer", "documents", "documents-relay"):
            await stack.stop(name)
        documents.close()
        controller.stop()
