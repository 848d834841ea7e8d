"""The owner registry as the application reads it (written by `consumers.py`, and purged by
the privacy office when an owner's personal data is erased).

Names are opened with the key store as they are read (an erased owner's open to "");
emails, cell numbers, addresses and names are matched by keyed hash (`owner_match_keys`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.identity.matching import EMAIL
from services.identity.tables import ACCOUNT_SOURCE, MatchKey, Owner
from shared import personal_data
from shared.sealing import is_sealed

# Statuses in which a certificate is in force (its servicing data is exempt from deletion).
IN_FORCE_STATUSES = frozenset(
    {
        "Pending",
        "Active Awaiting Premium",
        "Issue – Not Paid",
        "Active Premium Paying",
        "Reduced Paid Up",
        "Inforce – Extended Term",
    }
)


def opened(value: str | None) -> str:
    """A sealed column's clear value ("" when erased or shredded)."""
    if not value:
        return ""
    if not is_sealed(value):
        return value  # written before sealing (`upgrade.py` seals those at start-up)
    return personal_data.installed().open(value) or ""


@dataclass(frozen=True)
class OwnerRecord:
    certificate_number: str
    party_id: UUID
    name_type: str
    first_name: str
    last_name: str
    date_of_birth_digest: str
    government_id_digest: str
    government_id_last4: str
    status: str | None
    erased: bool

    @classmethod
    def of(cls, row: Owner) -> OwnerRecord:
        return cls(
            certificate_number=row.certificate_number,
            party_id=UUID(row.party_id),
            name_type=row.name_type,
            first_name=opened(row.first_name),
            last_name=opened(row.last_name),
            date_of_birth_digest=row.date_of_birth_digest,
            government_id_digest=row.government_id_digest,
            government_id_last4=row.government_id_last4,
            status=row.status,
            erased=row.erased_at is not None,
        )

    @property
    def in_force(self) -> bool:
        return self.status in IN_FORCE_STATUSES


def same_name(a: str, b: str) -> bool:
    """Names compare case-insensitively, ignoring extra spaces."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


class OwnerRegistry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def owner_of(self, certificate_number: str) -> OwnerRecord | None:
        with Session(self.engine) as session:
            row = session.get(Owner, certificate_number)
            return OwnerRecord.of(row) if row is not None and row.erased_at is None else None

    def owners_born(self, date_of_birth_digest: str) -> list[OwnerRecord]:
        """Every certificate whose owner has that date of birth (by its keyed hash)."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(Owner)
                .where(Owner.date_of_birth_digest == date_of_birth_digest)
                .where(Owner.erased_at.is_(None))
                .order_by(Owner.certificate_number)
            )
            return [OwnerRecord.of(row) for row in rows]

    def certificates_of(self, party_id: UUID | str) -> list[OwnerRecord]:
        """Every certificate the party owns (erased owners' included: status and number)."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(Owner)
                .where(Owner.party_id == str(party_id))
                .order_by(Owner.certificate_number)
            )
            return [OwnerRecord.of(row) for row in rows]

    def in_force(self, party_id: UUID | str) -> list[str]:
        """The party's certificates in force."""
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(Owner.certificate_number)
                    .where(Owner.party_id == str(party_id))
                    .where(Owner.status.in_(IN_FORCE_STATUSES))
                    .order_by(Owner.certificate_number)
                )
            )

    # --- match keys ---------------------------------------------------------------------

    def email_digests_of(self, party_id: UUID | str) -> set[str]:
        with Session(self.engine) as session:
            return set(
                session.scalars(
                    select(MatchKey.digest).where(
                        MatchKey.party_id == str(party_id), MatchKey.point == EMAIL
                    )
                )
            )

    def matching(self, digests: Iterable[str]) -> dict[str, set[str]]:
        """party id → the points (name, email…) on which it has one of these digests."""
        wanted = sorted(set(digests))
        if not wanted:
            return {}
        found: dict[str, set[str]] = {}
        with Session(self.engine) as session:
            rows = session.execute(
                select(MatchKey.party_id, MatchKey.point).where(MatchKey.digest.in_(wanted))
            )
            for party_id, point in rows:
                found.setdefault(party_id, set()).add(point)
        return found

    def add_account_email(self, party_id: UUID | str, digest: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.merge(
                MatchKey(party_id=str(party_id), source=ACCOUNT_SOURCE, point=EMAIL, digest=digest)
            )

    # --- erasure ------------------------------------------------------------------------

    def erase(self, party_id: UUID | str, now: datetime) -> int:
        """Forget what identifies the party: names, digests, last 4, match keys. The rows keep
        the certificate number, the party and the status (for the retention review)."""
        with Session(self.engine) as session, session.begin():
            rows = list(session.scalars(select(Owner).where(Owner.party_id == str(party_id))))
            for row in rows:
                row.first_name = ""
                row.last_name = ""
                row.date_of_birth_digest = ""
                row.government_id_digest = ""
                row.government_id_last4 = ""
                row.emails = []
                row.erased_at = row.erased_at or now
            session.execute(delete(MatchKey).where(MatchKey.party_id == str(party_id)))
            return len(rows)
