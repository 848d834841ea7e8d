"""The privacy office's commands on identity's application (see the package docstring).

- `submit_request`: a request from the privacy page (no account): recorded, verified by
  matching points, then answered (categories), left verified for the back office (specific
  pieces, by mail), carried out (delete) or denied.
- `submit_account_request`: a signed-in owner's request (the portal authenticated them): a
  request to know is completed at once (the portal builds the export), a request to delete
  is carried out.
- `carry_out_deletion`: the erasure itself, idempotent (a retry, or the sweep, resumes it).
- `complete_request`: the back office has sent the specific pieces of a verified request.
- `privacy_sweep`: retentions reviewed, expired keys shredded, interrupted deletions resumed,
  request records older than 24 months purged.
- `personal_data_of`: identity's own specific pieces about an account, for the export.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from services.identity.core import IdentityCore
from services.identity.domain import UserAccount
from services.identity.errors import AccountNotFound, IdentityError, RequestNotFound
from services.identity.matching import Identifiers
from services.identity.privacy import retention
from services.identity.privacy.domain import (
    ACCOUNT,
    COMPLETED,
    PRIVACY_PAGE,
    SPECIFIC,
    VERIFIED,
    PrivacyRequest,
)
from services.identity.privacy.records import RequestRecord
from services.identity.privacy.throttle import party_key
from services.identity.privacy.verification import (
    CATEGORIES_POINTS,
    DELETE_POINTS,
    MIN_IDENTIFIERS,
    SPECIFIC_POINTS,
    best_match,
    value_keys,
)
from shared import personal_data
from shared.personal_data import SERVICING, key_id

RESPONSE_DAYS = 45
RECORD_MONTHS = 24
NOT_VERIFIED = "We could not verify your identity"
ACCOUNT_CLOSED = "account_closed"  # SessionEnded's reason, and the account's


class VerificationThrottled(IdentityError):
    status = 429
    default_message = "Too many attempts to verify an identity. Try again tomorrow."


@dataclass(frozen=True)
class Answer:
    """What a request's submission answers."""

    request: PrivacyRequest
    message: str
    matched_points: int  # 0 when denied: the count is never told then


@dataclass(frozen=True)
class SweepReport:
    swept_at: datetime
    deletions_resumed: int = 0
    servicing_extended: list[str] = field(default_factory=list)  # party ids
    keys_shredded: int = 0
    requests_purged: int = 0


RESUME_AFTER = timedelta(minutes=10)  # a verified deletion still open after this resumes


def months_before(moment: datetime, months: int) -> datetime:
    year, month0 = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def due_date(received_at: datetime) -> date:
    return received_at.date() + timedelta(days=RESPONSE_DAYS)


