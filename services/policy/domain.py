"""Certificate aggregate and its statuses (the guide's glossary of system statuses)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

CERTIFICATE_NAMESPACE = UUID("2a8f4f8e-3c1b-4d52-a3b4-7a0f5f1d9c01")


class CertificateStatus(StrEnum):
    PENDING = "Pending"
    ACTIVE_AWAITING_PREMIUM = "Active Awaiting Premium"
    ISSUE_NOT_PAID = "Issue – Not Paid"
    ACTIVE_PREMIUM_PAYING = "Active Premium Paying"
    REDUCED_PAID_UP = "Reduced Paid Up"
    INFORCE_EXTENDED_TERM = "Inforce – Extended Term"
    LAPSED = "Lapsed"
    CASH_SURRENDER = "Cash Surrender"
    DECLINED = "Declined"
    NOT_TAKEN = "Not Taken"
    WITHDRAWN = "Withdrawn"


S = CertificateStatus
LEGAL_TRANSITIONS: dict[CertificateStatus, frozenset[CertificateStatus]] = {
    S.PENDING: frozenset({S.ACTIVE_AWAITING_PREMIUM, S.ISSUE_NOT_PAID, S.DECLINED, S.WITHDRAWN}),
    S.ACTIVE_AWAITING_PREMIUM: frozenset({S.ACTIVE_PREMIUM_PAYING, S.NOT_TAKEN, S.WITHDRAWN}),
    S.ISSUE_NOT_PAID: frozenset({S.ACTIVE_PREMIUM_PAYING, S.NOT_TAKEN}),
    S.ACTIVE_PREMIUM_PAYING: frozenset(
        {S.REDUCED_PAID_UP, S.INFORCE_EXTENDED_TERM, S.LAPSED, S.CASH_SURRENDER}
    ),
    S.REDUCED_PAID_UP: frozenset({S.CASH_SURRENDER, S.ACTIVE_PREMIUM_PAYING}),
    S.INFORCE_EXTENDED_TERM: frozenset({S.CASH_SURRENDER, S.LAPSED, S.ACTIVE_PREMIUM_PAYING}),
    # Reinstatement brings a lapsed certificate back.
    S.LAPSED: frozenset({S.ACTIVE_PREMIUM_PAYING}),
    S.CASH_SURRENDER: frozenset(),
    S.DECLINED: frozenset(),
    S.NOT_TAKEN: frozenset(),
    S.WITHDRAWN: frozenset(),
}

ISSUE_STATUSES = frozenset(
    {S.PENDING, S.ACTIVE_AWAITING_PREMIUM, S.ISSUE_NOT_PAID, S.ACTIVE_PREMIUM_PAYING}
)


class IllegalTransition(ValueError):
    pass


class Certificate(Aggregate):
    @staticmethod
    def create_id(certificate_number: str, **_: object) -> UUID:
        return certificate_id(certificate_number)

    @event("Issued")
    def __init__(
        self,
        certificate_number: str,
        owner_party_id: UUID,
        product_code: str,
        product_name: str,
        status: str,
        currency: str,
        application_date: date,
        effective_date: date,
        premium: Decimal,
        payment_frequency: str,
        payment_method: str,
        payor_name: str,
    ) -> None:
        self.certificate_number = certificate_number
        self.owner_party_id = owner_party_id
        self.product_code = product_code
        self.product_name = product_name
        self.status = status
        self.currency = currency
        self.application_date = application_date
        self.effective_date = effective_date
        self.premium = premium
        self.payment_frequency = payment_frequency
        self.payment_method = payment_method
        self.payor_name = payor_name
        self.status_history: list[tuple[str, date]] = [(status, effective_date)]

    def change_status(self, new_status: CertificateStatus, status_date: date) -> None:
        current = CertificateStatus(self.status)
        if new_status not in LEGAL_TRANSITIONS[current]:
            raise IllegalTransition(f"a certificate cannot go from {current} to {new_status}")
        self._status_changed(self.certificate_number, self.status, new_status.value, status_date)

    @event("StatusChanged")
    def _status_changed(
        self, certificate_number: str, previous_status: str, status: str, status_date: date
    ) -> None:
        self.status = status
        self.status_history.append((status, status_date))


def certificate_id(certificate_number: str) -> UUID:
    return uuid5(CERTIFICATE_NAMESPACE, certificate_number)
