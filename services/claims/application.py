"""Claims commands (one method each) and claims' registry of certificates.

A command loads the claim, lets it decide, and saves; a concurrent change to the same claim
(an optimistic-concurrency conflict) makes it load and decide again, a few times at most. A
refused command records nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.claims.domain import (
    RELATIONSHIPS,
    ZERO,
    CertificateNotOnFile,
    CertificateOnFile,
    Claim,
    ClaimAlreadyExists,
    ClaimNotFound,
    certificate_on_file_id,
    claim_id,
)
from services.claims.personal import PERSONAL_FIELDS
from shared.eventstore import ServiceApplication

MAX_CONFLICT_RETRIES = 5


def new_claim_number() -> str:
    return f"C{secrets.randbelow(10**9):09d}"


class ClaimsApplication(ServiceApplication):
    name = "claims"
    personal_fields = PERSONAL_FIELDS  # sealed at rest (`personal.py`)

    # --- the registry (reaction to policy's CertificateIssued) -----------------------------

    def register_certificate(
        self,
        *,
        certificate_number: str,
        owner_party_id: UUID,
        owner_name: str,
        benefits: list[dict[str, Any]],
    ) -> list[CertificateOnFile]:
        """The certificate on file, for the caller to save; [] when it is on file already.

        `benefits`: `{coverage_code, insureds: [{insured_id, first_name, last_name,
        relationship}]}`; an insured on several benefits is kept once, with every coverage.
        """
        if self.find_certificate(certificate_number) is not None:
            return []
        insureds: dict[str, dict[str, Any]] = {}
        for benefit in benefits:
            for insured in benefit["insureds"]:
                entry = insureds.setdefault(
                    insured["insured_id"],
                    {
                        "insured_id": insured["insured_id"],
                        "first_name": insured["first_name"],
                        "last_name": insured["last_name"],
                        "relationship": _relationship(insured["relationship"]),
                        "coverage_codes": [],
                    },
                )
                if benefit["coverage_code"] not in entry["coverage_codes"]:
                    entry["coverage_codes"].append(benefit["coverage_code"])
        codes = list(dict.fromkeys(b["coverage_code"] for b in benefits))
        return [
            CertificateOnFile(
                certificate_number=certificate_number,
                owner_party_id=owner_party_id,
                owner_name=owner_name,
                coverage_codes=codes,
                insureds=list(insureds.values()),
            )
        ]

    def get_certificate(self, certificate_number: str) -> CertificateOnFile:
        try:
            return self.repository.get(certificate_on_file_id(certificate_number))
        except AggregateNotFoundError as exc:
            raise CertificateNotOnFile(
                f"certificate {certificate_number} is not on file with claims"
            ) from exc

    def find_certificate(self, certificate_number: str) -> CertificateOnFile | None:
        try:
            return self.get_certificate(certificate_number)
        except CertificateNotOnFile:
            return None

    def _with_member(self, claim: Claim) -> Claim:
        """A claim submitted before the owner's party id was recorded with it learns it from
        the registry (derived, not an event), so its new events are sealed with the owner's
        claims key rather than the certificate's ownerless one."""
        if claim.member_party_id is None:
            on_file = self.find_certificate(claim.certificate_number)
            if on_file is not None:
                claim.owner_party_id = on_file.owner_party_id
        return claim

    # --- commands --------------------------------------------------------------------------

    def submit_claim(
        self,
        *,
        certificate_number: str,
        patient_insured_id: str,
        provider: str,
        service_date: date,
        submitted_amount: Decimal,
        submitted_on: date,
        claim_number: str | None = None,
        group_number: str = "",
        account_number: str = "",
        member_id: str | None = None,
    ) -> Claim:
        """A Pending claim. Refused: certificate not on file (CertificateNotOnFile), without
        CI/AC coverage (NotClaimable), patient not insured under it (UnknownPatient), claim
        number taken (ClaimAlreadyExists). Member id defaults to the certificate number, the
        payee to the owner."""
        certificate = self.get_certificate(certificate_number)
        patient = certificate.patient(patient_insured_id)
        for _ in range(MAX_CONFLICT_RETRIES):
            number = claim_number or new_claim_number()
            claim = Claim.submit(
                claim_number=number,
                certificate_number=certificate_number,
                group_number=group_number,
                account_number=account_number,
                member_id=member_id or certificate_number,
                patient=patient,
                provider=provider,
                service_date=service_date,
                submitted_amount=submitted_amount,
                submitted_on=submitted_on,
                paid_to=certificate.owner_name,
                owner_party_id=certificate.owner_party_id,
            )
            try:
                self.save(claim)
            except IntegrityError as exc:
                if claim_number:
                    raise ClaimAlreadyExists(f"claim {claim_number} already exists") from exc
                continue  # a generated number already taken: draw another
            return claim
        raise ClaimAlreadyExists("could not draw a free claim number")  # pragma: no cover

    def adjudicate_line(
        self,
        claim_number: str,
        *,
        date_of_service: date,
        type_of_service: str,
        amount_claimed: Decimal,
        excluded_amount: Decimal = ZERO,
        benefit_amount: Decimal | None = None,
        reason: str | None = None,
        line_id: str | None = None,
    ) -> Claim:
        """Adds a benefit line (or replaces the line with that id); the benefit amount defaults
        to amount claimed − excluded amount and may not exceed it."""
        return self._change(
            claim_number,
            lambda claim: claim.adjudicate_line(
                line_id=line_id,
                date_of_service=date_of_service,
                type_of_service=type_of_service,
                amount_claimed=amount_claimed,
                excluded_amount=excluded_amount,
                benefit_amount=benefit_amount,
                reason=reason,
            ),
        )

    def complete_review(self, claim_number: str, on: date) -> Claim:
        return self._change(claim_number, lambda claim: claim.complete_review(on))

    def render_decision(
        self,
        claim_number: str,
        on: date,
        *,
        deductible_applied: Decimal = ZERO,
        coinsurance_copay: Decimal = ZERO,
        other_carrier_paid: Decimal = ZERO,
    ) -> Claim:
        return self._change(
            claim_number,
            lambda claim: claim.render_decision(
                on,
                deductible_applied=deductible_applied,
                coinsurance_copay=coinsurance_copay,
                other_carrier_paid=other_carrier_paid,
            ),
        )

    def record_payment(self, claim_number: str, on: date, *, paid_to: str | None = None) -> Claim:
        return self._change(claim_number, lambda claim: claim.record_payment(on, paid_to))

    def issue(self, claim_number: str, on: date) -> Claim:
        return self._change(claim_number, lambda claim: claim.issue(on))

    def deny(self, claim_number: str, on: date, reason: str, *, not_covered: bool = False) -> Claim:
        return self._change(
            claim_number, lambda claim: claim.deny(on, reason, not_covered=not_covered)
        )

    def get_claim(self, claim_number: str) -> Claim:
        try:
            return self.repository.get(claim_id(claim_number))
        except AggregateNotFoundError as exc:
            raise ClaimNotFound(f"claim {claim_number} not found") from exc

    def _change(self, claim_number: str, decide: Callable[[Claim], None]) -> Claim:
        for attempt in range(MAX_CONFLICT_RETRIES):
            claim = self._with_member(self.get_claim(claim_number))
            decide(claim)
            try:
                self.save(claim)
            except IntegrityError:
                if attempt + 1 == MAX_CONFLICT_RETRIES:
                    raise
                continue
            return claim
        raise AssertionError("unreachable")  # pragma: no cover


def _relationship(relationship: str) -> str:
    return relationship if relationship in RELATIONSHIPS else "Other"
