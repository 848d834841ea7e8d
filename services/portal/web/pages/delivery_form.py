"""The User Preferences form: one fieldset per certificate, a row for "All document types" and
one per document type, each with Portal / Mail and notification emails.

Input names: `method_<certificate>_<type>` (radios "Portal" / "Mail") and
`email_<certificate>_<type>_<n>` (n = 1…5); <type> is a document type or "all".

What is sent (to documents, through `owner_commands.set_delivery_preferences`): only the rows
the owner changed, compared with the read model when the form is posted — the "All document
types" row first (when its choice differs from what it showed), then each changed type, so a
type changed on its own line wins over "All". EOBs are always mailed (documents refuses EOB by
Portal; "all" by Portal leaves EOB on Mail): their row shows that and is never sent.

The documents service's rules are checked here too (Portal needs an email; emails must be
valid), so a refusal names the field before anything is sent; a refusal that still comes back
(`preferences.<index>.<field>[.<n>]`) is mapped to the row's input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import EmailStr, TypeAdapter, ValidationError
from starlette.datastructures import FormData

from services.portal.owner_commands import CommandRefused
from services.portal.queries import Preferences
from services.portal.web.deps import text

ALL = "all"
ALL_NAME = "All document types"
MAIL_ONLY = ("eob",)
METHODS = ("Portal", "Mail")
MAX_EMAILS = 5
SHOWN_EMAILS = 2
PORTAL_NEEDS_EMAIL = "A valid email address is required for all Portal selections."
BAD_EMAIL = "Enter a valid email address, like name@example.com."
_email = TypeAdapter(EmailStr)


@dataclass
class RowForm:
    key: str  # a document type, or "all"
    name: str
    method: str  # "Portal", "Mail" or "" (nothing chosen: the "All" row when types differ)
    emails: list[str] = field(default_factory=list)
    mail_only: bool = False

    def inputs(self) -> list[str]:
        """The email inputs' values: at least two, and every one the row has."""
        shown = max(SHOWN_EMAILS, len(self.emails))
        return (self.emails + [""] * shown)[: min(shown, MAX_EMAILS)]


@dataclass
class CertificateForm:
    number: str
    product_name: str | None
    rows: list[RowForm]


def method_id(number: str, key: str) -> str:
    return f"method_{number}_{key}"


def email_id(number: str, key: str, n: int) -> str:
    return f"email_{number}_{key}_{n}"


def _same(emails: list[str]) -> tuple[str, ...]:
    return tuple(e.strip().casefold() for e in emails if e.strip())


def _uniform(rows: list[RowForm]) -> tuple[str, list[str]]:
    """What "All document types" shows: the shared choice of every type that may be chosen,
    or nothing when they differ."""
    free = [r for r in rows if not r.mail_only]
    first = free[0]
    if all(r.method == first.method and _same(r.emails) == _same(first.emails) for r in free):
        return first.method, list(first.emails)
    return "", []


def certificate_forms(current: Preferences) -> list[CertificateForm]:
    """The form as the read model has it."""
    forms = []
    for c in current.certificates:
        rows = [
            RowForm(
                p.document_type,
                p.document_type_name,
                "Mail" if p.document_type in MAIL_ONLY else p.method,
                [str(e) for e in p.emails],
                p.document_type in MAIL_ONLY,
            )
            for p in c.preferences
        ]
        method, emails = _uniform(rows)
        forms.append(
            CertificateForm(
                c.certificate_number,
                c.product_name,
                [RowForm(ALL, ALL_NAME, method, emails), *rows],
            )
        )
    return forms


def posted_forms(current: Preferences, form: FormData) -> list[CertificateForm]:
    """The form as posted (only the owner's certificates and the known types are read)."""
    forms = certificate_forms(current)
    for c in forms:
        for row in c.rows:
            if row.mail_only:
                continue
            method = text(form, method_id(c.number, row.key), 10)
            row.method = method if method in METHODS else ""
            typed = [
                text(form, email_id(c.number, row.key, n), 254) for n in range(1, MAX_EMAILS + 1)
            ]
            while typed and not typed[-1]:
                typed.pop()
            row.emails = typed
    return forms


def validate(forms: list[CertificateForm]) -> dict[str, str]:
    """{input id: message} for every row the documents service would refuse."""
    errors: dict[str, str] = {}
    for c in forms:
        for row in c.rows:
            if row.mail_only:
                continue
            for n, email in enumerate(row.emails, start=1):
                if email:
                    try:
                        _email.validate_python(email)
                    except ValidationError:
                        errors[email_id(c.number, row.key, n)] = BAD_EMAIL
            if row.method == "Portal" and not any(row.emails):
                errors[email_id(c.number, row.key, 1)] = PORTAL_NEEDS_EMAIL
            if not row.method and row.key != ALL:
                errors[method_id(c.number, row.key) + "_portal"] = "Choose Portal or Mail."
    return errors


def changed_selections(
    current: Preferences, forms: list[CertificateForm]
) -> dict[str, list[tuple[str, str, list[str]]]]:
    """{certificate number: [(type or "all", method, emails), …]} of what the owner changed."""
    before = {c.number: {r.key: r for r in c.rows} for c in certificate_forms(current)}
    changes: dict[str, list[tuple[str, str, list[str]]]] = {}
    for c in forms:
        for row in c.rows:
            was = before[c.number][row.key]
            if row.mail_only or not row.method:
                continue
            if row.method != was.method or _same(row.emails) != _same(was.emails):
                emails = [e for e in row.emails if e]
                changes.setdefault(c.number, []).append((row.key, row.method, emails))
    return changes


def map_refusal(
    number: str, keys: list[str], refused: CommandRefused
) -> tuple[dict[str, str], str | None]:
    """The documents service's `{preferences.<i>.<field>[.<n>]: message}` as {input id: message};
    what names no row becomes the page's message."""
    errors: dict[str, str] = {}
    unplaced = not refused.errors
    for where, message in refused.errors.items():
        parts = where.split(".")
        index = int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else -1
        if parts[0] != "preferences" or not 0 <= index < len(keys):
            unplaced = True
            continue
        if parts[2] == "emails":
            n = int(parts[3]) + 1 if len(parts) > 3 and parts[3].isdigit() else 1
            errors[email_id(number, keys[index], n)] = message
        else:
            errors[method_id(number, keys[index]) + "_portal"] = message
    if not unplaced:
        return errors, None
    return errors, refused.detail or "Your preferences were not saved."
