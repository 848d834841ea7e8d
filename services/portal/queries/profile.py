"""Update Personal Information: personal information (read-only) and contact information."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from services.portal.queries.certificates import OpenSealed
from services.portal.queries.common import NotFound, Out


class PersonalInformation(Out):
    name: str
    name_type: str
    date_of_birth: date | None
    relationship: str
    gender: str | None
    government_id: str  # redacted to the last 4


class Profile(Out):
    party_id: str
    personal: PersonalInformation
    contact: dict


def profile(session: Session, owner_party_id: str, open_sealed: OpenSealed) -> Profile:
    from services.portal.readmodels import OwnerProfileView

    row = session.get(OwnerProfileView, owner_party_id)
    if row is None:
        raise NotFound("profile not found")
    opened = open_sealed(row.date_of_birth_sealed)
    return Profile(
        party_id=row.party_id,
        personal=PersonalInformation(
            name=f"{row.first_name} {row.last_name}",
            name_type=row.name_type,
            date_of_birth=date.fromisoformat(opened) if opened else None,
            relationship=row.relationship,
            gender=row.gender,
            government_id=f"***-**-{row.government_id_last4}",
        ),
        contact=row.contact,
    )
