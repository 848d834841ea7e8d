"""The Document aggregate: one generated PDF for one certificate, and what became of it.

Lifecycle: Generated (content hash, size, delivery method decided from the certificate's
preferences at that moment) → Mailed (Mail delivery, right at generation, for the print
vendor's feed) or a notification email (Portal delivery) whose final outcome the mail side
records as NotificationSent / NotificationFailed → Opened (the first time the owner opens it;
later opens record nothing).

A document's id is deterministic: `uuid5(source, document type)` where the source is the
triggering upstream event (`<aggregate id>:<version>`) or a back-office request, so the same
trigger can never make a second document.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.contracts.documents import DOCUMENT_TYPES

DOCUMENT_NAMESPACE = UUID("5d3f0f0e-8d1c-4c61-9a43-1f6f2b7d9e21")

# The guide (eDelivery – Home Page): "Description added for letters is a new field added on
# 1/18/21 and will apply going forward". Letters created before it have no description.
DESCRIPTION_CUTOVER = date(2021, 1, 18)
LETTER_TYPES = frozenset({"letter", "denial_letter"})

LABELS: dict[str, str] = {
    "certificate": "Insurance certificate",
    "bill": "Bill",
    "notice": "Notice",
    "annual_statement": "Annual statement",
    "letter": "Letter",
    "eob": "Explanation of Benefits (EOB)",
    "denial_letter": "Claim denial letter",
}
assert set(LABELS) == set(DOCUMENT_TYPES)


def document_id_for(source: str, document_type: str) -> UUID:
    return uuid5(DOCUMENT_NAMESPACE, f"{source}|{document_type}")


def description_for(document_type: str, created_on: date, description: str | None) -> str | None:
    """Only letters carry a description, and only those created on or after the cut-over."""
    if document_type not in LETTER_TYPES or created_on < DESCRIPTION_CUTOVER:
        return None
    return description


class Document(Aggregate):
    @staticmethod
    def create_id(source: str, document_type: str, **_: object) -> UUID:
        return document_id_for(source, document_type)

    @event("Generated")
    def __init__(
        self,
        source: str,
        certificate_number: str,
        owner_party_id: UUID,
        document_type: str,
        description: str | None,
        created_on: date,
        content_hash: str,
        size_bytes: int,
        delivery_method: str,
        preferences_version: int | None,
    ) -> None:
        self.source = source
        self.certificate_number = certificate_number
        self.owner_party_id = owner_party_id
        self.document_type = document_type
        self.description = description
        self.document_date = created_on  # (`created_on` is the aggregate's own timestamp)
        self.content_hash = content_hash
        self.size_bytes = size_bytes
        self.delivery_method = delivery_method
        # Portal delivery: the version of the preferences whose addresses are notified.
        self.preferences_version = preferences_version
        self.mailed_on: date | None = None
        self.opened_at: datetime | None = None
        self.notification: str | None = None  # "sent" | "failed" once final

    def belongs_to(self, owner_party_id: UUID) -> bool:
        return self.owner_party_id == owner_party_id

    # --- commands ------------------------------------------------------------------------

    def mail(self, on: date) -> None:
        """Hand the document to the print vendor (once)."""
        if self.mailed_on is None:
            self._mailed(self.certificate_number, self.document_type, on)

    def open(self, at: datetime) -> bool:
        """The owner opened it; only the first time is recorded. True if recorded now."""
        if self.opened_at is not None:
            return False
        self._opened(self.certificate_number, at)
        return True

    def notification_finished(
        self, *, sent: int, failed: int, attempts: int, at: datetime, error: str | None
    ) -> bool:
        """The final outcome of the notification emails (one per address). Recorded once."""
        if self.notification is not None or self.delivery_method != "Portal":
            return False
        if sent:
            self._notification_sent(self.certificate_number, at, sent, failed, attempts)
        else:
            self._notification_failed(self.certificate_number, at, failed, attempts, error)
        return True

    # --- events --------------------------------------------------------------------------

    @event("Mailed")
    def _mailed(self, certificate_number: str, document_type: str, mailed_on: date) -> None:
        self.mailed_on = mailed_on

    @event("Opened")
    def _opened(self, certificate_number: str, opened_at: datetime) -> None:
        self.opened_at = opened_at

    @event("NotificationSent")
    def _notification_sent(
        self,
        certificate_number: str,
        sent_at: datetime,
        recipients: int,
        failed: int,
        attempts: int,
    ) -> None:
        self.notification = "sent"

    @event("NotificationFailed")
    def _notification_failed(
        self,
        certificate_number: str,
        failed_at: datetime,
        recipients: int,
        attempts: int,
        error: str | None,
    ) -> None:
        self.notification = "failed"
