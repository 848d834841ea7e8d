"""The composition root on SQLite files (the embedded layout): event store and mail outbox in
one database file, PDFs as files under var/documents, and everything survives a restart."""

from uuid import UUID

from fastapi.testclient import TestClient

from services.documents.api import create_documents_api
from services.documents.application import Selection
from services.documents.content import FileContentStore
from services.documents.main import (
    build_documents,
    documents_consumer,
    documents_content_store,
    documents_mail_dispatcher,
    documents_outbox,
)
from services.documents.settings import DocumentsSettings
from shared.mail import DemoMailbox, MailSettings, free_port
from shared.settings import Settings
from tests.unit.test_documents_support import AVERY, certificate_issued, envelope_of


async def test_generate_notify_and_read_on_sqlite_then_restart(tmp_path) -> None:
    settings = Settings(PORTAL_VAR_DIR=tmp_path)
    own = DocumentsSettings(PORTAL_URL="https://portal.example/documents")
    app = build_documents(settings, documents_settings=own)
    assert (tmp_path / "documents.sqlite").exists()
    assert isinstance(documents_content_store(settings), FileContentStore)

    # Policy's CertificateIssued reaches documents' consumer group: a certificate PDF file.
    consumer = documents_consumer(app, settings)
    assert consumer.topics == [
        "policy.events",
        "billing.events",
        "claims.events",
        "identity.events",
    ]
    assert consumer.name == "documents"
    value = envelope_of(certificate_issued(AVERY), AVERY.certificate_id).to_bytes()
    await consumer.handle("policy.events", 0, 1, value, {})
    [blob] = (tmp_path / "documents").glob("*/*.pdf")
    assert blob.read_bytes().startswith(b"pii:v1:")  # sealed at rest
    assert b"Avery" not in blob.read_bytes() and b"%PDF" not in blob.read_bytes()

    # Avery chooses Portal; the back office sends a letter.
    app.set_preferences(
        "0000100001", AVERY.party_id, [Selection("all", "Portal", ("avery@example.com",))]
    )
    client = TestClient(create_documents_api(app, documents_content_store(settings)))
    body = {"certificate_number": "0000100001", "description": "Hello", "paragraphs": ["x"]}
    letter_id = client.post("/letters", json=body).json()["document_id"]

    # The relay reads documents.events from the outbox.
    records, _ = documents_outbox(app, settings).read(0)
    assert {r.topic for r in records} == {"documents.events"}
    assert [r.key for r in records] == ["0000100001"] * len(records)
    app.close()

    # Restarted: the documents, preferences and content are all still there; the mailer
    # notifies the letter once.
    app = build_documents(settings, documents_settings=own)
    query = {"owner_party_id": str(AVERY.party_id)}
    client = TestClient(create_documents_api(app, documents_content_store(settings)))
    assert client.get(f"/documents/{letter_id}/content", params=query).status_code == 200
    with DemoMailbox(tmp_path / "mail", port=free_port()) as box:
        mail = MailSettings(SMTP_HOST=box.host, SMTP_PORT=box.port)
        assert await documents_mail_dispatcher(app, mail).run_once() == 1
        assert await documents_mail_dispatcher(app, mail).run_once() == 0
        [message] = box.messages()
    assert "https://portal.example/documents" in message.get_content()
    assert app.find_document(UUID(letter_id)).notification == "sent"
    app.close()
