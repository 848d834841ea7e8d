"""Update Personal Information (guide p. 13): personal information to read, contact
information to change.

The form is the ContactInformation contract's fields; what is typed is checked with the same
pydantic model plus the rules policy applies (required address lines, zip code, phone
numbers), and a refusal by policy is shown next to its field too. Nothing typed is lost on
an error.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.portal import owner_commands, queries
from services.portal.web.context import WebContext
from services.portal.web.deps import Db, Form, PageOwner, text
from services.portal.web.rendering import render
from shared.contracts.policy import ContactInformation

CONTACT_METHODS = ("Cell Phone", "Home Phone", "Business Phone", "Email", "Mail")
STREET_LINES = 3
MAX_EMAILS = 5
PHONES = (("cell", "Cell"), ("home", "Home"), ("business", "Business"), ("fax", "Facsimile"))
SAVED = "Your changes were saved."
NOTICES = {"saved": SAVED}

_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_PHONE = re.compile(r"^[0-9 ()+.-]{7,20}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REQUIRED = {
    "street_1": "Enter the street address.",
    "city": "Enter the city.",
    "state": "Enter the state.",
    "zip_code": "Enter the zip code.",
}
_ADDRESS_IDS = {"city": "city", "state": "state", "country": "country", "zip_code": "zip_code"}


def values_of(contact: dict) -> dict[str, str]:
    """The form's input values (by input id) for stored contact information."""
    address = contact.get("address") or {}
    phones = contact.get("phones") or {}
    values = {f"street_{n + 1}": line for n, line in enumerate(address.get("street") or [])}
    values.update({key: address.get(key) or "" for key in _ADDRESS_IDS})
    values.update({key: phones.get(key) or "" for key, _ in PHONES})
    values["preferred_contact_method"] = contact.get("preferred_contact_method") or ""
    values.update({f"email_{n + 1}": e for n, e in enumerate(contact.get("emails") or [])})
    return values


def typed_values(form: FormData) -> dict[str, str]:
    names = [f"street_{n}" for n in range(1, STREET_LINES + 1)]
    names += list(_ADDRESS_IDS) + [key for key, _ in PHONES] + ["preferred_contact_method"]
    names += [f"email_{n}" for n in range(1, MAX_EMAILS + 1)]
    values = {name: text(form, name, 120) for name in names}
    values["country"] = values["country"].upper()
    return values


def _compact(values: dict[str, str], prefix: str, count: int) -> tuple[list[str], list[str]]:
    """The non-blank lines and, for each, the id of the input it came from."""
    ids = [f"{prefix}_{n}" for n in range(1, count + 1) if values.get(f"{prefix}_{n}")]
    return [values[i] for i in ids], ids


def contact_from(values: dict[str, str]) -> tuple[dict[str, Any], list[str], list[str]]:
    street, street_ids = _compact(values, "street", STREET_LINES)
    emails, email_ids = _compact(values, "email", MAX_EMAILS)
    contact = {
        "address": {
            "street": street,
            "city": values["city"],
            "state": values["state"],
            "country": values["country"] or "US",
            "zip_code": values["zip_code"],
        },
        "phones": {key: values[key] or None for key, _ in PHONES},
        "preferred_contact_method": values["preferred_contact_method"] or None,
        "emails": emails,
    }
    return contact, street_ids, email_ids


def input_id(loc: tuple | list, street_ids: list[str], email_ids: list[str]) -> str:
    """The input at fault for a pydantic `loc` (or policy's dotted field name)."""
    parts = [str(p) for p in loc if str(p) not in ("body",)]

    def nth(ids: list[str], prefix: str, index: str | None) -> str:
        if index is not None and index.isdigit() and int(index) < len(ids):
            return ids[int(index)]
        return f"{prefix}_1"

    if parts[:2] == ["address", "street"]:
        return nth(street_ids, "street", parts[2] if len(parts) > 2 else None)
    if parts[:1] == ["address"] and len(parts) > 1:
        return _ADDRESS_IDS.get(parts[1], "street_1")
    if parts[:1] == ["phones"] and len(parts) > 1:
        return parts[1] if parts[1] in dict(PHONES) else "cell"
    if parts[:1] == ["emails"]:
        return nth(email_ids, "email", parts[1] if len(parts) > 1 else None)
    if parts[:1] == ["preferred_contact_method"]:
        return "preferred_contact_method"
    return "street_1"


