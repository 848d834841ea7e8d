"""An employer's list-bill file: CSV text → validated payment rows, or every error found.

The header names the columns (any order, case and surrounding spaces ignored):
`certificate_number,amount,transaction_date,apply_date,reference` — `apply_date` may be left
out of the header or empty in a row (it is then the transaction date). Dates are ISO
(YYYY-MM-DD) or mm/dd/yyyy; amounts are decimals with at most two places, greater than zero;
the reference (the payment id) is 1-64 letters, digits, `_ . : -` and unique in the file.

Line numbers are the file's own (the header is line 1). A header that cannot be read is a
file-level error (line 1, field `header`); a body that is empty or not text is one too
(line None, field `file`). Blank lines are skipped. Checks against the accounts (unknown
certificate, certificate not in force, reference already recorded) are the application's.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from shared.contracts.types import pad_certificate_number

COLUMNS = ("certificate_number", "amount", "transaction_date", "apply_date", "reference")
OPTIONAL = frozenset({"apply_date"})
MAX_ROWS = 10_000
MAX_AMOUNT = Decimal("1000000000.00")
REFERENCE = re.compile(r"^[\w.:-]{1,64}$", re.ASCII)
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")


@dataclass(frozen=True)
class RowError:
    line: int | None
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class ListBillRejected(ValueError):
    """The whole file is refused; `errors` lists every problem found (nothing was applied)."""

    def __init__(self, detail: str, errors: list[RowError]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


@dataclass(frozen=True)
class ListBillRow:
    line: int
    certificate_number: str
    amount: Decimal
    transaction_date: date
    apply_date: date
    reference: str


def file_error(message: str, field: str = "file", line: int | None = None) -> ListBillRejected:
    return ListBillRejected(message, [RowError(line, field, message)])


def parse_list_bill(text: str) -> tuple[list[ListBillRow], list[RowError]]:
    """The rows that parsed and the errors of those that did not (raises for the file)."""
    if "\x00" in text or any(ord(c) < 32 and c not in "\t\r\n" for c in text[:65536]):
        raise file_error("the list bill is not CSV text (it contains binary data)")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise file_error("the list bill is empty")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _rows(reader, _header(next(reader)))
    except csv.Error as exc:
        raise file_error(
            f"the list bill is not readable CSV: {exc}", line=reader.line_num
        ) from None


def _rows(reader, columns: list[str]) -> tuple[list[ListBillRow], list[RowError]]:
    rows: list[ListBillRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    previous_end = reader.line_num
    for cells in reader:
        line, previous_end = previous_end + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            raise file_error(f"the list bill has more than {MAX_ROWS} rows", line=line)
        if len(cells) != len(columns):
            message = f"expected {len(columns)} fields, found {len(cells)}"
            errors.append(RowError(line, "row", message))
            continue
        row, row_errors = _row(line, dict(zip(columns, (c.strip() for c in cells), strict=True)))
        if row and row.reference in seen:
            message = f"reference {row.reference} repeats line {seen[row.reference]}"
            row_errors.append(RowError(line, "reference", message))
        elif row:
            seen[row.reference] = line
        errors.extend(row_errors)
        if row and not row_errors:
            rows.append(row)
    if not rows and not errors:
        raise file_error("the list bill has a header but no payment rows", line=None)
    return rows, errors


def field_order(field: str) -> int:
    """Errors of a line in the order of the columns (whole-row problems first)."""
    return COLUMNS.index(field) + 1 if field in COLUMNS else 0


def _header(cells: list[str]) -> list[str]:
    columns = [cell.strip().lower() for cell in cells]
    unknown = [c for c in columns if c not in COLUMNS]
    missing = [c for c in COLUMNS if c not in columns and c not in OPTIONAL]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    problems = []
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}")
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        expected = ",".join(COLUMNS)
        raise file_error(
            f"bad header: {'; '.join(problems)} (expected {expected}; apply_date is optional)",
            field="header",
            line=1,
        )
    return columns


def _row(line: int, cells: dict[str, str]) -> tuple[ListBillRow | None, list[RowError]]:
    errors: list[RowError] = []

    def check(field: str, parse, value: str):
        try:
            return parse(value)
        except ValueError as exc:
            errors.append(RowError(line, field, str(exc)))
            return None

    number = check("certificate_number", _certificate_number, cells["certificate_number"])
    amount = check("amount", parse_amount, cells["amount"])
    transaction_date = check("transaction_date", parse_date, cells["transaction_date"])
    apply_text = cells.get("apply_date", "")
    apply_date = check("apply_date", parse_date, apply_text) if apply_text else transaction_date
    reference = check("reference", _reference, cells["reference"])
    if errors:
        return None, errors
    row = ListBillRow(line, number, amount, transaction_date, apply_date, reference)
    return row, errors


def _certificate_number(text: str) -> str:
    if not text:
        raise ValueError("a certificate number is required")
    try:
        return pad_certificate_number(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a certificate number (up to 10 digits)") from None


def parse_amount(text: str) -> Decimal:
    if not DECIMAL.match(text):
        raise ValueError(f"{text!r} is not an amount (a decimal such as 44.00)")
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"{text!r} is not an amount") from None
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{text} has more than two decimal places")
    if amount <= 0:
        raise ValueError(f"the amount must be greater than zero, not {text}")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"{text} is too large for a payment")
    return amount.quantize(Decimal("0.01"))


def parse_date(text: str) -> date:
    if not text:
        raise ValueError("a date is required")
    iso, us = ISO_DATE.match(text), US_DATE.match(text)
    if not (iso or us):
        raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD or mm/dd/yyyy)")
    year, month, day = (
        (int(iso[1]), int(iso[2]), int(iso[3])) if iso else (int(us[3]), int(us[1]), int(us[2]))
    )
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{text} is not a calendar date") from None


def _reference(text: str) -> str:
    if not REFERENCE.match(text):
        raise ValueError(
            f"{text!r} is not a reference (1-64 letters, digits, '_', '.', ':' or '-')"
            if text
            else "a reference is required"
        )
    return text
