"""An identity database written before personal values were sealed is brought up to date at
start-up: new columns added, clear names sealed, clear emails turned into keyed hashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, insert, select, text

from services.identity.application import IdentityApplication
from services.identity.tables import MatchKey, Owner, RegistrationDraft
from shared.sqldb import make_engine
from tests.unit.test_identity_support import (
    AVERY,
    CREDENTIALS,
    KEYED_HASH,
    FakeClock,
    fresh_vault,
    personal,
)


def old_tables(metadata: MetaData) -> tuple[Table, Table]:
    owners = Table(
        "owners",
        metadata,
        Column("certificate_number", String(10), primary_key=True),
        Column("party_id", String(36)),
        Column("name_type", String(20)),
        Column("first_name", String(120)),
        Column("last_name", String(120)),
        Column("date_of_birth_digest", String(64)),
        Column("government_id_digest", String(64)),
        Column("government_id_last4", String(4)),
        Column("emails", JSON),
    )
    drafts = Table(
        "registration_drafts",
        metadata,
        Column("id_digest", String(64), primary_key=True),
        Column("created_at", DateTime(timezone=True)),
        Column("expires_at", DateTime(timezone=True)),
        Column("certificate_number", String(10)),
        Column("party_id", String(36)),
        Column("first_name", String(120)),
        Column("last_name", String(120)),
        Column("email", String(320)),
        Column("user_id", String(50)),
        Column("password_hash", String(200)),
        Column("security_questions", JSON),
    )
    return owners, drafts


def test_an_older_database_is_sealed_at_start_up(tmp_path) -> None:
    fresh_vault()
    engine = make_engine(f"sqlite:///{tmp_path / 'identity.sqlite'}")
    owners, drafts = old_tables(MetaData())
    owners.metadata.create_all(engine)
    now = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(owners).values(
                certificate_number=AVERY.certificate_number,
                party_id=str(AVERY.party_id),
                name_type="Person",
                first_name="Avery",
                last_name="Demo",
                date_of_birth_digest=KEYED_HASH.digest("date_of_birth", "1970-03-14"),
                government_id_digest=KEYED_HASH.digest("government_id", "123-45-6789"),
                government_id_last4="6789",
                emails=["Avery@Example.com"],
            )
        )
        connection.execute(
            insert(drafts).values(
                id_digest="0" * 64,
                created_at=now,
                expires_at=now + timedelta(minutes=30),
                certificate_number=AVERY.certificate_number,
                party_id=str(AVERY.party_id),
                first_name="Avery",
                last_name="Demo",
                email="avery@example.com",
                user_id="avery01",
            )
        )

    app = IdentityApplication(
        keyed_hash=KEYED_HASH, engine=engine, credentials=CREDENTIALS, clock=FakeClock()
    )

    with engine.connect() as connection:
        owners_dump = repr(connection.execute(text("SELECT * FROM owners")).all())
        dump = owners_dump + repr(
            connection.execute(text("SELECT * FROM registration_drafts")).all()
        )
        keys = connection.execute(select(MatchKey.point, MatchKey.digest)).all()
    assert "Avery" not in dump and "avery" not in dump.lower().replace("pii:v1:", "")
    assert keys == [("email", KEYED_HASH.digest("email", "avery@example.com"))]
    owner = app.registry.owner_of(AVERY.certificate_number)
    assert owner is not None and (owner.first_name, owner.last_name) == ("Avery", "Demo")
    assert owner.status is None  # the new columns are there (filled by the next events)
    # The owner is still matched: registration and Forgot User ID work as before.
    draft = app.start_registration(**personal(AVERY))
    assert draft.first_name == "Avery"
    with engine.connect() as connection:
        columns = set(connection.execute(select(Owner)).keys())
        assert {"status", "erased_at"} <= columns
        assert connection.execute(select(RegistrationDraft.user_id)).scalars().all()
    # Idempotent: a second start changes nothing.
    IdentityApplication(keyed_hash=KEYED_HASH, engine=engine, credentials=CREDENTIALS)
    with engine.connect() as connection:
        assert repr(connection.execute(text("SELECT * FROM owners")).all()) == owners_dump
