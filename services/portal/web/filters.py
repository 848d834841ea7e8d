"""What the GET filter forms of the paged pages share: page and page size from the query
string, and a From/Through date range typed in the owner's date format."""

from __future__ import annotations

from datetime import date

from services.portal.web.formatting import BadDate, parse_date

SIZES = (10, 25, 50, 100)
MAX_PAGE = 100_000


def page_number(value: str, default: int = 1, limit: int = MAX_PAGE) -> int:
    """A page number from the query string; anything odd is the default."""
    return int(value) if value.isdigit() and 1 <= int(value) <= limit else default


def page_size(value: str) -> int:
    """One of "Show 10/25/50/100 entries"; anything else is 10."""
    return int(value) if value.isdigit() and int(value) in SIZES else SIZES[0]


def date_range(
    typed: dict[str, str], date_format: str, labels: tuple[str, str] = ("From Date", "Through Date")
) -> tuple[date | None, date | None, dict[str, str]]:
    """The two dates of `typed` ({from-field: text, through-field: text}, in that order) and the
    errors keyed by field: a date not in the owner's format, or From after Through."""
    (start_field, start_text), (end_field, end_text) = typed.items()
    errors: dict[str, str] = {}
    parsed: list[date | None] = []
    for field, text, label in (
        (start_field, start_text, labels[0]),
        (end_field, end_text, labels[1]),
    ):
        try:
            parsed.append(parse_date(text, date_format))
        except BadDate:
            errors[field] = f"Enter the {label} as {date_format}."
            parsed.append(None)
    start, end = parsed
    if start and end and start > end:
        errors[start_field] = f"The {labels[0]} must not be after the {labels[1]}."
    return start, end, errors
