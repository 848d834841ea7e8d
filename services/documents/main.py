"""Composition root of the documents service's processes: `api`, `relay`, `consumer`, `mailer`.

- `api`: the HTTP command API (port 8104 unless SERVICE_PORT);
- `relay`: documents' outbox → Kafka `documents.events`;
- `consumer`: consumer group `documents` on policy.events, billing.events, claims.events and
  identity.events (certificates on file, and the documents their facts trigger: certificates,
  letters, bills, annual statements, premium default notices, EOBs, claim denial letters;
  the purge of a person's PDFs and notification emails on PersonalDataErased);
- `mailer`: queues the notification emails of Portal documents and sends them
  (mail_outbox → SMTP_HOST:SMTP_PORT), recording NotificationSent / NotificationFailed.

Storage: the documents database (`settings.database_url_for("documents")`) holds the event
store, `mail_outbox` and, on PostgreSQL, `document_contents`; on SQLite (embedded) the PDFs
are files under `var/documents/` — sealed with their owner's keys either way (`content.py`;
PDFs stored in clear by an older version are sealed at start-up, `upgrade.py`).

The embedded root builds the same objects with `build_documents`, `documents_outbox`,
`documents_consumer` and `documents_mail_dispatcher`, and runs
`documents_mail_dispatcher(app, mail).run_forever(stop)` next to in-process delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.documents.application import DocumentsApplication
from services.documents.consumers import SUBSCRIBED_TOPICS, documents_sink
from services.documents.content import ContentStore, content_store_for
from services.documents.integration import to_integration
from services.documents.notifications import DocumentsMailer
from services.documents.settings import DocumentsSettings
from services.documents.tables import documents_engine
from services.documents.upgrade import seal_clear_contents
from shared.contracts.documents import TOPIC
from shared.eventstore import eventstore_env
from shared.mail import MailDispatcher, MailSettings, SmtpSender
from shared.messaging.consumer import ConsumerCore, DeadLetters
from shared.messaging.outbox import Outbox
from shared.settings import Settings
from shared.sqldb import schema_setup_lock

DEFAULT_PORT = 8104


def documents_content_store(settings: Settings) -> ContentStore:
    """PDF files under `var_dir/documents` (SQLite), or the `document_contents` table
    (PostgreSQL)."""
    return content_store_for(settings.database_url_for("documents"), settings.var_dir)


def build_documents(
    settings: Settings,
    *,
    clock: Callable[[], datetime] | None = None,
    documents_settings: DocumentsSettings | None = None,
) -> DocumentsApplication:
    """Documents' application on its own database (event store and tables on one URL)."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    url = settings.database_url_for("documents")
    own = documents_settings or DocumentsSettings()
    extra = {"clock": clock} if clock else {}
    with schema_setup_lock(url):
        engine = documents_engine(url)
        app = DocumentsApplication(
            env=eventstore_env(url, settings.eventstore_recorder),
            engine=engine,
            content_store=content_store_for(url, settings.var_dir, engine),
            portal_url=own.portal_url,
            **extra,
        )
    seal_clear_contents(app)
    return app


def documents_outbox(app: DocumentsApplication, settings: Settings) -> Outbox:
    return Outbox(app, settings.topic(TOPIC), to_integration)


def documents_consumer(
    app: DocumentsApplication, settings: Settings, dead_letters: DeadLetters | None = None
) -> ConsumerCore:
    topics = [settings.topic(t) for t in SUBSCRIBED_TOPICS]
    return ConsumerCore(documents_sink(app), topics, dead_letters)  # type: ignore[arg-type]


def documents_mail_dispatcher(
    app: DocumentsApplication, mail_settings: MailSettings | None = None
) -> DocumentsMailer:
    """The mail side: `run_once()` queues what is new and sends what is due;
    `run_forever(stop)` loops."""
    mail_settings = mail_settings or MailSettings()
    sender = SmtpSender.from_settings(mail_settings)
    dispatcher = MailDispatcher(
        app.mail,
        sender,
        mail_settings.mail_from,
        clock=app.clock,
        on_outcome=app.record_notification_outcome,
    )
    return DocumentsMailer(app, dispatcher)


def main(argv: list[str] | None = None) -> None:
    from services.documents.api import create_documents_api
    from shared.runtime import run_role, start_process, stop_on_signals

    settings, role = start_process("documents", argv)
    app = build_documents(settings)

    async def mailer() -> None:
        await documents_mail_dispatcher(app).run_forever(stop_on_signals())

    run_role(
        "documents",
        role,
        settings,
        port=DEFAULT_PORT,
        api=lambda: create_documents_api(app, app.content_store),
        outbox=lambda: documents_outbox(app, settings),
        consumer=lambda: documents_consumer(app, settings),
        others={"mailer": mailer},
    )


if __name__ == "__main__":
    main()
