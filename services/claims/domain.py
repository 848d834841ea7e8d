"""The Claim aggregate (critical illness and accident claims) and claims' registry of
certificates (`CertificateOnFile`, built from policy's CertificateIssued).

Lifecycle (every change dated, the whole history kept in `status_history`):

    Pending → Review Complete → Decision Rendered → Paid Not Issued → Issued
    Pending / Review Complete / Decision Rendered → Denied or Not Covered

Totals (the guide's Claim Summary) are always derived from the benefit lines and the three
adjustments set when the decision is rendered, never stored on their own:

- amount_claimed = Σ lines.amount_claimed; excluded_amount = Σ lines.excluded_amount;
- total_amount_paid = max(0, Σ lines.benefit_amount − deductible_applied − coinsurance_copay
  − other_carrier_paid);
- patient_responsibility = max(0, amount_claimed − total_amount_paid − other_carrier_paid)
  (what neither this plan nor the other carrier pays: excluded amounts, the part of a line
  not covered by its benefit, the deductible and the coinsurance/copay).

A line's benefit amount is at most its amount claimed minus its excluded amount. Lines are
adjudicated (added, or replaced by line id) only while Pending or Review Complete.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

CLAIM_NAMESPACE = UUID("5b0e2c7a-9f41-4d8b-8a6e-3c2d1f0e9b03")
CERTIFICATE_ON_FILE_NAMESPACE = UUID("7e3a1d5c-2b84-4f6a-9c0d-8e1f2a3b4c04")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
CLAIMABLE_COVERAGES = frozenset({"CI", "AC"})  # Critical Illness, Accident
RELATIONSHIPS = frozenset({"Owner", "Spouse", "Child", "Other"})


class ClaimStatus(StrEnum):
    PENDING = "Pending"
    REVIEW_COMPLETE = "Review Complete"
    DECISION_RENDERED = "Decision Rendered"
    PAID_NOT_ISSUED = "Paid Not Issued"
    ISSUED = "Issued"
    DENIED = "Denied"
    NOT_COVERED = "Not Covered"


S = ClaimStatus
_DENIALS = frozenset({S.DENIED, S.NOT_COVERED})
LEGAL_TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    S.PENDING: frozenset({S.REVIEW_COMPLETE}) | _DENIALS,
    S.REVIEW_COMPLETE: frozenset({S.DECISION_RENDERED}) | _DENIALS,
    S.DECISION_RENDERED: frozenset({S.PAID_NOT_ISSUED}) | _DENIALS,
    S.PAID_NOT_ISSUED: frozenset({S.ISSUED}),
    S.ISSUED: frozenset(),
    S.DENIED: frozenset(),
    S.NOT_COVERED: frozenset(),
}
ADJUDICATING = frozenset({S.PENDING, S.REVIEW_COMPLETE})


# --- refusals (the API maps them to 404 / 409 / 422) ---------------------------------------


class ClaimNotFound(LookupError):
    """No claim with that number (404)."""


class CertificateNotOnFile(LookupError):
    """A claim on a certificate claims never heard of from policy (404)."""


class ClaimAlreadyExists(ValueError):
    """A claim number submitted twice (409)."""


class IllegalClaimTransition(ValueError):
    """A status change the lifecycle does not allow (409)."""


class ClaimRefused(ValueError):
    """A command this claim cannot take (422); `field` names the offending input."""

    field: str | None = None

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotClaimable(ClaimRefused):
    """The certificate has no Critical Illness or Accident coverage (422)."""


class UnknownPatient(ClaimRefused):
    """The patient is not an insured of the certificate's claimable coverage (422)."""


# --- the registry of certificates ------------------------------------------------------------


