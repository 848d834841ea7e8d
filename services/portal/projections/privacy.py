"""The privacy office's events (identity.events) → the owner's privacy requests, and the purge
of an erased person's data (`erasure.py`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.portal.projections.erasure import purge_party, record_erased
from services.portal.readmodels import PrivacyRequestView
from shared.contracts import privacy
from shared.contracts.envelope import Envelope


def privacy_request_updated(
    session: Session, _: Envelope, event: privacy.PrivacyRequestUpdated
) -> None:
    session.merge(
        PrivacyRequestView(
            request_id=str(event.request_id),
            party_id=str(event.party_id),
            certificate_number=event.certificate_number,
            kind=event.kind,
            status=event.status,
            by_agent=event.by_agent,
            received_at=event.received_at,
            due_by=event.due_by,
            completed_at=event.completed_at,
            outcome=event.outcome,
        )
    )


def personal_data_erased(session: Session, _: Envelope, event: privacy.PersonalDataErased) -> None:
    party = str(event.party_id)
    record_erased(session, party, str(event.request_id), event.erased_at)
    purge_party(session, party, [event.certificate_number])


PROJECTORS = {
    privacy.PrivacyRequestUpdated: privacy_request_updated,
    privacy.PersonalDataErased: personal_data_erased,
}
