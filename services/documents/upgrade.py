"""Bring a documents store written by an older version up to date, at start-up: PDFs stored in
clear before sealing existed are sealed with their owner's key (`content.py`).

The documents are read from the service's own notification log (DocumentGenerated names the
owner, the type and the hash); a tracking record (`contents:sealed`) keeps the position, so a
restart only looks at documents generated since (sealed already: a prefix check each).
Idempotent and safe to run from several processes at once (the same blob sealed twice is the
same content).
"""

from __future__ import annotations

import contextlib
import logging

from eventsourcing.persistence import IntegrityError, Tracking

from services.documents.content import key_class_of
from services.documents.core import DocumentsCore
from services.documents.notifications import GENERATED_TOPIC

log = logging.getLogger(__name__)

TRACKING = "contents:sealed"
BATCH = 500


def seal_clear_contents(app: DocumentsCore) -> int:
    """Seal every PDF still stored in clear; answers how many were."""
    recorder = app.process_recorder
    sealed = 0
    while True:
        position = recorder.max_tracking_id(TRACKING) or 0
        notifications = recorder.select_notifications(
            start=position, limit=BATCH, topics=[GENERATED_TOPIC], inclusive_of_start=False
        )
        for notification in notifications:
            generated = app.mapper.to_domain_event(notification)
            sealed += app.content_store.seal_clear(
                generated.content_hash,
                generated.owner_party_id,
                key_class_of(generated.document_type),
            )
        if notifications:
            with contextlib.suppress(IntegrityError):  # another process got there first
                recorder.insert_tracking(Tracking(TRACKING, notifications[-1].id))
        if len(notifications) < BATCH:
            break
    if sealed:
        log.info("documents: %s PDFs stored in clear were sealed", sealed)
    return sealed
