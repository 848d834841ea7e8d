"""What becomes of a certificate whose premium went unpaid past the grace period.

Billing decides that a premium defaulted (unpaid when its 31-day grace period ended) and
publishes PremiumDefaulted; policy reacts (`consumers.py`) with this rule:

- Only an *Active Premium Paying* certificate changes. Any other status (already Lapsed,
  Reduced Paid Up, Inforce – Extended Term, surrendered, not yet in force …) has no premium
  to default on: nothing changes, without error.
- A default dated on or before the certificate's latest status change is stale (for example
  a reinstatement happened after it): nothing changes.
- A **Whole Life** certificate with nonforfeiture value continues under its nonforfeiture
  option: *Reduced Paid Up* (the value buys paid-up whole life coverage) or *Inforce –
  Extended Term* (the value buys term coverage for the full amount, "coverage amount based on
  cash value" in the guide's glossary). Its nonforfeiture value is the net cash value on file
  less the outstanding balance of its loans (the loan value the benefit screens show is
  reduced the same way); any value above 0.00 funds the option. No value on file (never
  valued) or none left after loans: Lapsed.
- Every other product (Universal Life, Critical Illness, Accident): Lapsed.
- The status date is the default's date (`defaulted_on`).

A Whole Life certificate issued without a choice takes *Reduced Paid Up* (the guide's own
Whole Life example is Reduced Paid Up); other products carry no option (None), and the issue
command refuses one for them. Certificates issued before the option existed carry None in
their Issued event and are read with the Whole Life default.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from services.policy.products import ProductCode
from services.policy.statuses import CertificateStatus

NonforfeitureOption = Literal["Reduced Paid Up", "Extended Term"]
REDUCED_PAID_UP: NonforfeitureOption = "Reduced Paid Up"
EXTENDED_TERM: NonforfeitureOption = "Extended Term"
OPTIONS: tuple[NonforfeitureOption, ...] = (REDUCED_PAID_UP, EXTENDED_TERM)
WHOLE_LIFE_DEFAULT: NonforfeitureOption = REDUCED_PAID_UP

STATUS_OF_OPTION: dict[str, CertificateStatus] = {
    REDUCED_PAID_UP: CertificateStatus.REDUCED_PAID_UP,
    EXTENDED_TERM: CertificateStatus.INFORCE_EXTENDED_TERM,
}
ZERO = Decimal("0.00")


def option_at_issue(product_code: str, chosen: str | None) -> NonforfeitureOption | None:
    """The option a new certificate carries: Whole Life's choice or its default; none for
    other products (ValueError if one was chosen for them)."""
    if product_code != ProductCode.WHOLE_LIFE:
        if chosen is not None:
            raise ValueError("a nonforfeiture option applies to Whole Life certificates only")
        return None
    if chosen is None:
        return WHOLE_LIFE_DEFAULT
    if chosen not in OPTIONS:
        raise ValueError(f"a nonforfeiture option is one of {', '.join(OPTIONS)}")
    return chosen  # type: ignore[return-value]


def nonforfeiture_value(net_cash_value: Decimal | None, benefits: dict[str, Any]) -> Decimal:
    """Net cash value less the outstanding balance of every loan (0.00 when never valued)."""
    loans = sum(
        (loan["balance"] for b in benefits.values() for loan in b.get("loans", {}).values()),
        ZERO,
    )
    return (net_cash_value or ZERO) - loans


def status_after_default(
    product_code: str,
    option: str | None,
    net_cash_value: Decimal | None,
    benefits: dict[str, Any],
) -> CertificateStatus:
    """The status an Active Premium Paying certificate takes when a premium defaults."""
    if product_code != ProductCode.WHOLE_LIFE:
        return CertificateStatus.LAPSED
    if nonforfeiture_value(net_cash_value, benefits) <= ZERO:
        return CertificateStatus.LAPSED
    return STATUS_OF_OPTION[option or WHOLE_LIFE_DEFAULT]
