"""Projections: integration events → read models. The same code in both modes.

Order between topics is not guaranteed (policy's, billing's, identity's, documents' and
claims' events travel separately), so every projector upserts only the columns its event
knows about.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from services.portal.projections import billing as billing_projections
from services.portal.projections import certificates, sessions
from services.portal.projections import claims as claims_projections
from services.portal.projections import documents as documents_projections
from shared.contracts import billing, claims, documents, identity, policy
from shared.messaging.sql_sink import Projector, SqlSink

CONSUMER_NAME = "portal"
SUBSCRIBED_TOPICS = [policy.TOPIC, billing.TOPIC, identity.TOPIC, documents.TOPIC, claims.TOPIC]

PROJECTORS: dict[type, Projector] = {
    **certificates.PROJECTORS,
    **billing_projections.PROJECTORS,
    **sessions.PROJECTORS,
    **documents_projections.PROJECTORS,
    **claims_projections.PROJECTORS,
}


def portal_sink(engine: Engine) -> SqlSink:
    return SqlSink(engine, CONSUMER_NAME, PROJECTORS)
