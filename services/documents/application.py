"""The documents service's application: every command, one method each.

| command                | who           | records                                         |
|------------------------|---------------|-------------------------------------------------|
| `generate_letter`      | back office   | DocumentGenerated (+ DocumentMailed for Mail)   |
| `set_preferences`      | owner         | DeliveryPreferencesChanged (full list)          |
| `mark_opened`          | owner         | DocumentOpened (the first time only)            |
| `queue_notifications`  | mail side     | the emails of Portal documents (`notifications.py`) |
| `record_notification_outcome` | mail side | NotificationSent / NotificationFailed        |

Reactions to policy's events (certificate at issue, contact-change letter) are in
`consumers.py`. Queries: `delivery_preferences`; content by hash from `content_store`.

Constructed with an SQLAlchemy engine on the documents database (mail outbox; in memory when
omitted), a content store (the `document_contents` table of that engine when omitted), a clock
(tests move it) and the portal URL named in notification emails.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from services.documents.core import MAX_CONFLICT_RETRIES, normalized_number
from services.documents.domain import Document
from services.documents.errors import CertificateNotFound
from services.documents.notifications import NotificationCommands
from services.documents.pdf import LetterContent
from services.documents.preferences import (
    DeliveryPreferences,
    Selection,
    default_preferences,
    resolve,
)
from shared.contracts.documents import Preference

__all__ = ["DocumentsApplication", "Selection"]


class DocumentsApplication(NotificationCommands):
    name = "documents"

    def generate_letter(
        self,
        certificate_number: str,
        *,
        description: str,
        paragraphs: Sequence[str],
        created_on: date | None = None,
        request_id: str | None = None,
    ) -> Document:
        """A letter to the certificate's owner, now (or dated `created_on`, for letters
        loaded from an older system). The same `request_id` answers the same letter."""
        number = normalized_number(certificate_number)
        on_file = self.on_file(number) if number else None
        if on_file is None:
            raise CertificateNotFound()
        created_on = created_on or self.today()
        source = f"letter:{on_file.certificate_number}:{request_id or uuid4()}"
        content = LetterContent(
            certificate_number=on_file.certificate_number,
            owner_name=on_file.owner_name,
            created_on=created_on,
            description=description,
            paragraphs=tuple(paragraphs),
        )
        document = self.prepare_document(
            source=source,
            on_file=on_file,
            document_type="letter",
            content=content,
            created_on=created_on,
            description=description,
        )
        try:
            self.save(document)
        except IntegrityError:  # the same request again: the letter it made
            existing = self.find_document(document.id)
            if existing is None:
                raise
            return existing
        return document

    def set_preferences(
        self, certificate_number: str, owner_party_id: UUID, selections: Sequence[Selection]
    ) -> dict[str, Preference]:
        """Apply `selections` (a type or "all", Portal or Mail, emails) on top of the current
        preferences; refused as a whole if one breaks a rule. Only the owner may. Answers the
        resulting preferences of the 7 types."""
        on_file = self.owned_certificate(certificate_number, owner_party_id)
        number = on_file.certificate_number
        for _ in range(MAX_CONFLICT_RETRIES):
            preferences = self.preferences_of(number)
            current = preferences.current() if preferences else default_preferences()
            wanted = resolve(current, selections)
            if preferences is None:
                if wanted == current:
                    return wanted
                preferences = DeliveryPreferences.start(number, on_file.owner_party_id, wanted)
            elif not preferences.change(wanted):
                return wanted
            try:
                self.save(preferences)
            except IntegrityError:
                continue  # changed concurrently: apply the selections to the newer state
            return wanted
        raise RuntimeError("the preferences kept changing concurrently; try again")

    def mark_opened(self, document_id: UUID | str, owner_party_id: UUID) -> Document:
        document = self.owned_document(document_id, owner_party_id)
        if document.opened_at is not None:
            return document
        return self.update(
            lambda: self.repository.get(document.id), lambda d: d.open(at=self.clock())
        )

    # --- queries ------------------------------------------------------------------------

    def delivery_preferences(
        self, certificate_number: str, owner_party_id: UUID
    ) -> dict[str, Preference]:
        """The current preferences (Mail for every type when none were chosen)."""
        on_file = self.owned_certificate(certificate_number, owner_party_id)
        preferences = self.preferences_of(on_file.certificate_number)
        return preferences.current() if preferences else default_preferences()
