from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.dates import add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2015, 12, 1), 1, date(2016, 1, 1)),  # across a year end
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year February
        (date(2023, 1, 31), 1, date(2023, 2, 28)),  # common year February
        (date(2024, 1, 31), 2, date(2024, 3, 31)),  # anchored: no drift to the 29th
        (date(2024, 8, 31), 1, date(2024, 9, 30)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2015, 12, 1), 97, date(2024, 1, 1)),  # the guide's paid-to date
        (date(2024, 3, 15), -3, date(2023, 12, 15)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)), st.integers(0, 600))
def test_add_months_keeps_the_day_or_clamps_to_month_end(start: date, months: int) -> None:
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day == start.day or result.day > 27
    assert result.day <= start.day
