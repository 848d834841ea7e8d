"""eDelivery notification emails through a real in-process SMTP server (aiosmtpd): one email
per Portal document even when its trigger is delivered twice, never with the document
attached, retried while the server is away, and the outcome recorded on the document."""

import asyncio
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiosmtpd.controller import Controller

from services.documents.application import Selection
from services.documents.main import documents_mail_dispatcher
from services.documents.notifications import DocumentsMailer
from shared.mail import DemoMailbox, MailSettings, free_port
from tests.unit.test_documents_support import (
    AVERY,
    FakeClock,
    Upstream,
    documents,
    make_documents,
    of_type,
)

PORTAL = [Selection("all", "Portal", ("avery@example.com",))]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(clock):
    app = make_documents(clock)
    await Upstream(app).issue(AVERY)  # Mail: Avery had no preference yet
    return app


@pytest.fixture
def mailbox(tmp_path) -> Iterator[DemoMailbox]:
    with DemoMailbox(tmp_path / "mail", port=free_port()) as box:
        yield box


def mailer(app, port: int) -> DocumentsMailer:
    return documents_mail_dispatcher(app, MailSettings(SMTP_HOST="127.0.0.1", SMTP_PORT=port))


@contextmanager
def serve(handler) -> Iterator[Controller]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


class RefusingServer:
    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        return "550 5.1.1 No such mailbox"


async def test_a_portal_letter_is_notified_exactly_once_without_attachment(app, mailbox) -> None:
    # Avery chooses Portal for everything.
    app.set_preferences("0000100001", AVERY.party_id, PORTAL)

    # Policy's contact change reaches documents twice (a relay re-published it).
    upstream = Upstream(app)
    upstream.offset = 1
    envelope = await upstream.update_contact(AVERY)
    await upstream.deliver(envelope)
    letter = documents(app)[-1]
    assert (letter.document_type, letter.delivery_method) == ("letter", "Portal")
    assert len(documents(app)) == 2  # the certificate and one letter
    assert len(of_type(app, "DocumentMailed")) == 1  # the certificate only

    # The mailer runs (again and again): one email.
    send = mailer(app, mailbox.port)
    assert await send.run_once() == 1
    assert await send.run_once() == 0
    app.queue_notifications()
    assert await send.run_once() == 0
    [message] = mailbox.messages()

    # To the preference's address, about the document, never with the document itself.
    assert message["To"] == "avery@example.com"
    assert message["Subject"] == "A new document is available in your Harborview Mutual portal"
    key = hashlib.sha256(f"documents:{letter.id}:0".encode()).hexdigest()[:32]
    assert message["Message-ID"] == f"<{key}@harborview.example>"
    assert not message.is_multipart() and list(message.iter_attachments()) == []
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert "Hello Avery" in body and "Letter" in body and "ending in 0001" in body
    assert "http://127.0.0.1:8000/documents" in body
    assert "0000100001" not in body and "Demo" not in body and "%PDF" not in body

    # The outcome is recorded on the document, and published once.
    assert app.repository.get(letter.id).notification == "sent"
    [sent] = of_type(app, "NotificationSent")
    assert sent["document_id"] == str(letter.id) and sent["recipients"] == 1


async def test_a_server_that_is_down_is_retried_and_the_email_sent_once(
    app, clock, tmp_path
) -> None:
    app.set_preferences("0000100001", AVERY.party_id, PORTAL)
    letter = app.generate_letter("0000100001", description="Your letter", paragraphs=["x"])
    port = free_port()
    send = mailer(app, port)

    # Nobody listens: the attempt fails, nothing is recorded on the document yet.
    assert await send.run_once() == 0
    [mail] = app.mail.all()
    assert mail.attempts == 1 and mail.last_error == "ConnectionRefusedError"
    assert app.repository.get(letter.id).notification is None

    # The server comes up; at the next due time the email goes, once.
    with DemoMailbox(tmp_path / "mail", port=port) as box:
        assert await send.run_once() == 0  # not due yet
        clock.advance(seconds=10)
        assert await send.run_once() == 1
        clock.advance(hours=2)
        assert await send.run_once() == 0
        assert len(box.messages()) == 1
    assert app.repository.get(letter.id).notification == "sent"
    [sent] = of_type(app, "NotificationSent")
    assert sent["recipients"] == 1


