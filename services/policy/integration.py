"""Domain events → public contracts (`shared/contracts/policy.py`).

Personal data is protected here, at the boundary: the owner's and insureds' dates of birth
are sealed with each person's `servicing` key (the owner's for an insured whose relationship
is "Owner"), and the government ID leaves only as a keyed hash and its last 4 digits (see
`shared/personal_data.py`). Names, addresses, phones and emails are sealed by the envelope
(the contracts' `personal` rules).

Events whose personal fields were erased (the person's keys shredded: a replay, a re-publish,
the audit's blindfolded read) still map to valid contracts: the placeholders of
`shared/contracts/policy.py` stand for what can no longer be computed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.policy.domain import Certificate
from shared.contracts import policy as contracts
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.policy import insured_person, insured_subject
from shared.personal_data import SERVICING, KeyedHash, Vault

__all__ = ["PolicyContracts", "insured_subject"]


class PolicyContracts:
    """Maps policy's domain events to contracts; callable, for the outbox."""

    def __init__(self, vault: Vault, hasher: KeyedHash) -> None:
        self.vault = vault
        self.hasher = hasher

    def __call__(self, domain_event: Any) -> IntegrationEvent | None:
        e = domain_event
        if isinstance(e, Certificate.Issued):
            return self._issued(e)
        if isinstance(e, Certificate.StatusChanged):
            return contracts.CertificateStatusChanged(
                certificate_number=e.certificate_number,
                previous_status=e.previous_status,
                status=e.status,
                status_date=e.status_date,
            )
        if isinstance(e, Certificate.ContactInformationUpdated):
            return contracts.ContactInformationUpdated(
                certificate_number=e.certificate_number,
                owner_party_id=e.owner_party_id,
                contact=e.contact,
            )
        if isinstance(e, Certificate.CashValueUpdated):
            return contracts.CashValueUpdated(
                certificate_number=e.certificate_number,
                as_of=e.as_of,
                net_cash_value=e.net_cash_value,
                benefit_values=e.benefit_values,
            )
        if isinstance(e, Certificate.DividendCredited):
            return contracts.DividendCredited.from_domain(e)
        if isinstance(e, Certificate.LoanTaken):
            return contracts.LoanTaken.from_domain(e, balance=e.amount)
        if isinstance(e, Certificate.LoanRepaid):
            return contracts.LoanRepaid.from_domain(e)
        return None

    def _issued(self, e: Any) -> contracts.CertificateIssued:
        owner = e.owner
        party_id = owner["party_id"]
        dob: date | None = owner.get("date_of_birth")
        government_id = "".join(ch for ch in owner.get("government_id") or "" if ch.isdigit())
        return contracts.CertificateIssued(
            certificate_number=e.certificate_number,
            owner_party_id=party_id,
            product_code=e.product_code,
            product_name=e.product_name,
            status=e.status,
            currency=e.currency,
            application_date=e.application_date,
            effective_date=e.effective_date,
            premium=e.premium,
            payment_frequency=e.payment_frequency,
            payment_method=e.payment_method,
            payor_name=e.payor_name,
            primary_dividend_option=e.primary_dividend_option,
            net_cash_value=e.net_cash_value,
            paid_up_additions_amount=e.paid_up_additions_amount,
            paid_up_additions_expiration_date=e.paid_up_additions_expiration_date,
            # Absent from Issued events recorded before the option existed.
            nonforfeiture_option=getattr(e, "nonforfeiture_option", None),
            owner=contracts.OwnerParty(
                party_id=party_id,
                name_type=owner["name_type"],
                first_name=owner["first_name"],
                last_name=owner["last_name"],
                gender=owner.get("gender"),
                date_of_birth=self._sealed_date(party_id, dob),
                date_of_birth_digest=self._digest("date_of_birth", dob and dob.isoformat()),
                government_id_digest=self._digest("government_id", government_id),
                government_id_last4=government_id[-4:] if government_id else contracts.ERASED_LAST4,
                contact=owner["contact"],
            ),
            benefits=[self._benefit(e.certificate_number, party_id, b) for b in e.benefits],
            agents=e.agents,
        )

    def _sealed_date(self, subject: Any, value: date | None) -> str:
        """The date sealed with the person's servicing key; once that key is shredded (the
        date was erased) an empty value sealed under it, which never opens again."""
        return self.vault.seal(subject, value.isoformat() if value else "", SERVICING)

    def _digest(self, kind: str, value: str | None) -> str:
        return self.hasher.digest(kind, value) if value else contracts.ERASED_DIGEST

    def _benefit(
        self, certificate_number: str, owner_party_id: Any, b: dict[str, Any]
    ) -> contracts.Benefit:
        insureds = []
        for i in b["insureds"]:
            dob: date | None = i.get("date_of_birth")
            subject = insured_person(owner_party_id, certificate_number, i)
            insureds.append(
                contracts.Insured(
                    insured_id=i["insured_id"],
                    first_name=i["first_name"],
                    last_name=i["last_name"],
                    relationship=i["relationship"],
                    date_of_birth=self._sealed_date(subject, dob),
                    birth_year_month=f"{dob:%Y-%m}" if dob else contracts.ERASED_BIRTH_YEAR_MONTH,
                )
            )
        return contracts.Benefit(
            benefit_id=b["benefit_id"],
            product_name=b["product_name"],
            coverage_code=b["coverage_code"],
            status=b["status"],
            effective_date=b["effective_date"],
            coverage_amount=b.get("coverage_amount"),
            net_benefit_value=b.get("net_benefit_value"),
            insureds=insureds,
        )