class CertificateOnFile(Aggregate):
    """What claims needs of a certificate: its owner, coverage codes and insureds."""

    @staticmethod
    def create_id(certificate_number: str, **_: object) -> UUID:
        return certificate_on_file_id(certificate_number)

    @event("Registered")
    def __init__(
        self,
        certificate_number: str,
        owner_party_id: UUID,
        owner_name: str,
        coverage_codes: list[str],
        insureds: list[dict[str, Any]],
    ) -> None:
        self.certificate_number = certificate_number
        self.owner_party_id = owner_party_id
        self.owner_name = owner_name
        self.coverage_codes = list(coverage_codes)
        # insured_id, first_name, last_name, relationship, coverage_codes
        self.insureds = deepcopy(insureds)

    @property
    def claimable(self) -> bool:
        return bool(CLAIMABLE_COVERAGES & set(self.coverage_codes))

    def patient(self, insured_id: str) -> dict[str, str]:
        """The insured as a claim's patient; refused unless claimable and insured under CI/AC."""
        if not self.claimable:
            raise NotClaimable(
                f"certificate {self.certificate_number} has no Critical Illness or Accident "
                "coverage: no claim can be submitted",
                field="certificate_number",
            )
        for insured in self.insureds:
            if insured["insured_id"] == insured_id and CLAIMABLE_COVERAGES & set(
                insured["coverage_codes"]
            ):
                return {
                    key: insured[key]
                    for key in ("insured_id", "first_name", "last_name", "relationship")
                }
        raise UnknownPatient(
            f"insured {insured_id} is not insured under the Critical Illness or Accident "
            f"coverage of certificate {self.certificate_number}",
            field="patient_insured_id",
        )


# --- the claim -----------------------------------------------------------------------------


