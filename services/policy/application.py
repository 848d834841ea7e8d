"""Policy commands: one method per command (the eventsourcing examples' style)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, EventSourcedLog
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import IntegrityError

from services.policy.domain import Certificate, certificate_id
from services.policy.nonforfeiture import option_at_issue
from services.policy.personal import PERSONAL_FIELDS
from services.policy.products import PRODUCT_NAMES, ProductCode
from services.policy.statuses import ISSUE_STATUSES, CertificateStatus, IllegalTransition
from services.policy.values import Agent, Benefit, ContactInformation, OwnerParty, plain
from shared.eventstore import ServiceApplication


class CertificateNotFound(LookupError):
    pass


class CertificateAlreadyIssued(ValueError):
    pass


class OwnerNotFound(LookupError):
    pass


class CertificateOwned(DomainEvent):
    """An entry in a party's index of the certificates it owns."""

    certificate_number: str


class PolicyApplication(ServiceApplication):
    name = "policy"
    snapshotting_intervals = {Certificate: 100}  # noqa: RUF012
    personal_fields = PERSONAL_FIELDS  # sealed at rest (`personal.py`)

    def issue_certificate(
        self,
        *,
        certificate_number: str,
        product_code: ProductCode,
        status: CertificateStatus,
        application_date: date,
        effective_date: date,
        premium: Decimal,
        payment_frequency: str,
        payment_method: str,
        payor_name: str,
        owner: OwnerParty,
        benefits: list[Benefit],
        agents: list[Agent] | None = None,
        currency: str = "USD",
        primary_dividend_option: str | None = None,
        net_cash_value: Decimal | None = None,
        paid_up_additions_amount: Decimal | None = None,
        paid_up_additions_expiration_date: date | None = None,
        nonforfeiture_option: str | None = None,
    ) -> Certificate:
        if status not in ISSUE_STATUSES:
            raise IllegalTransition(f"a certificate cannot be issued as {status}")
        if effective_date < application_date:
            raise ValueError("the effective date is before the application date")
        if len({b.benefit_id for b in benefits}) != len(benefits):
            raise ValueError("benefit ids must be unique on a certificate")
        option = option_at_issue(product_code.value, nonforfeiture_option)
        certificate = Certificate(
            certificate_number=certificate_number,
            product_code=product_code.value,
            product_name=PRODUCT_NAMES[product_code],
            status=status.value,
            currency=currency,
            application_date=application_date,
            effective_date=effective_date,
            premium=premium,
            payment_frequency=payment_frequency,
            payment_method=payment_method,
            payor_name=payor_name,
            owner=plain(owner),
            benefits=[
                {**plain(b), "product_name": PRODUCT_NAMES[ProductCode(b.coverage_code)]}
                for b in benefits
            ],
            agents=plain(agents or []),
            primary_dividend_option=primary_dividend_option,
            net_cash_value=net_cash_value,
            paid_up_additions_amount=paid_up_additions_amount,
            paid_up_additions_expiration_date=paid_up_additions_expiration_date,
            nonforfeiture_option=option,
        )
        entry = self._party_index(owner.party_id).trigger_event(
            certificate_number=certificate_number
        )
        try:
            self.save(certificate, entry)
        except IntegrityError as exc:
            raise CertificateAlreadyIssued(
                f"certificate {certificate_number} is already issued"
            ) from exc
        return certificate

    def change_status(
        self, certificate_number: str, status: CertificateStatus, status_date: date
    ) -> Certificate:
        return self._update(certificate_number, lambda c: c.change_status(status, status_date))

    def premium_defaulted(self, certificate_number: str, defaulted_on: date) -> list[Certificate]:
        """Billing's PremiumDefaulted: the certificate continues under its nonforfeiture option
        or lapses (`nonforfeiture.py`). Answers what to save (nothing when the certificate is
        not premium-paying any more); the caller (the consumer) saves it with its position."""
        certificate = self.get_certificate(certificate_number)
        return [certificate] if certificate.premium_defaulted(defaulted_on) else []

    def update_contact_information(
        self, party_id: UUID, contact: ContactInformation
    ) -> list[Certificate]:
        """The owner's new contact information, on every certificate the owner holds."""
        numbers = list(self.certificates_of(party_id))
        if not numbers:
            raise OwnerNotFound(f"no certificate owner {party_id}")
        certificates = [self.get_certificate(n) for n in numbers]
        for certificate in certificates:
            certificate.update_contact(plain(contact))
        self.save(*certificates)
        return certificates

    def update_cash_value(
        self,
        certificate_number: str,
        as_of: date,
        net_cash_value: Decimal,
        benefit_values: dict[str, Decimal],
    ) -> Certificate:
        return self._update(
            certificate_number,
            lambda c: c.update_cash_value(as_of, net_cash_value, benefit_values),
        )

    def credit_dividend(
        self,
        certificate_number: str,
        credited_on: date,
        amount: Decimal,
        expiration_date: date | None = None,
    ) -> Certificate:
        return self._update(
            certificate_number, lambda c: c.credit_dividend(credited_on, amount, expiration_date)
        )

    def take_loan(
        self,
        certificate_number: str,
        benefit_id: str,
        loan_id: str,
        amount: Decimal,
        interest_rate: Decimal,
        taken_on: date,
    ) -> Certificate:
        return self._update(
            certificate_number,
            lambda c: c.take_loan(benefit_id, loan_id, amount, interest_rate, taken_on),
        )

    def repay_loan(
        self, certificate_number: str, benefit_id: str, loan_id: str, amount: Decimal, on: date
    ) -> Certificate:
        return self._update(
            certificate_number, lambda c: c.repay_loan(benefit_id, loan_id, amount, on)
        )

    def get_certificate(self, certificate_number: str) -> Certificate:
        try:
            return self.repository.get(certificate_id(certificate_number))
        except AggregateNotFoundError as exc:
            raise CertificateNotFound(f"certificate {certificate_number} not found") from exc

    def certificates_of(self, party_id: UUID) -> Iterator[str]:
        for entry in self._party_index(party_id).get():
            yield entry.certificate_number

    def _update(self, certificate_number: str, change) -> Certificate:
        certificate = self.get_certificate(certificate_number)
        change(certificate)
        self.save(certificate)
        return certificate

    def _party_index(self, party_id: UUID) -> EventSourcedLog[CertificateOwned]:
        return EventSourcedLog(
            self.events, uuid5(NAMESPACE_URL, f"/policy/parties/{party_id}"), CertificateOwned
        )
