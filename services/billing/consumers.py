"""Billing's reactions to other services' events (consumer group `billing`).

- CertificateIssued → the billing account opens (with the certificate's status);
- CertificateStatusChanged → the account mirrors the status, which decides whether payments
  are accepted, premiums billed and unpaid premiums defaulted (`schedule.py`).
"""

from __future__ import annotations

from services.billing.application import BillingApplication
from shared.contracts import policy
from shared.contracts.envelope import Envelope
from shared.messaging.eventsourced_sink import EventSourcedSink

CONSUMER_NAME = "billing"


def billing_sink(app: BillingApplication) -> EventSourcedSink:
    def open_account(envelope: Envelope, event: policy.CertificateIssued) -> list:
        return app.open_account(
            certificate_number=event.certificate_number,
            owner_party_id=event.owner_party_id,
            payor_name=event.payor_name,
            payment_frequency=event.payment_frequency.value,
            payment_method=event.payment_method.value,
            premium=event.premium,
            effective_date=event.effective_date,
            status=event.status,
        )

    def mirror_status(envelope: Envelope, event: policy.CertificateStatusChanged) -> list:
        return app.mirror_status(event.certificate_number, event.status, event.status_date)

    return EventSourcedSink(
        app,
        CONSUMER_NAME,
        {
            policy.CertificateIssued: open_account,  # type: ignore[dict-item]
            policy.CertificateStatusChanged: mirror_status,  # type: ignore[dict-item]
        },
    )


SUBSCRIBED_TOPICS = [policy.TOPIC]
