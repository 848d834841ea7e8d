"""Helpers shared by the documents tests (no tests here): a movable clock, policy's events as
documents' consumer receives them, and readers of what the service recorded and published."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid5

from pypdf import PdfReader

from services.documents.application import DocumentsApplication
from services.documents.consumers import documents_sink
from services.documents.domain import Document
from services.documents.integration import to_integration
from shared.contracts import policy
from shared.contracts.envelope import Envelope, parse_event
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox

TOPIC = "policy.events"
PARTIES = UUID("0f6c4d0a-3a59-4c65-9b1f-2f5d0c9e7a11")
DIGEST = "0" * 64


class FakeClock:
    """The time the application sees; tests move it."""

    def __init__(self, start: datetime = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class ListDeadLetters:
    def __init__(self) -> None:
        self.letters: list = []

    async def publish(self, topic, partition, offset, value, headers, reason, consumer) -> None:
        self.letters.append((topic, offset, reason))


@dataclass(frozen=True)
class Owner:
    certificate_number: str = "0000100001"
    first_name: str = "Avery"
    last_name: str = "Demo"
    emails: tuple[str, ...] = ("avery@example.com",)
    party_id: UUID = field(default_factory=lambda: uuid5(PARTIES, "avery"))

    @property
    def certificate_id(self) -> UUID:
        """Policy's aggregate id of the certificate (the envelopes' aggregate_id)."""
        return uuid5(PARTIES, f"certificate:{self.certificate_number}")


AVERY = Owner()
BLAKE = Owner("0000100002", "Blake", "Sample", ("blake@example.com",), uuid5(PARTIES, "blake"))


def _contact(owner: Owner, city: str = "Tolland", state: str = "CT") -> policy.ContactInformation:
    return policy.ContactInformation(
        address=policy.Address(street=["12 Elm Street"], city=city, state=state, zip_code="06084"),
        emails=list(owner.emails),
    )


def certificate_issued(owner: Owner = AVERY, premium: str = "44.00") -> policy.CertificateIssued:
    insured = policy.Insured(
        insured_id="I1",
        first_name=owner.first_name,
        last_name=owner.last_name,
        relationship="Owner",
        date_of_birth=f"pii:v1:{owner.party_id}:c2VhbGVk",
        birth_year_month="1983-11",
    )
    return policy.CertificateIssued(
        certificate_number=owner.certificate_number,
        owner_party_id=owner.party_id,
        product_code="WL",
        product_name="Harborview Whole Life",
        status="Active Premium Paying",
        currency="USD",
        application_date=date(2015, 9, 18),
        effective_date=date(2015, 12, 1),
        premium=Decimal(premium),
        payment_frequency="Monthly",
        payment_method="List Bill",
        payor_name=f"{owner.first_name} {owner.last_name}",
        owner=policy.OwnerParty(
            party_id=owner.party_id,
            first_name=owner.first_name,
            last_name=owner.last_name,
            date_of_birth=f"pii:v1:{owner.party_id}:c2VhbGVk",
            date_of_birth_digest=DIGEST,
            government_id_digest=DIGEST,
            government_id_last4="6789",
            contact=_contact(owner),
        ),
        benefits=[
            policy.Benefit(
                benefit_id="B1",
                product_name="Whole Life Base",
                coverage_code="WL01",
                status="Active",
                effective_date=date(2015, 12, 1),
                coverage_amount=Decimal("12137.00"),
                net_benefit_value=None,
                insureds=[insured],
            )
        ],
    )


def contact_updated(
    owner: Owner = AVERY, city: str = "Hartford", state: str = "CT"
) -> policy.ContactInformationUpdated:
    return policy.ContactInformationUpdated(
        certificate_number=owner.certificate_number,
        owner_party_id=owner.party_id,
        contact=_contact(owner, city, state),
    )


def envelope_of(
    event,
    aggregate_id: UUID,
    version: int = 1,
    occurred_at: datetime = datetime(2024, 6, 3, 8, 0, tzinfo=UTC),
) -> Envelope:
    return Envelope.wrap(
        event,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        occurred_at=occurred_at,
        certificate_number=event.certificate_number,
    )


def make_documents(clock: FakeClock | None = None) -> DocumentsApplication:
    return DocumentsApplication(clock=clock or FakeClock())


def consumer_of(app: DocumentsApplication) -> ConsumerCore:
    return ConsumerCore(documents_sink(app), [TOPIC], ListDeadLetters())


class Upstream:
    """Policy's side of the topic: hands envelopes to documents' consumer at new offsets."""

    def __init__(self, app: DocumentsApplication) -> None:
        self.core = consumer_of(app)
        self.offset = 0

    async def deliver(self, envelope: Envelope, offset: int | None = None) -> None:
        if offset is None:
            self.offset += 1
            offset = self.offset
        await self.core.handle(TOPIC, 0, offset, envelope.to_bytes(), {})

    async def issue(self, owner: Owner = AVERY, premium: str = "44.00") -> Envelope:
        envelope = envelope_of(certificate_issued(owner, premium), owner.certificate_id, 1)
        await self.deliver(envelope)
        return envelope

    async def update_contact(self, owner: Owner = AVERY, version: int = 2, **where) -> Envelope:
        envelope = envelope_of(contact_updated(owner, **where), owner.certificate_id, version)
        await self.deliver(envelope)
        return envelope


def published(app: DocumentsApplication) -> list[Envelope]:
    """Every integration event documents.events would carry, in order."""
    records, _ = Outbox(app, "documents.events", to_integration).read(0, limit=10_000)
    return [Envelope.model_validate_json(r.value) for r in records]


def of_type(app: DocumentsApplication, event_type: str) -> list[dict]:
    """The payloads of one type, as a consumer reads them (personal fields opened)."""
    return [
        parse_event(e.to_bytes())[1].model_dump(mode="json")  # type: ignore[union-attr]
        for e in published(app)
        if e.event_type == event_type
    ]


def documents(app: DocumentsApplication) -> list[Document]:
    return [app.repository.get(UUID(d["document_id"])) for d in of_type(app, "DocumentGenerated")]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