class Claim(Aggregate):
    @staticmethod
    def create_id(claim_number: str, **_: object) -> UUID:
        return claim_id(claim_number)

    @classmethod
    def submit(cls, **kwargs: Any) -> Claim:
        """A new claim, Pending as of the day it was submitted (a dated status change)."""
        claim = cls(**kwargs)
        claim._change(S.PENDING, kwargs["submitted_on"])
        return claim

    @event("Submitted")
    def __init__(
        self,
        claim_number: str,
        certificate_number: str,
        group_number: str,
        account_number: str,
        member_id: str,
        patient: dict[str, str],
        provider: str,
        service_date: date,
        submitted_amount: Decimal,
        submitted_on: date,
        paid_to: str,
        currency: str = "USD",
        owner_party_id: UUID | None = None,
    ) -> None:
        self.claim_number = claim_number
        # The member's (the certificate owner's) party id: whose claims key seals the member
        # id, the payee and the owner as patient (`personal.py`); None in claims from before.
        self.owner_party_id = owner_party_id
        self.certificate_number = certificate_number
        self.group_number = group_number
        self.account_number = account_number
        self.member_id = member_id
        self.patient = dict(patient)
        self.provider = provider
        self.service_date = service_date
        self.submitted_amount = submitted_amount
        self.submitted_on = submitted_on
        self.paid_to = paid_to  # the member (owner) unless the payment names another payee
        self.currency = currency
        self.status: str | None = None
        self.status_date: date | None = None
        self.status_history: list[dict[str, Any]] = []
        self.lines: dict[str, dict[str, Any]] = {}
        self.deductible_applied = ZERO
        self.coinsurance_copay = ZERO
        self.other_carrier_paid = ZERO
        self.denial_reason: str | None = None

    # --- derived ---------------------------------------------------------------------------

    @property
    def member_party_id(self) -> UUID | None:
        """The owner's party id (None for a claim submitted before it was recorded)."""
        return getattr(self, "owner_party_id", None)

    @property
    def totals(self) -> dict[str, Decimal]:
        return compute_totals(
            self.lines.values(),
            self.deductible_applied,
            self.coinsurance_copay,
            self.other_carrier_paid,
        )

    @property
    def line_list(self) -> list[dict[str, Any]]:
        return [deepcopy(line) for line in self.lines.values()]

    # --- commands --------------------------------------------------------------------------

    def adjudicate_line(
        self,
        *,
        line_id: str | None,
        date_of_service: date,
        type_of_service: str,
        amount_claimed: Decimal,
        excluded_amount: Decimal = ZERO,
        benefit_amount: Decimal | None = None,
        reason: str | None = None,
    ) -> None:
        if self.status not in ADJUDICATING:
            raise IllegalClaimTransition(
                f"claim {self.claim_number} is {self.status}: lines are adjudicated only while "
                "Pending or Review Complete"
            )
        if amount_claimed <= ZERO:
            raise ClaimRefused("an amount claimed must be greater than zero", "amount_claimed")
        if excluded_amount < ZERO or excluded_amount > amount_claimed:
            raise ClaimRefused(
                f"the excluded amount is between 0.00 and the amount claimed ({amount_claimed})",
                "excluded_amount",
            )
        payable = amount_claimed - excluded_amount
        if benefit_amount is None:
            benefit_amount = payable
        if benefit_amount < ZERO or benefit_amount > payable:
            raise ClaimRefused(
                f"the benefit amount is between 0.00 and the amount claimed minus the excluded "
                f"amount ({payable:.2f})",
                "benefit_amount",
            )
        line = {
            "line_id": line_id or f"L{len(self.lines) + 1}",
            "date_of_service": date_of_service,
            "type_of_service": type_of_service,
            "amount_claimed": _money(amount_claimed),
            "excluded_amount": _money(excluded_amount),
            "benefit_amount": _money(benefit_amount),
            "reason": reason,
        }
        lines = {**self.lines, line["line_id"]: line}
        totals = compute_totals(
            lines.values(), self.deductible_applied, self.coinsurance_copay, self.other_carrier_paid
        )
        self._line_adjudicated(self.claim_number, self.certificate_number, line, totals)

    def complete_review(self, on: date) -> None:
        self._check_transition(S.REVIEW_COMPLETE, on)
        if not self.lines:
            raise ClaimRefused(
                f"claim {self.claim_number} has no benefit line: adjudicate one first", "lines"
            )
        self._change(S.REVIEW_COMPLETE, on)

    def render_decision(
        self,
        on: date,
        *,
        deductible_applied: Decimal = ZERO,
        coinsurance_copay: Decimal = ZERO,
        other_carrier_paid: Decimal = ZERO,
    ) -> None:
        self._check_transition(S.DECISION_RENDERED, on)
        adjustments = {
            "deductible_applied": deductible_applied,
            "coinsurance_copay": coinsurance_copay,
            "other_carrier_paid": other_carrier_paid,
        }
        for name, amount in adjustments.items():
            if amount < ZERO:
                raise ClaimRefused(f"{name} cannot be negative", name)
        self._change(S.DECISION_RENDERED, on, **adjustments)

    def record_payment(self, on: date, paid_to: str | None = None) -> None:
        self._check_transition(S.PAID_NOT_ISSUED, on)
        if self.totals["total_amount_paid"] <= ZERO:
            raise ClaimRefused(
                f"claim {self.claim_number} pays nothing: deny it (Denied or Not Covered)"
            )
        self._change(S.PAID_NOT_ISSUED, on, paid_to=paid_to or self.paid_to)

    def issue(self, on: date) -> None:
        self._check_transition(S.ISSUED, on)
        self._change(S.ISSUED, on)
        self._issued(
            self.claim_number,
            self.certificate_number,
            on,
            dict(self.patient),
            self.provider,
            self.service_date,
            self.paid_to,
            self.line_list,
            self.totals,
            self.currency,
            owner_party_id=self.member_party_id,
        )

    def deny(self, on: date, reason: str, *, not_covered: bool = False) -> None:
        status = S.NOT_COVERED if not_covered else S.DENIED
        self._check_transition(status, on)
        if not reason.strip():
            raise ClaimRefused("a denial needs a reason", "reason")
        self._change(status, on)
        self._denied(
            self.claim_number,
            self.certificate_number,
            on,
            status.value,
            reason,
            dict(self.patient),
            self.provider,
            self.service_date,
            self.submitted_amount,
            owner_party_id=self.member_party_id,
        )

    def _check_transition(self, status: ClaimStatus, on: date) -> None:
        current = ClaimStatus(self.status)
        if status not in LEGAL_TRANSITIONS[current]:
            raise IllegalClaimTransition(
                f"claim {self.claim_number} cannot go from {current} to {status}"
            )
        if self.status_date is not None and on < self.status_date:
            raise ClaimRefused(
                f"the status date {on.isoformat()} is before the claim's status date "
                f"{self.status_date.isoformat()}",
                "on",
            )

    def _change(self, status: ClaimStatus, on: date, **changes: Any) -> None:
        adjustments = {
            "deductible_applied": changes.get("deductible_applied", self.deductible_applied),
            "coinsurance_copay": changes.get("coinsurance_copay", self.coinsurance_copay),
            "other_carrier_paid": changes.get("other_carrier_paid", self.other_carrier_paid),
        }
        totals = compute_totals(self.lines.values(), **adjustments)
        self._status_changed(
            self.claim_number,
            self.certificate_number,
            self.status,
            status.value,
            on,
            totals,
            changes.get("paid_to", self.paid_to),
            owner_party_id=self.member_party_id,
        )

    # --- events ----------------------------------------------------------------------------

    @event("LineAdjudicated")
    def _line_adjudicated(
        self,
        claim_number: str,
        certificate_number: str,
        line: dict[str, Any],
        totals: dict[str, Decimal],
    ) -> None:
        self.lines[line["line_id"]] = deepcopy(line)

    @event("StatusChanged")
    def _status_changed(
        self,
        claim_number: str,
        certificate_number: str,
        previous_status: str | None,
        status: str,
        status_date: date,
        totals: dict[str, Decimal],
        paid_to: str,
        owner_party_id: UUID | None = None,
    ) -> None:
        self.status = status
        self.status_date = status_date
        self.status_history.append({"status": status, "status_date": status_date})
        self.deductible_applied = totals["deductible_applied"]
        self.coinsurance_copay = totals["coinsurance_copay"]
        self.other_carrier_paid = totals["other_carrier_paid"]
        self.paid_to = paid_to

    @event("Issued")
    def _issued(
        self,
        claim_number: str,
        certificate_number: str,
        issued_on: date,
        patient: dict[str, str],
        provider: str,
        service_date: date,
        paid_to: str,
        lines: list[dict[str, Any]],
        totals: dict[str, Decimal],
        currency: str,
        owner_party_id: UUID | None = None,
    ) -> None:
        self.issued_on = issued_on

    @event("Denied")
    def _denied(
        self,
        claim_number: str,
        certificate_number: str,
        denied_on: date,
        status: str,
        reason: str,
        patient: dict[str, str],
        provider: str,
        service_date: date,
        submitted_amount: Decimal,
        owner_party_id: UUID | None = None,
    ) -> None:
        self.denial_reason = reason


