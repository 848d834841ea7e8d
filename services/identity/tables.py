"""Identity's plain-SQL tables, in its own database next to its event store.

- `owners`: the registry of certificate owners, built from policy's events (never a call to
  policy): what registration and Forgot User ID match against. Holds keyed hashes (HMAC) of
  the date of birth and government ID, never the values; the names sealed under the owner's
  personal key (`shared.personal_data`); the certificate's status (is it in force?). Once the
  owner's personal data is erased, the row keeps the certificate, the party and the status
  only (`erased_at`).
- `owner_match_keys`: keyed hashes of each owner's name, date of birth, emails, cell number
  and postal address (`matching.py`), per certificate (and the account's email): what the
  privacy office verifies a requester against, and Forgot User ID matches emails with.
- `registration_drafts`: steps 1 and 2 of a registration, until step 3 submits it or it expires
  (30 minutes). Keyed by the SHA-256 of the registration id handed to the browser. Names,
  email and user ID sealed under the owner's personal key.
- `registration_failures`: failed step-1 matches per certificate, for throttling.
- The privacy office's tables are in `privacy/tables.py` (same metadata).
- (`mail_outbox` is `shared.mail`'s; `consumer_positions` / `aggregate_watermarks` are the
  `SqlSink`'s.)
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    TypeDecorator,
    create_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool

from shared.sqldb import create_tables, make_engine


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes on every database (SQLite forgets the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class IdentityTable(DeclarativeBase):
    pass


class Owner(IdentityTable):
    __tablename__ = "owners"

    certificate_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    party_id: Mapped[str] = mapped_column(String(36), index=True)
    name_type: Mapped[str] = mapped_column(String(20))
    # Sealed (`pii:v1:…`) under the owner's personal key; "" once erased.
    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    date_of_birth_digest: Mapped[str] = mapped_column(String(64), index=True)
    government_id_digest: Mapped[str] = mapped_column(String(64))
    government_id_last4: Mapped[str] = mapped_column(String(4))
    # Clear emails before they were kept as digests (`owner_match_keys`): always [] now.
    emails: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


ACCOUNT_SOURCE = "account"  # `MatchKey.source` of the email entered at registration


class MatchKey(IdentityTable):
    """One keyed hash of a value identifying an owner (`matching.py`)."""

    __tablename__ = "owner_match_keys"

    party_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)  # certificate, "account"
    point: Mapped[str] = mapped_column(String(20), primary_key=True)  # name, email, cell…
    digest: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class RegistrationDraft(IdentityTable):
    __tablename__ = "registration_drafts"

    id_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    certificate_number: Mapped[str] = mapped_column(String(10))
    party_id: Mapped[str] = mapped_column(String(36))
    # Sealed under the owner's personal key.
    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    security_questions: Mapped[list | None] = mapped_column(JSON)


class RegistrationFailure(IdentityTable):
    __tablename__ = "registration_failures"

    certificate_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    failures: Mapped[int] = mapped_column(Integer)


def identity_engine(url: str | None = None) -> Engine:
    """The engine of identity's tables (created if missing); None = a private in-memory SQLite
    database (unit tests)."""
    if url is None:
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = make_engine(url)
    create_tables(IdentityTable.metadata, engine)
    return engine
