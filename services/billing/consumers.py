"""Billing's reactions to other services' events (consumer group `billing`)."""

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
            payor_name=event.payor_name,
            payment_frequency=event.payment_frequency.value,
            payment_method=event.payment_method.value,
            premium=event.premium,
            effective_date=event.effective_date,
        )

    return EventSourcedSink(app, CONSUMER_NAME, {policy.CertificateIssued: open_account})


SUBSCRIBED_TOPICS = [policy.TOPIC]
