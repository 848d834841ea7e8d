"""Documents' consumer group `documents` on policy.events, billing.events, claims.events and
identity.events: what is on file about each certificate (policy's events), the documents
upstream facts trigger (`triggers.TRIGGERS`: certificates and letters from policy; bills,
annual statements and premium default notices from billing; EOBs and claim denial letters from
claims), and the purge a request to delete calls for (PersonalDataErased: `erasure.py`; the
other events of identity.events only move the position on).

An `EventSourcedSink`: for each event, the certificate-on-file update and the new documents
are stored in one transaction with the consumer's position and the marker of the upstream
event, so a redelivered or re-published event changes nothing. The document ids are also
deterministic (upstream aggregate id and version, document type): a second document for the
same trigger cannot be stored.

A contact change about a certificate that is not on file, or for another owner party than the
one on file, cannot be applied (policy publishes a certificate's events in order on one
partition, so either is an anomaly): it is rejected to the dead-letter topic with the reason,
and nothing is generated. A billing or claims event about a certificate not on file is early,
not wrong: billing and claims only act on certificates policy issued, so this group is behind
on policy.events (after a restart, say). Such an event is parked with its position
(`shared/messaging/parking.py`) and applied, with its documents, right after the certificate's
CertificateIssued.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.domain import Aggregate

from services.documents.application import DocumentsApplication
from services.documents.certificates import CertificateOnFile
from services.documents.erasure import erase_documents
from services.documents.triggers import TRIGGERS, Trigger
from shared.contracts import billing, claims, policy, privacy
from shared.contracts.envelope import Envelope, IntegrationEvent
from shared.messaging.eventsourced_sink import EventSourcedSink, Reaction
from shared.messaging.parking import WaitFor
from shared.messaging.records import RejectedMessage

CONSUMER_NAME = "documents"
SUBSCRIBED_TOPICS = [policy.TOPIC, billing.TOPIC, claims.TOPIC, privacy.TOPIC]

OnFileUpdate = Callable[[DocumentsApplication, Any], CertificateOnFile]


def register_certificate(
    app: DocumentsApplication, event: policy.CertificateIssued
) -> CertificateOnFile:
    if app.on_file(event.certificate_number) is not None:
        raise RejectedMessage(f"certificate {event.certificate_number} is already on file")
    owner = event.owner
    return CertificateOnFile(
        certificate_number=event.certificate_number,
        owner_party_id=event.owner_party_id,
        first_name=owner.first_name,
        last_name=owner.last_name,
        emails=[str(e) for e in owner.contact.emails],
        city=owner.contact.address.city,
        state=owner.contact.address.state,
    )


def update_contact(
    app: DocumentsApplication, event: policy.ContactInformationUpdated
) -> CertificateOnFile:
    on_file = _on_file(app, event.certificate_number)
    if not on_file.belongs_to(event.owner_party_id):
        raise RejectedMessage(f"certificate {event.certificate_number} has another owner on file")
    address = event.contact.address
    on_file.update_contact([str(e) for e in event.contact.emails], address.city, address.state)
    return on_file


ON_FILE_UPDATES: dict[type[IntegrationEvent], OnFileUpdate] = {
    policy.CertificateIssued: register_certificate,
    policy.ContactInformationUpdated: update_contact,
}


def _on_file(app: DocumentsApplication, certificate_number: str) -> CertificateOnFile:
    on_file = app.on_file(certificate_number)
    if on_file is None:
        raise RejectedMessage(f"certificate {certificate_number} is not on file")
    return on_file


def _awaited_on_file(app: DocumentsApplication, certificate_number: str) -> CertificateOnFile:
    """What is on file, or a wait for the certificate's CertificateIssued (the event is early)."""
    on_file = app.on_file(certificate_number)
    if on_file is None:
        raise WaitFor(certificate_number, f"certificate {certificate_number} is not on file yet")
    return on_file


def _generate(
    app: DocumentsApplication,
    trigger: Trigger,
    envelope: Envelope,
    event: Any,
    on_file: CertificateOnFile,
) -> Aggregate:
    created_on = trigger.dated(event) if trigger.dated else envelope.occurred_at.date()
    return app.prepare_document(
        source=f"{envelope.aggregate_id}:{envelope.aggregate_version}",
        on_file=on_file,
        document_type=trigger.document_type,
        content=trigger.compose(event, on_file, created_on),
        created_on=created_on,
        description=trigger.description,
    )


def reactions(app: DocumentsApplication) -> dict[type[IntegrationEvent], Reaction]:
    """One reaction per subscribed contract: update what is on file, then generate."""

    def reaction_for(contract: type[IntegrationEvent]) -> Reaction:
        update = ON_FILE_UPDATES.get(contract)
        triggers = [t for t in TRIGGERS if t.contract is contract]

        def react(envelope: Envelope, event: IntegrationEvent) -> list[Aggregate]:
            number = event.certificate_number  # type: ignore[attr-defined]
            on_file = update(app, event) if update else _awaited_on_file(app, number)
            documents = [
                _generate(app, t, envelope, event, on_file) for t in triggers if t.applies_to(event)
            ]
            return [on_file, *documents] if update else documents

        return react

    contracts = {*ON_FILE_UPDATES, *(t.contract for t in TRIGGERS)}
    found = {contract: reaction_for(contract) for contract in contracts}

    def erased(_: Envelope, event: IntegrationEvent) -> list[Aggregate]:
        return erase_documents(app, event)  # type: ignore[arg-type]

    return {**found, privacy.PersonalDataErased: erased}


def documents_sink(app: DocumentsApplication) -> EventSourcedSink:
    return EventSourcedSink(
        app,
        CONSUMER_NAME,
        reactions(app),
        releases={policy.CertificateIssued: lambda event: event.certificate_number},  # type: ignore[attr-defined]
    )
