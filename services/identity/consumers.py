"""Identity's consumer group `identity` on policy.events: the owners registry.

A `SqlSink` in identity's own database: each certificate's owner as policy issued it (names
sealed under the owner's personal key, keyed hashes of date of birth and government ID, last
4), its status as it changes (in force or not: what the privacy office's exemptions depend
on), and the keyed hashes the privacy office matches a requester on (`owner_match_keys`: name,
date of birth, emails, cell number, postal address), renewed when policy publishes the
owner's new contact information (one event per certificate held).

Once an owner's personal data has been erased (`Owner.erased_at`), only the status of their
certificates is taken in: a redelivered or replayed event does not bring the rest back.
Values policy publishes for an erased person open to placeholders ("" names, no emails …):
digests are only computed from values that are there.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.identity.matching import (
    ADDRESS,
    CELL,
    DATE_OF_BIRTH,
    EMAIL,
    Identifiers,
    digests,
    email_digests,
)
from services.identity.tables import IdentityTable, MatchKey, Owner
from shared import personal_data
from shared.contracts import policy
from shared.contracts.envelope import Envelope
from shared.messaging.sql_sink import SqlSink
from shared.personal_data import KeyedHash
from shared.sqldb import create_tables

CONSUMER_NAME = "identity"
SUBSCRIBED_TOPICS = [policy.TOPIC]
CONTACT_POINTS = (EMAIL, CELL, ADDRESS)


def _seal(party_id: str, value: str) -> str:
    return personal_data.installed().seal(party_id, value) if value else ""


def _contact_identifiers(contact: policy.ContactInformation) -> Identifiers:
    address = contact.address
    street = address.street[0] if address is not None and address.street else None
    return Identifiers(
        cell=contact.phones.cell if contact.phones else None,
        street=street,
        zip_code=address.zip_code if address is not None else None,
    )


class OwnersProjection:
    def __init__(self, keyed_hash: KeyedHash) -> None:
        self.keyed_hash = keyed_hash

    def _match_keys(
        self, party_id: str, source: str, identifiers: Identifiers, emails: list[str]
    ) -> list[MatchKey]:
        keys = [
            MatchKey(party_id=party_id, source=source, point=point, digest=digest)
            for point, digest in digests(self.keyed_hash, identifiers.keys()).items()
        ]
        keys += [
            MatchKey(party_id=party_id, source=source, point=EMAIL, digest=digest)
            for digest in email_digests(self.keyed_hash, emails)
        ]
        return keys

    def certificate_issued(
        self, session: Session, _: Envelope, event: policy.CertificateIssued
    ) -> None:
        owner = event.owner
        party_id = str(owner.party_id)
        row = session.get(Owner, event.certificate_number)
        if row is not None and row.erased_at is not None:
            row.status = event.status
            return
        session.merge(
            Owner(
                certificate_number=event.certificate_number,
                party_id=party_id,
                name_type=owner.name_type,
                first_name=_seal(party_id, owner.first_name),
                last_name=_seal(party_id, owner.last_name),
                date_of_birth_digest=owner.date_of_birth_digest,
                government_id_digest=owner.government_id_digest,
                government_id_last4=owner.government_id_last4,
                emails=[],
                status=event.status,
                status_date=None,
                erased_at=None,
            )
        )
        session.execute(
            delete(MatchKey).where(
                MatchKey.party_id == party_id, MatchKey.source == event.certificate_number
            )
        )
        contact = _contact_identifiers(owner.contact)
        identifiers = Identifiers(
            first_name=owner.first_name,
            last_name=owner.last_name,
            cell=contact.cell,
            street=contact.street,
            zip_code=contact.zip_code,
        )
        emails = [str(e) for e in owner.contact.emails]
        keys = self._match_keys(party_id, event.certificate_number, identifiers, emails)
        if owner.date_of_birth_digest:  # policy's own digest (the same keyed hash)
            keys.append(
                MatchKey(
                    party_id=party_id,
                    source=event.certificate_number,
                    point=DATE_OF_BIRTH,
                    digest=owner.date_of_birth_digest,
                )
            )
        for key in keys:
            session.merge(key)

    def contact_information_updated(
        self, session: Session, _: Envelope, event: policy.ContactInformationUpdated
    ) -> None:
        row = session.get(Owner, event.certificate_number)
        party_id = str(event.owner_party_id)
        if row is None or row.party_id != party_id or row.erased_at is not None:
            return
        session.execute(
            delete(MatchKey).where(
                MatchKey.party_id == party_id,
                MatchKey.source == event.certificate_number,
                MatchKey.point.in_(CONTACT_POINTS),
            )
        )
        emails = [str(e) for e in event.contact.emails]
        identifiers = _contact_identifiers(event.contact)
        for key in self._match_keys(party_id, event.certificate_number, identifiers, emails):
            session.merge(key)

    def status_changed(
        self, session: Session, _: Envelope, event: policy.CertificateStatusChanged
    ) -> None:
        row = session.get(Owner, event.certificate_number)
        if row is not None:
            row.status = event.status
            row.status_date = event.status_date.isoformat()


def identity_sink(engine: Engine, keyed_hash: KeyedHash) -> SqlSink:
    create_tables(IdentityTable.metadata, engine)
    projection = OwnersProjection(keyed_hash)
    return SqlSink(
        engine,
        CONSUMER_NAME,
        {
            policy.CertificateIssued: projection.certificate_issued,
            policy.ContactInformationUpdated: projection.contact_information_updated,
            policy.CertificateStatusChanged: projection.status_changed,
        },
    )