class PrivacyCommands(IdentityCore):
    # --- look-ups -----------------------------------------------------------------------

    def privacy_request(self, request_id: UUID | str) -> PrivacyRequest:
        try:
            request = self._get(UUID(str(request_id)), PrivacyRequest)
        except ValueError:
            request = None
        if request is None or request.purged:
            raise RequestNotFound()
        return request

    def privacy_requests_of(self, party_id: UUID | str) -> list[RequestRecord]:
        return self.privacy_log.of_party(str(party_id))

    def privacy_log_start(self, since: date | None) -> datetime:
        """The start of the record asked for (default: 24 months ago)."""
        if since is None:
            return months_before(self.clock(), RECORD_MONTHS)
        return datetime.combine(since, datetime.min.time(), tzinfo=UTC)

    def privacy_log_since(self, since: date | None) -> list[RequestRecord]:
        return self.privacy_log.since(self.privacy_log_start(since))

    def personal_data_of(self, account_id: UUID, token: str | None = None) -> dict[str, Any]:
        """Identity's specific pieces about an account (404 for unknown or closed ones; with
        a token, only the token's own account)."""
        account = self._get(account_id, UserAccount)
        if account is None or account.closed:
            raise AccountNotFound()
        if token is not None:
            self._check_session(account, token)
        last = self.session_log(account.id).get_last()
        return {
            "account_id": str(account.id),
            "user_id": account.user_id,
            "certificate_number": account.certificate_number,
            "registered_at": account.created_on,
            "preferred_language": account.preferred_language,
            "preferred_date_format": account.preferred_date_format,
            "security_questions": [q["question"] for q in account.security_questions],
            "email": account.email or None,
            "last_login_at": last.timestamp if last is not None else None,
        }

    # --- requests -----------------------------------------------------------------------

    def submit_request(
        self,
        *,
        kind: str,
        detail: str,
        requester: dict[str, Any],
        agent: dict[str, Any] | None,
    ) -> Answer:
        """A request from the privacy page (see the module docstring)."""
        now = self.clock()
        identifiers = _identifiers(requester)
        if len(identifiers.keys()) < MIN_IDENTIFIERS:
            raise IdentityError(
                "Enter at least two of: your name (first and last), date of birth, email, "
                "cell number, address (street and ZIP code).",
                field="requester",
            )
        if agent is not None and agent.get("attested") is not True:
            raise IdentityError(
                "An authorized agent must attest to holding the consumer's written "
                "permission to make this request.",
                field="agent.attested",
            )
        entered = value_keys(self.keyed_hash, identifiers)
        if self.verification_throttle.locked(entered, now):
            raise VerificationThrottled()
        request = PrivacyRequest(
            kind=kind,
            detail=detail if kind == "know" else SPECIFIC,
            channel=PRIVACY_PAGE,
            received_at=now,
            due_by=due_date(now),
            by_agent=agent is not None,
            requester=_compact(requester),
            agent=_compact(agent) if agent is not None else None,
            account_id=None,
            party_id=None,
            certificate_numbers=[],
        )
        match, touched = best_match(self.registry, self.keyed_hash, identifiers)
        needed = DELETE_POINTS if kind == "delete" else CATEGORIES_POINTS
        locked = match.party_id is not None and self.verification_throttle.locked(
            [party_key(match.party_id)], now
        )
        if match.party_id is None or match.points < needed or locked:
            self.verification_throttle.record_failure(
                [*entered, *(party_key(p) for p in touched)], now
            )
            request.deny(match.points, NOT_VERIFIED, now)
            self._save_request(request)
            return Answer(request, _denied_message(), 0)
        party_id = UUID(match.party_id)
        numbers = [c.certificate_number for c in self.registry.certificates_of(party_id)]
        request.verify(party_id, numbers, match.points, match.level, now)
        self._save_request(request)
        if kind == "delete":
            request = self.carry_out_deletion(request.id)
            return Answer(request, request.outcome or "", match.points)
        if detail == "categories" or match.points < SPECIFIC_POINTS:
            outcome = _categories_outcome(detail, match.points)
            request.complete(outcome, now)
            self._save_request(request)
            return Answer(request, outcome, match.points)
        message = (
            "We verified your identity. The specific pieces of personal information we hold "
            "about you will be sent by mail to the address on record by "
            f"{request.due_by.isoformat()}."
        )
        return Answer(request, message, match.points)

    def submit_account_request(
        self, account_id: UUID, kind: str, token: str | None = None
    ) -> PrivacyRequest:
        """A signed-in owner's request (the portal has authenticated them). With the owner's
        session token, it must be a live session of that account (404 otherwise)."""
        now = self.clock()
        account = self._get(account_id, UserAccount)
        if account is None:
            raise AccountNotFound()
        if token is not None and not account.closed:
            self._check_session(account, token)
        if account.closed:
            last = self.privacy_log.last_deletion_of(str(account.party_id))
            if kind == "delete" and last is not None:
                return self.privacy_request(last)  # a retried request to delete
            raise AccountNotFound()
        numbers = {c.certificate_number for c in self.registry.certificates_of(account.party_id)}
        numbers.add(account.certificate_number)
        request = PrivacyRequest(
            kind=kind,
            detail=SPECIFIC,
            channel=ACCOUNT,
            received_at=now,
            due_by=due_date(now),
            by_agent=False,
            requester=None,
            agent=None,
            account_id=account.id,
            party_id=account.party_id,
            certificate_numbers=sorted(numbers),
        )
        request.announce()
        request.verify(account.party_id, sorted(numbers), None, SPECIFIC, now)
        if kind == "know":
            request.complete(
                "Your personal information is ready to download from the portal "
                "(Your Privacy Rights).",
                now,
            )
        self._save_request(request)
        if kind == "delete":
            request = self.carry_out_deletion(request.id)
        return request

    def complete_request(self, request_id: UUID | str, outcome: str | None) -> PrivacyRequest:
        """The back office has answered a verified request to know (by mail)."""
        request = self.privacy_request(request_id)
        if request.status == COMPLETED:
            return request
        if request.status != VERIFIED or request.kind != "know":
            raise IdentityError(
                "Only a verified request to know is completed this way.", field="request_id"
            )
        request.complete(
            outcome or "The specific pieces of personal information were sent by mail.",
            self.clock(),
        )
        self._save_request(request)
        return request

    # --- deletion -----------------------------------------------------------------------

    def carry_out_deletion(self, request_id: UUID) -> PrivacyRequest:
        """Erase the verified person's personal data; a retry resumes where it stopped."""
        request = self.privacy_request(request_id)
        if request.status != VERIFIED or request.kind != "delete" or request.party_id is None:
            return request
        now = self.clock()
        vault = personal_data.installed()
        party_id = str(request.party_id)
        if request.retained is None:
            retained = retention.decide(
                self.registry.in_force(party_id), vault.keys_of([party_id]), now
            )
            request.plan_erasure(retention.erased_classes(retained), retention.as_dicts(retained))
            self._save_request(request)
        vault.erase([party_id], retention.as_retentions(request.retained or []))
        self._close_account(request.party_id, now)
        self.registry.erase(party_id, now)
        self.drafts.purge(party_id)
        # The requester details of the person's requests (this one included) go too.
        for record in self.privacy_log.of_party(party_id):
            vault.shred(key_id(record.request_id))
        vault.shred(key_id(str(request.id)))
        request.complete(retention.deletion_outcome(request.retained or []), now)
        self._save_request(request)
        return request

    def _close_account(self, party_id: UUID, now: datetime) -> None:
        claim = self.claim_of(party_id)
        if claim is None:
            return

        def change(account: UserAccount) -> list:
            sessions = self.live_sessions(account.id, now)
            account.close(now, ACCOUNT_CLOSED)
            for session in sessions:
                session.end(ACCOUNT_CLOSED)
            return sessions

        account = self.get_account(claim.account_id)
        if not account.closed:
            account = self.update_account(account.id, change)
        self.mail.purge(
            [f"identity:{account.id}:{version}" for version in range(1, account.version + 1)]
        )

    # --- the sweep ----------------------------------------------------------------------

    def privacy_sweep(self, now: datetime | None = None) -> SweepReport:
        now = now or self.clock()
        vault = personal_data.installed()
        resumed = 0
        for record in self.privacy_log.with_status("delete", VERIFIED):
            if record.received_at <= now - RESUME_AFTER:
                self.carry_out_deletion(UUID(record.request_id))
                resumed += 1
        extended = []
        for key in vault.due_retentions(now):
            if key.key_class == SERVICING and self.registry.in_force(key.person_id):
                until = now + timedelta(days=retention.SERVICING_REVIEW_DAYS)
                vault.extend_retention(key.key_id, until, retention.SERVICING_REASON)
                self._record_retention(key.person_id, key.key_class, now, until)
                extended.append(key.person_id)
        due = {k.key_id: k for k in vault.due_retentions(now)}
        shredded = vault.sweep(now)
        for kid in shredded:
            if kid in due:
                self._record_retention(due[kid].person_id, due[kid].key_class, now, None)
        return SweepReport(
            swept_at=now,
            deletions_resumed=resumed,
            servicing_extended=extended,
            keys_shredded=len(shredded),
            requests_purged=self._purge_records(now),
        )

    def _record_retention(
        self, party_id: str, key_class: str, now: datetime, until: datetime | None
    ) -> None:
        """On the person's last request to delete: a retention extended (`until`) or ended."""
        request_id = self.privacy_log.last_deletion_of(party_id)
        if request_id is None:
            return
        request = self.privacy_request(request_id)
        if until is None:
            request.end_retention(key_class, now)
        else:
            request.extend_retention(key_class, until, now)
        self._save_request(request)

    def _purge_records(self, now: datetime) -> int:
        vault = personal_data.installed()
        purged = 0
        for request_id in self.privacy_log.received_before(months_before(now, RECORD_MONTHS)):
            vault.shred(key_id(request_id))
            request = self._get(UUID(request_id), PrivacyRequest)
            if request is not None:
                request.purge(now)
                self._save_request(request)
            else:
                self.privacy_log.forget(request_id)
            purged += 1
        return purged

    # --- helpers ------------------------------------------------------------------------

    def _check_session(self, account: UserAccount, token: str) -> None:
        """A presented token must be a live session of this very account."""
        session = self.session_for(token)
        if session is None or not session.is_live(self.clock()):
            raise AccountNotFound()
        if session.account_id != account.id:
            raise AccountNotFound()

    def _save_request(self, request: PrivacyRequest) -> None:
        self.save(request)
        self.privacy_log.record(request)


def _identifiers(requester: dict[str, Any]) -> Identifiers:
    address = requester.get("address") or {}
    dob = requester.get("date_of_birth")
    return Identifiers(
        first_name=requester.get("first_name"),
        last_name=requester.get("last_name"),
        date_of_birth=dob.isoformat() if isinstance(dob, date) else dob,
        email=requester.get("email"),
        cell=requester.get("cell"),
        street=address.get("street"),
        zip_code=address.get("zip_code"),
    )


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    """The entered values as JSON-ready data, without the empty ones."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            value = _compact(value) or None
        elif isinstance(value, date):
            value = value.isoformat()
        if value not in (None, ""):
            out[name] = value
    return out


def _categories_outcome(detail: str, points: int) -> str:
    if detail == "categories":
        return "Identity verified: the categories of personal information we collect are given."
    return (
        "Identity verified to a reasonable degree: the categories of personal information we "
        f"collect are given. Specific pieces need {SPECIFIC_POINTS} matching points."
    )


def _denied_message() -> str:
    return (
        f"{NOT_VERIFIED}. Check what you entered, or call us; you can also ask from the portal "
        "once signed in."
    )
