"""How the pages show and read dates and money: in the owner's preferred date format
(mm/dd/yyyy unless they chose dd/mm/yyyy or yyyy-mm-dd), money with two places and commas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

DEFAULT_DATE_FORMAT = "mm/dd/yyyy"
_STRFTIME = {"mm/dd/yyyy": "%m/%d/%Y", "dd/mm/yyyy": "%d/%m/%Y", "yyyy-mm-dd": "%Y-%m-%d"}
LANGUAGE_TAGS = {"English": "en", "Spanish": "es"}


def strftime_pattern(preferred: str | None) -> str:
    return _STRFTIME.get(preferred or DEFAULT_DATE_FORMAT, _STRFTIME[DEFAULT_DATE_FORMAT])


def format_date(value: date | datetime | str | None, preferred: str | None) -> str:
    """A date as the owner prefers it; ISO strings (from JSON models) are accepted."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return value.strftime(strftime_pattern(preferred))


class BadDate(ValueError):
    """Text that is not a date in the expected format."""


def parse_date(text: str | None, preferred: str | None) -> date | None:
    """A date typed by the owner in their preferred format; blank is None."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, strftime_pattern(preferred)).date()
    except ValueError:
        raise BadDate(f"enter a date as {preferred or DEFAULT_DATE_FORMAT}") from None


def format_money(value: Decimal | float | str | None) -> str:
    """2641.82 → "2,641.82"; None → ""."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{amount:,.2f}"


def language_tag(preferred_language: str | None) -> str:
    return LANGUAGE_TAGS.get(preferred_language or "English", "en")
