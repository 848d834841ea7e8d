"""Billing rules that depend only on dates and the certificate's status (no state, no I/O).

- **Billing horizon**: a premium is billed once its due date is within `BILLING_LEAD_DAYS` (21)
  days of the cycle's "as of" date, so a bill goes out about three weeks ahead.
- **Grace**: the premium due at the paid-to date D stays in grace through D + 31 days (a
  payment on day 31 keeps the certificate in force); a cycle run after that day, i.e. from
  D + 32 days on, records it as defaulted, once per due date.
- **Statuses** mirror policy's certificate status (the guide's glossary): payments are refused
  when the certificate is not in force; premiums are billed only while premiums are expected;
  defaults only for Active Premium Paying certificates.
- **Certificate years** run from the effective date to each anniversary (effective + N years,
  a 02/29 effective date having its anniversary on 02/28 in common years).
"""

from __future__ import annotations

from datetime import date, timedelta

from shared.dates import add_months

BILLING_LEAD_DAYS = 21
GRACE_DAYS = 31

ACTIVE_PREMIUM_PAYING = "Active Premium Paying"
# Not in force: no payment is accepted.
NOT_IN_FORCE = frozenset({"Lapsed", "Cash Surrender", "Declined", "Not Taken", "Withdrawn"})
# Premiums are expected: the billing cycle bills these (not Reduced Paid Up or Extended Term,
# whose premiums are no longer paid, nor a Pending application).
BILLABLE = frozenset({ACTIVE_PREMIUM_PAYING, "Active Awaiting Premium", "Issue – Not Paid"})
# The only status in which an unpaid premium defaults at the end of grace.
DEFAULTABLE = frozenset({ACTIVE_PREMIUM_PAYING})

ONE_DAY = timedelta(days=1)


def billing_horizon(as_of: date, lead_days: int = BILLING_LEAD_DAYS) -> date:
    """The last due date a cycle run on `as_of` bills."""
    return as_of + timedelta(days=lead_days)


def grace_ends_on(due_date: date) -> date:
    """The last day of grace: a payment on this day still keeps the certificate in force."""
    return due_date + timedelta(days=GRACE_DAYS)


def in_default(due_date: date, as_of: date) -> bool:
    return as_of > grace_ends_on(due_date)


def latest_anniversary(effective_date: date, as_of: date) -> date | None:
    """The most recent certificate anniversary on or before `as_of` (None in the first year)."""
    years = as_of.year - effective_date.year
    while years >= 1 and add_months(effective_date, 12 * years) > as_of:
        years -= 1
    return add_months(effective_date, 12 * years) if years >= 1 else None


def year_before(effective_date: date, anniversary: date) -> date:
    """The start of the certificate year that ends at `anniversary`."""
    years = anniversary.year - effective_date.year
    return add_months(effective_date, 12 * (years - 1))
