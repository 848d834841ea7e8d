"""What every documents command shares: collaborators, look-ups, generation, retried updates.

Commands live in `application.py` (owners and the back office) and `notifications.py` (the
mail side); reactions to upstream events in `consumers.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from sqlalchemy.engine import Engine

from services.documents.certificates import CertificateOnFile, on_file_id
from services.documents.content import ContentStore, SqlContentStore, key_class_of
from services.documents.domain import Document, description_for
from services.documents.errors import CertificateNotFound, DocumentNotFound
from services.documents.pdf import render
from services.documents.personal import PERSONAL_FIELDS
from services.documents.preferences import DeliveryPreferences, preferences_id
from services.documents.tables import documents_engine
from shared.contracts.types import pad_certificate_number
from shared.eventstore import ServiceApplication
from shared.mail import MailOutbox

Clock = Callable[[], datetime]
A = TypeVar("A", bound=Aggregate)
MAX_CONFLICT_RETRIES = 5
DEFAULT_PORTAL_URL = "http://127.0.0.1:8000/documents"


def utc_now() -> datetime:
    return datetime.now(UTC)


def normalized_number(number: str) -> str | None:
    """The 10-digit certificate number, or None if `number` cannot be one."""
    try:
        return pad_certificate_number(number)
    except ValueError:
        return None


class DocumentsCore(ServiceApplication):
    personal_fields = PERSONAL_FIELDS

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        engine: Engine | None = None,
        content_store: ContentStore | None = None,
        clock: Clock = utc_now,
        portal_url: str = DEFAULT_PORTAL_URL,
    ) -> None:
        super().__init__(env)
        self.engine = engine or documents_engine()
        self.content_store = content_store or SqlContentStore(self.engine)
        self.clock = clock
        self.portal_url = portal_url
        self.mail = MailOutbox(self.engine, clock)

    def today(self) -> date:
        return self.clock().date()

    # --- look-ups -----------------------------------------------------------------------

    def on_file(self, certificate_number: str) -> CertificateOnFile | None:
        return self._get(on_file_id(certificate_number), CertificateOnFile)

    def preferences_of(self, certificate_number: str) -> DeliveryPreferences | None:
        return self._get(preferences_id(certificate_number), DeliveryPreferences)

    def find_document(self, document_id: UUID) -> Document | None:
        return self._get(document_id, Document)

    def owned_certificate(self, certificate_number: str, owner_party_id: UUID) -> CertificateOnFile:
        """The certificate if `owner_party_id` owns it; unknown and not-yours answer alike."""
        number = normalized_number(certificate_number)
        on_file = self.on_file(number) if number else None
        if on_file is None or not on_file.belongs_to(owner_party_id):
            raise CertificateNotFound()
        return on_file

    def owned_document(self, document_id: UUID | str, owner_party_id: UUID) -> Document:
        try:
            key = document_id if isinstance(document_id, UUID) else UUID(str(document_id))
        except ValueError:
            raise DocumentNotFound() from None
        document = self.find_document(key)
        if document is None or not document.belongs_to(owner_party_id):
            raise DocumentNotFound()
        return document

    def _get(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    # --- generation ---------------------------------------------------------------------

    def prepare_document(
        self,
        *,
        source: str,
        on_file: CertificateOnFile,
        document_type: str,
        content: Any,
        created_on: date,
        description: str | None = None,
    ) -> Document:
        """Render and store the PDF, decide the delivery method from the certificate's
        preferences, and answer the new (unsaved) document; Mail delivery is recorded at once.
        """
        pdf = render(document_type, content)
        digest = self.content_store.put(pdf, on_file.owner_party_id, key_class_of(document_type))
        preferences = self.preferences_of(on_file.certificate_number)
        method = "Mail"
        if preferences is not None and preferences.owner_party_id == on_file.owner_party_id:
            method = preferences.method_for(document_type)
        document = Document(
            source=source,
            certificate_number=on_file.certificate_number,
            owner_party_id=on_file.owner_party_id,
            document_type=document_type,
            description=description_for(document_type, created_on, description),
            created_on=created_on,
            content_hash=digest,
            size_bytes=len(pdf),
            delivery_method=method,
            preferences_version=preferences.version if preferences and method == "Portal" else None,
        )
        if method == "Mail":
            document.mail(on=created_on)
        return document

    # --- writing ------------------------------------------------------------------------

    def update(self, load: Callable[[], A], change: Callable[[A], object]) -> A:
        """Load, change, save; on a concurrent write, again from a fresh load."""
        for _ in range(MAX_CONFLICT_RETRIES):
            aggregate = load()
            change(aggregate)
            try:
                self.save(aggregate)
            except IntegrityError:
                continue
            return aggregate
        raise RuntimeError("the record kept changing concurrently; try again")
