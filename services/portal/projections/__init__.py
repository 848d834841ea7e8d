"""Projections: integration events → read models. The same code in both modes.

Order between topics is not guaranteed (policy's, billing's, identity's, documents' and
claims' events travel separately), so every projector upserts only the columns its event
knows about. The projectors that write a person's values are `guarded`: once that person's
data was erased (PersonalDataErased, `erasure.py`), what they write is purged again.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from services.portal.projections import billing as billing_projections
from services.portal.projections import certificates, privacy, sessions
from services.portal.projections import claims as claims_projections
from services.portal.projections import documents as documents_projections
from services.portal.projections.erasure import guarded
from shared.contracts import billing, claims, documents, identity, policy
from shared.messaging.sql_sink import Projector, SqlSink

CONSUMER_NAME = "portal"
SUBSCRIBED_TOPICS = [policy.TOPIC, billing.TOPIC, identity.TOPIC, documents.TOPIC, claims.TOPIC]

# The events that carry a certificate owner's (or their insureds', payor's, patients')
# personal values into the read models.
PERSONAL: frozenset[type] = frozenset(
    {
        policy.CertificateIssued,
        policy.ContactInformationUpdated,
        billing.BillingAccountOpened,
        documents.DeliveryPreferencesChanged,
        claims.ClaimSubmitted,
        claims.ClaimStatusChanged,
        claims.ClaimIssued,
        claims.ClaimDenied,
    }
)

_PROJECTORS: dict[type, Projector] = {
    **certificates.PROJECTORS,
    **billing_projections.PROJECTORS,
    **sessions.PROJECTORS,
    **documents_projections.PROJECTORS,
    **claims_projections.PROJECTORS,
    **privacy.PROJECTORS,
}
PROJECTORS: dict[type, Projector] = {
    kind: guarded(projector) if kind in PERSONAL else projector
    for kind, projector in _PROJECTORS.items()
}


def portal_sink(engine: Engine) -> SqlSink:
    return SqlSink(engine, CONSUMER_NAME, PROJECTORS)
