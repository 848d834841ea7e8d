"""Helpers shared by the identity tests (no tests here): a movable clock, light argon2, owners
known from policy's events, and a registration in three steps."""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

from services.identity.application import IdentityApplication
from services.identity.consumers import identity_sink
from services.identity.credentials import SECURITY_QUESTIONS, Credentials
from services.identity.domain import UserAccount
from shared.contracts import policy
from shared.contracts.envelope import Envelope
from shared.messaging.records import Delivery
from shared.personal_data import KeyedHash, Vault, install
from shared.sqldb import make_engine

SECRET = b"identity-unit-tests-secret-0123456789abcdef"
KEYED_HASH = KeyedHash(SECRET)
CREDENTIALS = Credentials.for_tests()
PASSWORD = "Harbor-Light-42"
ANSWERS = [
    (SECURITY_QUESTIONS[0], "Rex"),
    (SECURITY_QUESTIONS[1], "Volvo"),
    (SECURITY_QUESTIONS[2], "Elm Street"),
]


class ListPublisher:
    """A broker that acknowledges everything and keeps it in a list."""

    def __init__(self) -> None:
        self.records: list = []

    async def publish(self, records) -> None:
        self.records.extend(records)


class ListDeadLetters:
    def __init__(self) -> None:
        self.letters: list = []

    async def publish(self, topic, partition, offset, value, headers, reason, consumer) -> None:
        self.letters.append((topic, offset, reason))


class FakeClock:
    """The time the application sees; tests move it."""

    def __init__(self, start: datetime = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class OwnerData:
    """A certificate owner as policy knows them (clear values: only digests reach identity)."""

    certificate_number: str = "0000100001"
    party_id: UUID = field(default_factory=uuid4)
    first_name: str = "Avery"
    last_name: str = "Demo"
    date_of_birth: date = date(1970, 3, 14)
    government_id: str = "123-45-6789"
    emails: tuple[str, ...] = ("avery@example.com",)
    name_type: str = "Person"

    def also_owning(self, certificate_number: str) -> OwnerData:
        return replace(self, certificate_number=certificate_number)


AVERY = OwnerData()


def fresh_vault() -> Vault:
    """A key store of the calling test's own, installed: a test that erases someone must not
    shred keys the next tests use (tests/conftest.py installs the session's again after)."""
    path = Path(tempfile.mkdtemp(prefix="keystore-")) / "keys.sqlite"
    return install(Vault(make_engine(f"sqlite:///{path}"), cache_seconds=0))


def make_identity(clock: FakeClock | None = None) -> IdentityApplication:
    return IdentityApplication(
        keyed_hash=KEYED_HASH, credentials=CREDENTIALS, clock=clock or FakeClock()
    )


def recorded(app: IdentityApplication) -> int:
    """The notification log's last id: what the application has recorded so far."""
    return app.recorder.max_notification_id() or 0


def _contact(emails: tuple[str, ...]) -> policy.ContactInformation:
    return policy.ContactInformation(
        address=policy.Address(
            street=["1 Harbor Way"], city="Springfield", state="IL", zip_code="62701"
        ),
        emails=list(emails),
    )


def certificate_issued(owner: OwnerData) -> policy.CertificateIssued:
    dob = owner.date_of_birth.isoformat()
    sealed = "pii:v1:" + str(owner.party_id) + ":" + base64.b64encode(b"sealed").decode()
    return policy.CertificateIssued(
        certificate_number=owner.certificate_number,
        owner_party_id=owner.party_id,
        product_code="WL",
        product_name="Whole Life",
        status="Active Premium Paying",
        currency="USD",
        application_date=date(2015, 11, 1),
        effective_date=date(2015, 12, 1),
        premium="44.00",
        payment_frequency="Monthly",
        payment_method="List Bill",
        payor_name=f"{owner.first_name} {owner.last_name}",
        owner=policy.OwnerParty(
            party_id=owner.party_id,
            name_type=owner.name_type,
            first_name=owner.first_name,
            last_name=owner.last_name,
            date_of_birth=sealed,
            date_of_birth_digest=KEYED_HASH.digest("date_of_birth", dob),
            government_id_digest=KEYED_HASH.digest("government_id", owner.government_id),
            government_id_last4=owner.government_id[-4:],
            contact=_contact(owner.emails),
        ),
    )


def contact_updated(owner: OwnerData, emails: tuple[str, ...]) -> policy.ContactInformationUpdated:
    return policy.ContactInformationUpdated(
        certificate_number=owner.certificate_number,
        owner_party_id=owner.party_id,
        contact=_contact(emails),
    )


_offsets = iter(range(1, 10**9))


def envelope_of(event, aggregate_id: UUID, version: int = 1) -> Envelope:
    return Envelope.wrap(
        event,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        occurred_at=datetime.now(UTC),
        certificate_number=event.certificate_number,
    )


def deliver(app: IdentityApplication, event, aggregate_id: UUID, version: int = 1) -> bool:
    """Hand one policy event to identity's consumer sink, as a delivery would."""
    delivery = Delivery(
        "policy.events", 0, next(_offsets), envelope_of(event, aggregate_id, version), event
    )
    return identity_sink(app.engine, KEYED_HASH).apply(delivery)


def issue(app: IdentityApplication, owner: OwnerData = AVERY) -> None:
    """Policy issued a certificate to `owner`, and identity's consumer has seen it."""
    certificate_id = UUID(int=int(owner.certificate_number))
    deliver(app, certificate_issued(owner), certificate_id)


def personal(owner: OwnerData = AVERY, **overrides) -> dict:
    values = {
        "certificate_number": owner.certificate_number,
        "first_name": owner.first_name,
        "last_name": owner.last_name,
        "email": owner.emails[0] if owner.emails else "owner@example.com",
        "date_of_birth": owner.date_of_birth,
        "government_id": owner.government_id,
    }
    values.update(overrides)
    return values


def register(
    app: IdentityApplication,
    owner: OwnerData = AVERY,
    user_id: str = "avery01",
    password: str = PASSWORD,
    **preferences: str,
) -> UserAccount:
    """The three registration steps, as the guide shows them."""
    draft = app.start_registration(**personal(owner))
    app.choose_credentials(
        draft.registration_id, user_id=user_id, password=password, security_questions=ANSWERS
    )
    return app.complete_registration(draft.registration_id, **preferences)
