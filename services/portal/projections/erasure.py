"""A request to delete, in the portal's read models: every clear personal value of the person
goes, and stays gone.

On PersonalDataErased (`privacy.py`) the party is recorded in `erased_parties` and
`purge_party` blanks, for the party and every certificate they own:

| read model           | what is purged                                                  |
|----------------------|-----------------------------------------------------------------|
| owner_profiles       | names, gender, sealed date of birth, SSN last 4, contact        |
| certificates         | payor name                                                      |
| billing_accounts     | payor name                                                      |
| insureds             | every insured's names, sealed date of birth, birth year-month   |
| claims               | patient names, member id, paid-to name                          |
| delivery_preferences | notification emails                                             |
| portal_users, portal_sessions | deleted (the person is signed out)                     |

The values are the placeholders the contracts open to once a key is shredded
(`shared/contracts/policy.py`): "" for names, member ids and payees, no emails, the contact of
`ERASED_ADDRESS` with no phones, `ERASED_LAST4`, `ERASED_BIRTH_YEAR_MONTH`; a sealed date of
birth becomes "" (it opens to nothing either way). They are fixed, whatever the rows held: a
replay, which sees the same events with those placeholders (or, for a class retained, the
clear values) then the same purge, rebuilds exactly these rows — even after a retained key is
swept. The queries keep working and show nothing of the person. Everything else (statuses,
amounts, dates, documents) is not personal and stays; so do the agents (not the person's).

Events about an erased party's certificates that are projected AFTER the purge — another topic
lagging behind identity.events, or a fact recorded under a retained key — would write clear
values again: the projectors that write personal values are wrapped (`guarded`) so that, once
the party is in `erased_parties`, the same purge runs after them. The read models therefore
end the same whatever order the topics arrive in, live or replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from services.portal.readmodels import (
    BillingView,
    CertificateView,
    ClaimView,
    DeliveryPreferenceView,
    ErasedPartyView,
    InsuredView,
    OwnerProfileView,
    PortalSessionView,
    PortalUserView,
)
from shared.contracts import policy
from shared.contracts.envelope import Envelope, IntegrationEvent

ERASED = ""  # a name, a sealed date of birth, a member id, once erased
ERASED_CONTACT: dict[str, Any] = policy.ContactInformation(
    address=policy.Address(**policy.ERASED_ADDRESS)
).model_dump(mode="json")

Projector = Callable[[Session, Envelope, Any], None]


# session.info key: what this transaction knows of erased parties. None → whether any party
# at all is erased; a party id → whether that one is. Erasures are rare and never undone, and
# only `record_erased` (this consumer) adds one, so one query per transaction answers the
# common case for a whole run of events (`SqlSink.apply_many`), instead of two per event.
_KNOWN = "portal.erased_parties"


def _known(session: Session) -> dict[str | None, bool]:
    known = session.info.setdefault(_KNOWN, {})
    if None not in known:
        known[None] = session.scalar(select(ErasedPartyView.party_id).limit(1)) is not None
    return known


def any_erased(session: Session) -> bool:
    return _known(session)[None]


def is_erased(session: Session, party_id: str | None) -> bool:
    if not party_id or not any_erased(session):
        return False
    known = _known(session)
    if party_id not in known:
        known[party_id] = session.get(ErasedPartyView, party_id) is not None
    return known[party_id]


def record_erased(session: Session, party_id: str, request_id: str, erased_at: Any) -> None:
    """Record `party_id` as erased (what `is_erased` answers from now on)."""
    session.merge(ErasedPartyView(party_id=party_id, request_id=request_id, erased_at=erased_at))
    known = session.info.setdefault(_KNOWN, {})
    known[None] = known[party_id] = True


def purge_party(session: Session, party_id: str, numbers: Iterable[str] = ()) -> None:
    """Blank every personal value of `party_id` (and of the certificates they own, plus
    `numbers`) in the read models; delete their portal users and sessions. Idempotent."""
    owned = session.scalars(
        select(CertificateView.certificate_number).where(CertificateView.owner_party_id == party_id)
    )
    certificates = sorted({*numbers, *owned})
    session.execute(
        update(OwnerProfileView)
        .where(OwnerProfileView.party_id == party_id)
        .values(
            first_name=ERASED,
            last_name=ERASED,
            gender=None,
            date_of_birth_sealed=ERASED,
            government_id_last4=policy.ERASED_LAST4,
            contact=ERASED_CONTACT,
        )
    )
    for view in (CertificateView, BillingView):
        session.execute(
            update(view).where(view.certificate_number.in_(certificates)).values(payor_name=ERASED)
        )
    session.execute(
        update(InsuredView)
        .where(InsuredView.certificate_number.in_(certificates))
        .values(
            first_name=ERASED,
            last_name=ERASED,
            date_of_birth_sealed=ERASED,
            birth_year_month=policy.ERASED_BIRTH_YEAR_MONTH,
        )
    )
    session.execute(
        update(ClaimView)
        .where(ClaimView.certificate_number.in_(certificates))
        .values(
            patient_first_name=ERASED, patient_last_name=ERASED, member_id=ERASED, paid_to=ERASED
        )
    )
    session.execute(
        update(DeliveryPreferenceView)
        .where(
            or_(
                DeliveryPreferenceView.owner_party_id == party_id,
                DeliveryPreferenceView.certificate_number.in_(certificates),
            )
        )
        .values(emails=[])
    )
    session.execute(delete(PortalSessionView).where(PortalSessionView.party_id == party_id))
    session.execute(delete(PortalUserView).where(PortalUserView.party_id == party_id))


def owner_of(session: Session, envelope: Envelope, event: IntegrationEvent) -> str | None:
    """The owner party of the certificate an event is about (the event's own, else the
    certificate row's)."""
    named = getattr(event, "owner_party_id", None)
    if named is not None:
        return str(named)
    row = session.get(CertificateView, envelope.certificate_number)
    return row.owner_party_id if row is not None else None


def guarded(projector: Projector) -> Projector:
    """`projector`, then the purge again when the certificate's owner has been erased."""

    def project(session: Session, envelope: Envelope, event: Any) -> None:
        projector(session, envelope, event)
        if not any_erased(session):
            return
        party = owner_of(session, envelope, event)
        if is_erased(session, party):
            purge_party(session, party, [envelope.certificate_number])  # type: ignore[arg-type]

    project.__name__ = getattr(projector, "__name__", "project")
    project.__doc__ = projector.__doc__
    return project
