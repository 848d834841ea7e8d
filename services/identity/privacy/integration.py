"""The privacy office's events → contracts (`shared/contracts/privacy.py`): `Announced` →
PrivacyRequestUpdated, `Erased` → PersonalDataErased (one per certificate each). Nothing the
requester entered travels: people are named by their party id."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.identity.privacy.domain import PrivacyRequest
from shared.contracts import privacy as contracts
from shared.contracts.envelope import IntegrationEvent


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def to_integration(e: Any) -> IntegrationEvent | None:
    if isinstance(e, PrivacyRequest.Announced):
        return contracts.PrivacyRequestUpdated(
            certificate_number=e.certificate_number,
            request_id=e.originator_id,
            party_id=e.party_id,
            kind=e.kind,
            status=e.status,
            by_agent=e.by_agent,
            received_at=e.received_at,
            due_by=e.due_by,
            completed_at=e.completed_at,
            outcome=e.outcome,
        )
    if isinstance(e, PrivacyRequest.Erased):
        return contracts.PersonalDataErased(
            certificate_number=e.certificate_number,
            request_id=e.originator_id,
            party_id=e.party_id,
            erased_at=e.erased_at,
            erased=e.erased,
            retained=[
                contracts.Retained(
                    key_class=r["key_class"], until=_day(r["until"]), reason=r["reason"]
                )
                for r in e.retained
            ],
        )
    return None
