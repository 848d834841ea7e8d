"""Identity's consumer group `identity` on policy.events: the owners registry.

A `SqlSink` in identity's own database: each certificate's owner as policy issued it (names,
keyed hashes of date of birth and government ID, last 4, emails), and the emails again when
policy publishes the owner's new contact information (one event per certificate held).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.identity.tables import IdentityTable, Owner
from shared.contracts import policy
from shared.contracts.envelope import Envelope
from shared.messaging.sql_sink import SqlSink
from shared.sqldb import create_tables

CONSUMER_NAME = "identity"
SUBSCRIBED_TOPICS = [policy.TOPIC]


def certificate_issued(session: Session, _: Envelope, event: policy.CertificateIssued) -> None:
    owner = event.owner
    session.merge(
        Owner(
            certificate_number=event.certificate_number,
            party_id=str(owner.party_id),
            name_type=owner.name_type,
            first_name=owner.first_name,
            last_name=owner.last_name,
            date_of_birth_digest=owner.date_of_birth_digest,
            government_id_digest=owner.government_id_digest,
            government_id_last4=owner.government_id_last4,
            emails=[str(e) for e in owner.contact.emails],
        )
    )


def contact_information_updated(
    session: Session, _: Envelope, event: policy.ContactInformationUpdated
) -> None:
    row = session.get(Owner, event.certificate_number)
    if row is not None and row.party_id == str(event.owner_party_id):
        row.emails = [str(e) for e in event.contact.emails]


def identity_sink(engine: Engine) -> SqlSink:
    create_tables(IdentityTable.metadata, engine)
    return SqlSink(
        engine,
        CONSUMER_NAME,
        {
            policy.CertificateIssued: certificate_issued,
            policy.ContactInformationUpdated: contact_information_updated,
        },
    )
