"""The owner registry as the application reads it (written by `consumers.py` only)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.identity.tables import Owner


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
    emails: tuple[str, ...]

    @classmethod
    def of(cls, row: Owner) -> OwnerRecord:
        return cls(
            certificate_number=row.certificate_number,
            party_id=UUID(row.party_id),
            name_type=row.name_type,
            first_name=row.first_name,
            last_name=row.last_name,
            date_of_birth_digest=row.date_of_birth_digest,
            government_id_digest=row.government_id_digest,
            government_id_last4=row.government_id_last4,
            emails=tuple(row.emails or ()),
        )


def same_name(a: str, b: str) -> bool:
    """Names compare case-insensitively, ignoring extra spaces."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


class OwnerRegistry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def owner_of(self, certificate_number: str) -> OwnerRecord | None:
        with Session(self.engine) as session:
            row = session.get(Owner, certificate_number)
            return OwnerRecord.of(row) if row is not None else None

    def owners_born(self, date_of_birth_digest: str) -> list[OwnerRecord]:
        """Every certificate whose owner has that date of birth (by its keyed hash)."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(Owner)
                .where(Owner.date_of_birth_digest == date_of_birth_digest)
                .order_by(Owner.certificate_number)
            )
            return [OwnerRecord.of(row) for row in rows]
