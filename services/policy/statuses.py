"""Certificate statuses (the guide's glossary of system statuses) and the legal transitions."""

from __future__ import annotations

from enum import StrEnum


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