def local_errors(values: dict[str, str]) -> dict[str, str]:
    """What policy would refuse, said next to the field before anything is sent."""
    errors = {}
    if not any(values.get(f"street_{n}") for n in range(1, STREET_LINES + 1)):
        errors["street_1"] = _REQUIRED["street_1"]
    for name in ("city", "state", "zip_code"):
        if not values[name]:
            errors[name] = _REQUIRED[name]
    if values["zip_code"] and not _ZIP.match(values["zip_code"]):
        errors["zip_code"] = "Enter a 5-digit zip code, or ZIP+4 as 12345-6789."
    if values["country"] and not _COUNTRY.match(values["country"]):
        errors["country"] = "Enter the 2-letter country code, for example US."
    for key, label in PHONES:
        if values[key] and not _PHONE.match(values[key]):
            errors[key] = f"Enter the {label.lower()} number as digits, for example 860-555-0101."
    method = values["preferred_contact_method"]
    if method and method not in CONTACT_METHODS:
        errors["preferred_contact_method"] = "Choose a method of contact from the list."
    return errors


def validation_errors(
    exc: ValidationError, street_ids: list[str], email_ids: list[str]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    for e in exc.errors():
        field = input_id(e.get("loc", ()), street_ids, email_ids)
        message = "Enter a valid email address." if field.startswith("email") else None
        errors.setdefault(field, message or f"Check this field: {e.get('msg', 'invalid')}.")
    return errors


def routes(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(
        request: Request,
        owner: PageOwner,
        db: Db,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        message: str | None = None,
        notice: str | None = None,
        status: int = 200,
    ) -> Response:
        found = db(queries.profile, owner.party_id, web.open_sealed)
        values = values if values is not None else values_of(found.contact)
        emails = sum(1 for n in range(1, MAX_EMAILS + 1) if values.get(f"email_{n}"))
        return render(
            request,
            "profile.html",
            {
                "title": "Personal Information",
                "breadcrumbs": [
                    ("My Workspace", "/my-insurance"),
                    ("My Insurance", "/my-insurance"),
                    ("Personal Information", None),
                ],
                "personal": found.personal,
                "values": values,
                "errors": errors or {},
                "message": message,
                "notice": notice,
                "street_lines": STREET_LINES,
                "email_inputs": min(MAX_EMAILS, max(2, emails + 1)),
                "phones": PHONES,
                "contact_methods": [("", "Select")] + [(m, m) for m in CONTACT_METHODS],
            },
            owner=owner,
            status=status,
        )

    @router.get("/profile")
    def show(request: Request, owner: PageOwner, db: Db, done: str = "") -> Response:
        return page(request, owner, db, notice=NOTICES.get(done))

    @router.post("/profile")
    async def save(request: Request, owner: PageOwner, db: Db, form: Form) -> Response:
        values = typed_values(form)
        contact, street_ids, email_ids = contact_from(values)
        errors = local_errors(values)
        try:
            checked = ContactInformation.model_validate(contact)
        except ValidationError as exc:
            errors = {**validation_errors(exc, street_ids, email_ids), **errors}
        if errors:
            message = "Please correct the fields below."
            return await asyncio.to_thread(
                page, request, owner, db, values, errors, message, status=422
            )
        try:
            await owner_commands.update_contact(
                web.engine, web.gateway, owner.party_id, checked.model_dump(mode="json")
            )
        except owner_commands.CommandRefused as refused:
            errors = {
                input_id(f.split("."), street_ids, email_ids): m for f, m in refused.errors.items()
            }
            message = "Your changes could not be saved." if errors else refused.detail
            status = refused.status if 400 <= refused.status < 500 else 422
            return await asyncio.to_thread(
                page, request, owner, db, values, errors, message or None, status=status
            )
        return RedirectResponse("/profile?done=saved", status_code=303)

    return router
