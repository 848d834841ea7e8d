"""What the documents service keeps of each certificate, from policy's events (never a call to
policy): its owner party, the owner's name (letters, first name in notification emails), the
emails on file and the mailing city/state.

Kept as a small aggregate per certificate (id `uuid5(certificate number)`) rather than a SQL
table, so the reaction that updates it and the documents it triggers are stored in the one
transaction that also records the consumer's position. The names, emails and city/state rest
sealed with the owner's keys (`personal.py`); once shredded they read "" and [].
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

ON_FILE_NAMESPACE = UUID("a4b0e7d2-31c5-4f58-8e1b-9c7d2f6a0b13")


def on_file_id(certificate_number: str) -> UUID:
    return uuid5(ON_FILE_NAMESPACE, certificate_number)


class CertificateOnFile(Aggregate):
    @staticmethod
    def create_id(certificate_number: str, **_: object) -> UUID:
        return on_file_id(certificate_number)

    @event("Registered")
    def __init__(
        self,
        certificate_number: str,
        owner_party_id: UUID,
        first_name: str,
        last_name: str,
        emails: list[str],
        city: str,
        state: str,
    ) -> None:
        self.certificate_number = certificate_number
        self.owner_party_id = owner_party_id
        self.first_name = first_name
        self.last_name = last_name
        self.emails = list(emails)
        self.city = city
        self.state = state

    @property
    def owner_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def belongs_to(self, owner_party_id: UUID) -> bool:
        return self.owner_party_id == owner_party_id

    def update_contact(self, emails: list[str], city: str, state: str) -> None:
        self._contact_updated(list(emails), city, state, self.owner_party_id)

    @event("ContactUpdated")
    def _contact_updated(
        self, emails: list[str], city: str, state: str, owner_party_id: UUID | None = None
    ) -> None:
        # `owner_party_id`: whose key the emails and place are sealed with at rest (None in
        # events stored before they were sealed).
        self.emails = list(emails)
        self.city = city
        self.state = state
