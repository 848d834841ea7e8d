"""Domain events → public contracts (`shared/contracts/documents.py`, topic documents.events).

Published: DocumentGenerated, DocumentMailed, DocumentOpened, NotificationSent,
DeliveryPreferencesChanged (from both the Created and the Changed event of the preferences;
each carries the full list of the 7 types). Private (the relay skips them): NotificationFailed
(no contract yet), the certificates on file (owner names and emails stay in this service) and
the consumer's processed-event markers.
"""

from __future__ import annotations

from typing import Any

from services.documents.domain import Document
from services.documents.preferences import DeliveryPreferences
from shared.contracts import documents as contracts
from shared.contracts.envelope import IntegrationEvent


def to_integration(domain_event: Any) -> IntegrationEvent | None:
    e = domain_event
    if isinstance(e, Document.Generated):
        return contracts.DocumentGenerated(
            certificate_number=e.certificate_number,
            document_id=e.originator_id,
            owner_party_id=e.owner_party_id,
            document_type=e.document_type,
            description=e.description,
            created_on=e.created_on,
            content_hash=e.content_hash,
            size_bytes=e.size_bytes,
            delivery_method=e.delivery_method,
        )
    if isinstance(e, Document.Mailed):
        return contracts.DocumentMailed(
            certificate_number=e.certificate_number,
            document_id=e.originator_id,
            document_type=e.document_type,
            mailed_on=e.mailed_on,
        )
    if isinstance(e, Document.Opened):
        return contracts.DocumentOpened(
            certificate_number=e.certificate_number,
            document_id=e.originator_id,
            opened_at=e.opened_at,
        )
    if isinstance(e, Document.NotificationSent):
        return contracts.NotificationSent(
            certificate_number=e.certificate_number,
            document_id=e.originator_id,
            sent_at=e.sent_at,
            recipients=e.recipients,
        )
    if isinstance(e, DeliveryPreferences.Created | DeliveryPreferences.Changed):
        return contracts.DeliveryPreferencesChanged(
            certificate_number=e.certificate_number,
            owner_party_id=e.owner_party_id,
            preferences=[contracts.Preference.model_validate(p) for p in e.preferences],
        )
    return None
