"""Documents' events → the eDelivery inbox and the delivery preferences."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from services.portal.readmodels import DeliveryPreferenceView, DocumentView
from shared.contracts import documents
from shared.contracts.envelope import Envelope


def document_generated(session: Session, _: Envelope, event: documents.DocumentGenerated) -> None:
    session.merge(
        DocumentView(
            document_id=str(event.document_id),
            certificate_number=event.certificate_number,
            owner_party_id=str(event.owner_party_id),
            document_type=event.document_type,
            description=event.description,
            created_on=event.created_on,
            delivery_method=event.delivery_method,
            size_bytes=event.size_bytes,
            opened_at=None,
            notified_at=None,
            mailed_on=None,
        )
    )


def _update(session: Session, document_id: object, **values: object) -> None:
    session.execute(
        update(DocumentView).where(DocumentView.document_id == str(document_id)).values(**values)
    )


def document_opened(session: Session, _: Envelope, event: documents.DocumentOpened) -> None:
    _update(session, event.document_id, opened_at=event.opened_at)


def notification_sent(session: Session, _: Envelope, event: documents.NotificationSent) -> None:
    _update(session, event.document_id, notified_at=event.sent_at)


def document_mailed(session: Session, _: Envelope, event: documents.DocumentMailed) -> None:
    _update(session, event.document_id, mailed_on=event.mailed_on)


def preferences_changed(
    session: Session, _: Envelope, event: documents.DeliveryPreferencesChanged
) -> None:
    number = event.certificate_number
    session.execute(
        delete(DeliveryPreferenceView).where(DeliveryPreferenceView.certificate_number == number)
    )
    for preference in event.preferences:
        session.add(
            DeliveryPreferenceView(
                certificate_number=number,
                document_type=preference.document_type,
                owner_party_id=str(event.owner_party_id),
                method=preference.method,
                emails=[str(e) for e in preference.emails],
            )
        )


PROJECTORS = {
    documents.DocumentGenerated: document_generated,
    documents.DocumentOpened: document_opened,
    documents.NotificationSent: notification_sent,
    documents.DocumentMailed: document_mailed,
    documents.DeliveryPreferencesChanged: preferences_changed,
}