async def test_a_refused_address_records_notification_failed(app) -> None:
    app.set_preferences("0000100001", AVERY.party_id, PORTAL)
    letter = app.generate_letter("0000100001", description="Your letter", paragraphs=["x"])
    with serve(RefusingServer()) as controller:
        assert await mailer(app, controller.port).run_once() == 0
    document = app.repository.get(letter.id)
    assert document.notification == "failed"
    assert of_type(app, "NotificationSent") == []  # NotificationFailed stays private
    failed = [e for e in app.events.get(letter.id) if type(e).__name__ == "NotificationFailed"]
    assert failed[0].attempts == 1 and "550" in failed[0].error


async def test_every_address_gets_its_own_email_and_the_outcome_counts_them(app, mailbox) -> None:
    emails = ("avery@example.com", "avery.work@example.com")
    app.set_preferences("0000100001", AVERY.party_id, [Selection("letter", "Portal", emails)])
    letter = app.generate_letter("0000100001", description="Your letter", paragraphs=["x"])

    assert await mailer(app, mailbox.port).run_once() == 2
    assert sorted(m["To"] for m in mailbox.messages()) == sorted(emails)  # one each
    [sent] = of_type(app, "NotificationSent")
    assert sent["document_id"] == str(letter.id) and sent["recipients"] == 2


async def test_mail_delivery_sends_no_email(app, mailbox) -> None:
    app.generate_letter("0000100001", description="Your letter", paragraphs=["x"])
    assert await mailer(app, mailbox.port).run_once() == 0
    assert app.mail.all() == [] and mailbox.messages() == []


async def test_the_addresses_are_those_in_force_when_the_document_was_generated(
    app, mailbox
) -> None:
    app.set_preferences("0000100001", AVERY.party_id, PORTAL)
    app.generate_letter("0000100001", description="Your letter", paragraphs=["x"])
    # Avery changes the address before the mailer ran.
    app.set_preferences(
        "0000100001", AVERY.party_id, [Selection("all", "Portal", ("new@example.com",))]
    )
    assert await mailer(app, mailbox.port).run_once() == 1
    assert [m["To"] for m in mailbox.messages()] == ["avery@example.com"]


async def test_an_outcome_missed_by_a_crash_is_caught_up(app, mailbox, clock) -> None:
    app.set_preferences("0000100001", AVERY.party_id, PORTAL)
    letter = app.generate_letter("0000100001", description="Your letter", paragraphs=["x"])
    send = mailer(app, mailbox.port)
    send.dispatcher.on_outcome = None  # the process died right after the send was recorded
    assert await send.run_once() == 1
    assert app.repository.get(letter.id).notification is None

    # The next mailer catches up at start; the email is not sent again.
    assert app.reconcile_notifications(clock.now.replace(hour=0)) == 1
    assert app.repository.get(letter.id).notification == "sent"
    assert app.reconcile_notifications(clock.now.replace(hour=0)) == 1
    assert len(of_type(app, "NotificationSent")) == 1
    assert len(mailbox.messages()) == 1


async def test_the_mailer_loop_notifies_until_stopped(app, mailbox) -> None:
    send = mailer(app, mailbox.port)
    stop = asyncio.Event()
    loop = asyncio.create_task(send.run_forever(stop, idle_seconds=0.01))
    app.set_preferences("0000100001", AVERY.party_id, PORTAL)
    app.generate_letter("0000100001", description="Your letter", paragraphs=["x"])
    for _ in range(500):
        if mailbox.messages():
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(loop, timeout=5)
    assert len(mailbox.messages()) == 1
