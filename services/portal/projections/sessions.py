"""Identity's events → who is registered and which session tokens are valid."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.portal.readmodels import PortalSessionView, PortalUserView
from shared.contracts import identity
from shared.contracts.envelope import Envelope


def user_registered(session: Session, _: Envelope, event: identity.UserRegistered) -> None:
    session.merge(
        PortalUserView(
            account_id=str(event.account_id),
            user_id=event.user_id,
            party_id=str(event.party_id),
            preferred_language=event.preferred_language,
            preferred_date_format=event.preferred_date_format,
        )
    )


def preferences_changed(session: Session, _: Envelope, event: identity.PreferencesChanged) -> None:
    session.execute(
        update(PortalUserView)
        .where(PortalUserView.account_id == str(event.account_id))
        .values(
            preferred_language=event.preferred_language,
            preferred_date_format=event.preferred_date_format,
        )
    )


def session_started(session: Session, _: Envelope, event: identity.SessionStarted) -> None:
    session.merge(
        PortalSessionView(
            token_digest=event.token_digest,
            session_id=str(event.session_id),
            account_id=str(event.account_id),
            party_id=str(event.party_id),
            expires_at=event.expires_at,
            ended=False,
        )
    )


def session_ended(session: Session, _: Envelope, event: identity.SessionEnded) -> None:
    session.execute(
        update(PortalSessionView)
        .where(PortalSessionView.session_id == str(event.session_id))
        .values(ended=True)
    )


PROJECTORS = {
    identity.UserRegistered: user_registered,
    identity.PreferencesChanged: preferences_changed,
    identity.SessionStarted: session_started,
    identity.SessionEnded: session_ended,
}