def compute_totals(
    lines: Any,
    deductible_applied: Decimal = ZERO,
    coinsurance_copay: Decimal = ZERO,
    other_carrier_paid: Decimal = ZERO,
) -> dict[str, Decimal]:
    """The Claim Summary from the lines and the adjustments (the rule in the module doc)."""
    lines = list(lines)
    claimed = sum((line["amount_claimed"] for line in lines), ZERO)
    excluded = sum((line["excluded_amount"] for line in lines), ZERO)
    benefits = sum((line["benefit_amount"] for line in lines), ZERO)
    paid = max(ZERO, benefits - deductible_applied - coinsurance_copay - other_carrier_paid)
    responsibility = max(ZERO, claimed - paid - other_carrier_paid)
    return {
        "amount_claimed": _money(claimed),
        "excluded_amount": _money(excluded),
        "deductible_applied": _money(deductible_applied),
        "coinsurance_copay": _money(coinsurance_copay),
        "other_carrier_paid": _money(other_carrier_paid),
        "patient_responsibility": _money(responsibility),
        "total_amount_paid": _money(paid),
    }


def _money(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT)


def claim_id(claim_number: str) -> UUID:
    return uuid5(CLAIM_NAMESPACE, claim_number)


def certificate_on_file_id(certificate_number: str) -> UUID:
    return uuid5(CERTIFICATE_ON_FILE_NAMESPACE, certificate_number)
