"""The documents service's part of a request to delete (`PersonalDataErased`, identity.events).

The person's keys are already shredded when the event arrives: the names, emails and places
this service's events hold (sealed at rest, `personal.py`) and the PDFs sealed with a shredded
key are unreadable from then on. What is left to purge are the copies kept outside the event
store, for the certificate the event names:

- the PDF blobs of its documents whose key class was not retained (`content.key_class_of`:
  claims' documents under `claims`, the others under `servicing`): deleted from the content
  store (an exempt class's PDFs stay, readable, until its key is shredded);
- the notification emails queued for its Portal documents (`mail_outbox`: the address,
  subject and body): blanked, and those not yet sent are never sent (`MailOutbox.purge`).

The documents are found in the service's own notification log (its DocumentGenerated
events, which name the owner party): a scan of that topic, fine for an event as rare as an
erasure. Idempotent: a blob already deleted and a row already blanked stay so, so a
redelivered event (or one per certificate of the same person) changes nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.documents.content import key_class_of
from services.documents.core import DocumentsCore
from services.documents.domain import Document
from services.documents.notifications import GENERATED_TOPIC, notification_key
from services.documents.preferences import MAX_EMAILS
from shared.contracts.privacy import PersonalDataErased

log = logging.getLogger(__name__)

BATCH = 500


def generated_documents(
    app: DocumentsCore, certificate_number: str, owner_party_id: UUID
) -> Iterator[Document.Generated]:
    """The DocumentGenerated events of one certificate and owner, oldest first."""
    recorder = app.process_recorder
    position = 0
    while True:
        notifications = recorder.select_notifications(
            start=position, limit=BATCH, topics=[GENERATED_TOPIC], inclusive_of_start=False
        )
        for notification in notifications:
            generated = app.mapper.to_domain_event(notification)
            if (
                generated.certificate_number == certificate_number
                and generated.owner_party_id == owner_party_id
            ):
                yield generated
        if len(notifications) < BATCH:
            return
        position = notifications[-1].id


def erase_documents(app: DocumentsCore, event: PersonalDataErased) -> list[Aggregate]:
    """Purge the person's copies for the event's certificate (see the module docstring).
    Records nothing in the event store (the consumer records that it applied the event)."""
    retained = {r.key_class for r in event.retained}
    mail_keys: list[str] = []
    deleted = 0
    for generated in generated_documents(app, event.certificate_number, event.party_id):
        if key_class_of(generated.document_type) not in retained:
            deleted += app.content_store.delete(generated.content_hash)
        if generated.delivery_method == "Portal":
            mail_keys += [notification_key(generated.originator_id, i) for i in range(MAX_EMAILS)]
    blanked = app.mail.purge(mail_keys)
    log.info(
        "privacy request %s: %s document contents deleted, %s notification emails blanked",
        event.request_id,
        deleted,
        blanked,
    )
    return []
