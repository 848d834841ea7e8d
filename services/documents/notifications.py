"""The mail side of eDelivery: notification emails for documents delivered by Portal.

- `queue_notifications` follows the documents service's own notification log (tracking
  record `notifications:mail`) and, for each DocumentGenerated with Portal delivery, queues one
  email per address of the preference in force at generation (the document keeps that
  preferences version) in `shared.mail`'s outbox, keyed `documents:<document id>:<n>`: the
  Message-ID derives from that key, and a second queueing of the same document is a no-op, so
  a trigger delivered twice (one document) can never mail twice. Queueing after the events
  are stored (never inside the reaction) means a notification is never lost nor sent for a
  document that was not recorded.
- The dispatcher sends them (retries, leases: `shared.mail`) and calls
  `record_notification_outcome` once a mail is final; when every mail of the document is,
  the document records NotificationSent (how many addresses got it) or NotificationFailed.
  `reconcile_notifications` catches up outcomes missed by a crash between the two.
- `DocumentsMailer` is the loop of the `mailer` role (and of the embedded root).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.utils import get_topic

from services.documents.core import DocumentsCore
from services.documents.domain import Document
from services.documents.mails import new_document_notice
from services.documents.preferences import preferences_id
from shared.mail import Mail, MailDispatcher, MailOutcome

log = logging.getLogger(__name__)

QUEUE_TRACKING = "notifications:mail"
KEY_PREFIX = "documents:"
GENERATED_TOPIC = get_topic(Document.Generated)


def notification_key(document_id: UUID, index: int) -> str:
    return f"{KEY_PREFIX}{document_id}:{index}"


def document_of_key(dedup_key: str) -> UUID | None:
    if not dedup_key.startswith(KEY_PREFIX):
        return None
    try:
        return UUID(dedup_key.removeprefix(KEY_PREFIX).rpartition(":")[0])
    except ValueError:
        return None


class NotificationCommands(DocumentsCore):
    def queue_notifications(self, batch: int = 200) -> int:
        """Queue the emails of Portal documents generated since the last call; answers how
        many emails were queued."""
        recorder = self.process_recorder
        queued = 0
        while True:
            position = recorder.max_tracking_id(QUEUE_TRACKING) or 0
            notifications = recorder.select_notifications(
                start=position, limit=batch, topics=[GENERATED_TOPIC], inclusive_of_start=False
            )
            for notification in notifications:
                generated = self.mapper.to_domain_event(notification)
                if generated.delivery_method == "Portal":
                    queued += self._queue(self.repository.get(generated.originator_id))
            if notifications:
                with contextlib.suppress(IntegrityError):  # another mailer got there first
                    recorder.insert_tracking(Tracking(QUEUE_TRACKING, notifications[-1].id))
            if len(notifications) < batch:
                return queued

    def _queue(self, document: Document) -> int:
        addresses = self.notification_addresses(document)
        on_file = self.on_file(document.certificate_number)
        letter = new_document_notice(
            on_file.first_name if on_file else "",
            document.document_type,
            document.certificate_number,
            self.portal_url,
        )
        queued = 0
        for index, address in enumerate(addresses):
            queued += self.mail.enqueue(
                dedup_key=notification_key(document.id, index),
                recipient=address,
                subject=letter.subject,
                body=letter.body,
            )
        return queued

    def notification_addresses(self, document: Document) -> list[str]:
        """The addresses of the preference in force when the document was generated."""
        if document.delivery_method != "Portal" or document.preferences_version is None:
            return []
        preferences = self.repository.get(
            preferences_id(document.certificate_number), version=document.preferences_version
        )
        return preferences.emails_for(document.document_type)

    def record_notification_outcome(self, outcome: MailOutcome) -> Document | None:
        """The dispatcher's hook: one of a document's mails is final."""
        document_id = document_of_key(outcome.dedup_key)
        return self.settle_notification(document_id) if document_id else None

    def settle_notification(self, document_id: UUID) -> Document | None:
        """Once every mail of the document is final, record the outcome (once)."""
        document = self.find_document(document_id)
        if document is None or document.notification is not None:
            return document
        count = len(self.notification_addresses(document))
        mails = self.mail.find([notification_key(document.id, i) for i in range(count)])
        if not mails or len(mails) < count or not all(_final(m) for m in mails):
            return document
        sent = [m for m in mails if m.sent_at is not None]
        at = max(_final(m) for m in mails)  # type: ignore[type-var]
        errors = [m.last_error for m in mails if m.last_error]

        def finish(d: Document) -> None:
            d.notification_finished(
                sent=len(sent),
                failed=len(mails) - len(sent),
                attempts=sum(m.attempts for m in mails),
                at=at,  # type: ignore[arg-type]
                error=errors[-1] if errors else None,
            )

        return self.update(lambda: self.repository.get(document.id), finish)

    def reconcile_notifications(self, since: datetime) -> int:
        """Settle the documents whose mails became final since `since` (a crash between a
        send and its outcome); answers how many documents were looked at."""
        documents = {
            document_of_key(m.dedup_key) for m in self.mail.finished_since(since, KEY_PREFIX)
        }
        for document_id in documents - {None}:
            self.settle_notification(document_id)  # type: ignore[arg-type]
        return len(documents - {None})


def _final(mail: Mail) -> datetime | None:
    return mail.sent_at or mail.gave_up_at


class DocumentsMailer:
    """Queue, send, record: the `mailer` role's loop (`run_once` for tests)."""

    def __init__(
        self,
        app: NotificationCommands,
        dispatcher: MailDispatcher,
        catch_up: timedelta = timedelta(days=1),
    ) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.catch_up = catch_up

    async def run_once(self) -> int:
        """Queue what is new and send what is due; answers how many emails were sent."""
        await asyncio.to_thread(self.app.queue_notifications)
        return await self.dispatcher.run_once()

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        try:
            since = self.app.clock() - self.catch_up
            await asyncio.to_thread(self.app.reconcile_notifications, since)
        except Exception:
            log.exception("documents mailer: could not reconcile notification outcomes")
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except Exception:  # the database is away: try again later
                log.exception("documents mailer: could not queue or send; retrying")
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_seconds)
