"""`PrivacyRequest`: one consumer request (to know, or to delete), event-sourced in identity's
store, from receipt to its outcome.

Status: received → verified → completed, or received → denied. What the requester entered
(their name, date of birth, email, cell number, address) and an authorized agent's details
travel on `Received` only, sealed at rest under the request's own key (subject: the request
id, see `PERSONAL_FIELDS`): the aggregate's state keeps none of it. That key is shredded when
a request to delete is carried out, and when the request's record is purged after 24 months.

`Announced` is what the outside world hears (`PrivacyRequestUpdated`, one per certificate the
person owns, each time the status changes, once the request is tied to a person); `Erased`
is `PersonalDataErased` (one per certificate). The other events are private.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.personal_data import PERSONAL
from shared.sealing import Rule, owner

RECEIVED, VERIFIED, COMPLETED, DENIED = "received", "verified", "completed", "denied"
FINAL = (COMPLETED, DENIED)
NONE, CATEGORIES, SPECIFIC = "none", "categories", "specific"
PRIVACY_PAGE, ACCOUNT = "privacy_page", "account"

_request_key = owner("originator_id")
PERSONAL_FIELDS: dict[str, tuple[Rule, ...]] = {
    "PrivacyRequest.Received": (
        Rule("requester", _request_key, PERSONAL, erased={}),
        Rule("agent", _request_key, PERSONAL, erased={}),
    ),
}


class PrivacyRequest(Aggregate):
    @event("Received")
    def __init__(
        self,
        kind: str,
        detail: str,
        channel: str,
        received_at: datetime,
        due_by: date,
        by_agent: bool,
        requester: dict[str, Any] | None,
        agent: dict[str, Any] | None,
        account_id: UUID | None,
        party_id: UUID | None,
        certificate_numbers: list[str],
    ) -> None:
        self.kind = kind
        self.detail = detail
        self.channel = channel
        self.received_at = received_at
        self.due_by = due_by
        self.by_agent = by_agent
        self.account_id = account_id
        self.party_id = party_id
        self.certificate_numbers = list(certificate_numbers)
        self.status = RECEIVED
        self.level = NONE
        self.matched_points: int | None = None
        self.completed_at: datetime | None = None
        self.outcome: str | None = None
        # A request to delete: what is kept (key class, until, reason), decided once.
        self.retained: list[dict[str, Any]] | None = None
        self.erased: list[str] = []
        self.purged = False

    # --- state --------------------------------------------------------------------------

    @property
    def final(self) -> bool:
        return self.status in FINAL

    # --- commands -----------------------------------------------------------------------

    def announce(self) -> None:
        """Tell the outside world the current status (once tied to a person)."""
        if self.party_id is None:
            return
        for number in self.certificate_numbers:
            self._announced(
                certificate_number=number,
                party_id=self.party_id,
                kind=self.kind,
                status=self.status,
                by_agent=self.by_agent,
                received_at=self.received_at,
                due_by=self.due_by,
                completed_at=self.completed_at,
                outcome=self.outcome,
            )

    def verify(
        self,
        party_id: UUID,
        certificate_numbers: list[str],
        matched_points: int | None,
        level: str,
        at: datetime,
    ) -> None:
        if self.status != RECEIVED:
            return
        self._verified(party_id, sorted(set(certificate_numbers)), matched_points, level, at)
        self.announce()

    def deny(self, matched_points: int, outcome: str, at: datetime) -> None:
        if self.status != RECEIVED:
            return
        self._denied(matched_points, outcome, at)
        self.announce()

    def plan_erasure(self, erased: list[str], retained: list[dict[str, Any]]) -> None:
        if self.retained is None:
            self._erasure_planned(erased, retained)

    def complete(self, outcome: str, at: datetime) -> None:
        """Completed; a request to delete first says, per certificate, what was erased."""
        if self.status != VERIFIED:
            return
        if self.kind == "delete" and self.party_id is not None:
            for number in self.certificate_numbers:
                self._erased(
                    certificate_number=number,
                    party_id=self.party_id,
                    erased_at=at,
                    erased=list(self.erased),
                    retained=list(self.retained or ()),
                )
        self._completed(outcome, at)
        self.announce()

    def extend_retention(self, key_class: str, until: datetime, at: datetime) -> None:
        self._retention_extended(key_class, until, at)

    def end_retention(self, key_class: str, at: datetime) -> None:
        self._retention_ended(key_class, at)

    def purge(self, at: datetime) -> None:
        if not self.purged:
            self._purged(at)

    # --- events -------------------------------------------------------------------------

    @event("Announced")
    def _announced(
        self,
        certificate_number: str,
        party_id: UUID,
        kind: str,
        status: str,
        by_agent: bool,
        received_at: datetime,
        due_by: date,
        completed_at: datetime | None,
        outcome: str | None,
    ) -> None:
        pass

    @event("Verified")
    def _verified(
        self,
        party_id: UUID,
        certificate_numbers: list[str],
        matched_points: int | None,
        level: str,
        at: datetime,
    ) -> None:
        self.party_id = party_id
        self.certificate_numbers = list(certificate_numbers)
        self.matched_points = matched_points
        self.level = level
        self.status = VERIFIED

    @event("Denied")
    def _denied(self, matched_points: int, outcome: str, at: datetime) -> None:
        self.matched_points = matched_points
        self.outcome = outcome
        self.completed_at = at
        self.status = DENIED

    @event("ErasurePlanned")
    def _erasure_planned(self, erased: list[str], retained: list[dict[str, Any]]) -> None:
        self.erased = list(erased)
        self.retained = list(retained)

    @event("Erased")
    def _erased(
        self,
        certificate_number: str,
        party_id: UUID,
        erased_at: datetime,
        erased: list[str],
        retained: list[dict[str, Any]],
    ) -> None:
        pass

    @event("Completed")
    def _completed(self, outcome: str, at: datetime) -> None:
        self.outcome = outcome
        self.completed_at = at
        self.status = COMPLETED

    @event("RetentionExtended")
    def _retention_extended(self, key_class: str, until: datetime, at: datetime) -> None:
        self.retained = [
            {**r, "until": until} if r["key_class"] == key_class else r for r in self.retained or ()
        ]

    @event("RetentionEnded")
    def _retention_ended(self, key_class: str, at: datetime) -> None:
        self.retained = [r for r in self.retained or () if r["key_class"] != key_class]
        if key_class not in self.erased:
            self.erased = [*self.erased, key_class]

    @event("Purged")
    def _purged(self, at: datetime) -> None:
        self.purged = True
