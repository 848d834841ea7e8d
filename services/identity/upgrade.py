"""Bring an identity database created by an older version up to date, at start-up.

- Columns added since (the owner's status, `erased_at` …) are added (`ALTER TABLE … ADD
  COLUMN`, nullable); on PostgreSQL the columns that now hold sealed values (longer than the
  clear ones) are widened to TEXT.
- Rows written before personal values were sealed are sealed now: the owners' names (and
  their clear emails become keyed hashes in `owner_match_keys`), the registration drafts'
  names, email and user ID.

Idempotent, and serialised between processes by the schema-setup lock.
"""

from __future__ import annotations

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.identity.matching import EMAIL, email_digests
from services.identity.tables import IdentityTable, MatchKey, Owner, RegistrationDraft
from shared import personal_data
from shared.personal_data import KeyedHash
from shared.sealing import is_sealed
from shared.sqldb import add_missing_columns, schema_setup_lock

SEALED_COLUMNS = {
    "owners": ("first_name", "last_name"),
    "registration_drafts": ("first_name", "last_name", "email", "user_id"),
}


def upgrade(engine: Engine, keyed_hash: KeyedHash) -> None:
    with schema_setup_lock(engine.url.render_as_string(hide_password=False)):
        _add_columns(engine)
        _seal_clear_rows(engine, keyed_hash)


def _add_columns(engine: Engine) -> None:
    add_missing_columns(IdentityTable.metadata, engine)
    if engine.dialect.name != "postgresql":
        return
    inspector = inspect(engine)
    with engine.begin() as connection:
        for table in IdentityTable.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {c["name"]: c for c in inspector.get_columns(table.name)}
            for name in SEALED_COLUMNS.get(table.name, ()):
                length = getattr(present.get(name, {}).get("type"), "length", None)
                if length is not None:
                    connection.execute(
                        text(f"ALTER TABLE {table.name} ALTER COLUMN {name} TYPE TEXT")
                    )


def _clear(value: str | None) -> bool:
    return bool(value) and not is_sealed(value)


def _seal_clear_rows(engine: Engine, keyed_hash: KeyedHash) -> None:
    with Session(engine) as session, session.begin():
        owners = [
            row
            for row in session.scalars(select(Owner))
            if _clear(row.first_name) or _clear(row.last_name) or row.emails
        ]
        drafts = [
            row
            for row in session.scalars(select(RegistrationDraft))
            if any(_clear(v) for v in (row.first_name, row.last_name, row.email, row.user_id))
        ]
        if not owners and not drafts:
            return
        try:
            vault = personal_data.installed()
        except RuntimeError:  # no key store in this process: the service's next start seals
            return
        if not isinstance(vault, personal_data.Vault):  # a reader that must not write (audit)
            return
        for row in owners:
            for name in ("first_name", "last_name"):
                if _clear(getattr(row, name)):
                    setattr(row, name, vault.seal(row.party_id, getattr(row, name)))
            for digest in email_digests(keyed_hash, row.emails or ()):
                session.merge(
                    MatchKey(
                        party_id=row.party_id,
                        source=row.certificate_number,
                        point=EMAIL,
                        digest=digest,
                    )
                )
            row.emails = []
        for row in drafts:
            for name in ("first_name", "last_name", "email", "user_id"):
                if _clear(getattr(row, name)):
                    setattr(row, name, vault.seal(row.party_id, getattr(row, name)))
