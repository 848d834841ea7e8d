"""Calendar arithmetic for premium periods."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(start: date, months: int) -> date:
    """`start` moved by whole months, the day clamped to the end of a shorter month.

    Always compute from the original anchor (the effective date), never by chaining: 01/31 + 1
    month is 02/28 (02/29 in a leap year), and 01/31 + 2 months is 03/31, not 03/28.
    """
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last_day))
