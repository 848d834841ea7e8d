"""Claims' reactions to other services' events (consumer group `claims`, on policy.events).

CertificateIssued → the certificate goes on file with claims (`CertificateOnFile`: owner,
coverage codes, insureds), which is what a claim's submission is checked against. An
`EventSourcedSink`: the new aggregate, the consumer's position and the upstream event's marker
are stored in one transaction, so a redelivered or re-published event registers it once.
"""

from __future__ import annotations

from services.claims.application import ClaimsApplication
from services.claims.domain import CertificateOnFile
from shared.contracts import policy
from shared.contracts.envelope import Envelope
from shared.messaging.eventsourced_sink import EventSourcedSink

CONSUMER_NAME = "claims"
SUBSCRIBED_TOPICS = [policy.TOPIC]


def claims_sink(app: ClaimsApplication) -> EventSourcedSink:
    def register_certificate(
        envelope: Envelope, event: policy.CertificateIssued
    ) -> list[CertificateOnFile]:
        return app.register_certificate(
            certificate_number=event.certificate_number,
            owner_party_id=event.owner_party_id,
            owner_name=f"{event.owner.first_name} {event.owner.last_name}",
            benefits=[
                {
                    "coverage_code": benefit.coverage_code,
                    "insureds": [
                        insured.model_dump(
                            include={"insured_id", "first_name", "last_name", "relationship"}
                        )
                        for insured in benefit.insureds
                    ],
                }
                for benefit in event.benefits
            ],
        )

    return EventSourcedSink(
        app,
        CONSUMER_NAME,
        {policy.CertificateIssued: register_certificate},  # type: ignore[dict-item]
    )
