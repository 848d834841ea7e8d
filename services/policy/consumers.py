"""Policy's reactions to other services' events (consumer group `policy`, on billing.events).

PremiumDefaulted (a premium unpaid past its 31-day grace period): the certificate continues
under its nonforfeiture option or lapses, dated the default's date (the rule is in
`nonforfeiture.py`). An `EventSourcedSink`: the status change, the consumer's position and
the marker of the upstream event are stored in one transaction, so a redelivered or
re-published default changes the status once. A certificate that is no longer premium-paying
changes nothing (the position still moves on). A default for a certificate policy never
issued cannot be applied: it is rejected to the dead-letter topic with the reason.
"""

from __future__ import annotations

from services.policy.application import CertificateNotFound, PolicyApplication
from services.policy.domain import Certificate
from shared.contracts import billing
from shared.contracts.envelope import Envelope
from shared.messaging.eventsourced_sink import EventSourcedSink
from shared.messaging.records import RejectedMessage

CONSUMER_NAME = "policy"
SUBSCRIBED_TOPICS = [billing.TOPIC]


def policy_sink(app: PolicyApplication) -> EventSourcedSink:
    def premium_defaulted(envelope: Envelope, event: billing.PremiumDefaulted) -> list[Certificate]:
        try:
            return app.premium_defaulted(event.certificate_number, event.defaulted_on)
        except CertificateNotFound as exc:
            raise RejectedMessage(str(exc)) from exc

    return EventSourcedSink(app, CONSUMER_NAME, {billing.PremiumDefaulted: premium_defaulted})
