"""Delivery preferences: per certificate and document type, Portal (eDelivery) or Mail.

Rules, from the guide's User Preferences page and FAQ:
- "If you choose Portal then all documents will be eDelivered and a valid email address is
  required for all Portal selections"; "at least one email address is required for each type
  of document" — a Portal selection without an email is refused.
- "Paperless delivery is not available for EOB": EOBs are always mailed (a copy is still in
  the portal inbox). "all" sets every other type; asking for EOB by Portal explicitly is
  refused, and with it the whole request (nothing is changed).
- No preference recorded yet: Mail for every type.

One aggregate per certificate (id `uuid5(certificate number)`), created by the first change
that departs from the defaults; each change records the full resulting list of the 7 types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event
from pydantic import EmailStr, TypeAdapter, ValidationError

from services.documents.errors import PreferenceRefused
from shared.contracts.documents import DOCUMENT_TYPES, Preference

PREFERENCES_NAMESPACE = UUID("e2c1b7a9-5f43-4d0e-b6a8-73d9c0f41e57")
ALL = "all"
METHODS = ("Portal", "Mail")
MAIL_ONLY = frozenset({"eob"})
MAX_EMAILS = 5

EOB_REASON = (
    "Paperless delivery is not available for EOB: EOBs and checks are always mailed to the "
    "address on file."
)
PORTAL_NEEDS_EMAIL = "A valid email address is required for all Portal selections."

_email = TypeAdapter(EmailStr)


def preferences_id(certificate_number: str) -> UUID:
    return uuid5(PREFERENCES_NAMESPACE, certificate_number)


@dataclass(frozen=True)
class Selection:
    """One line of a change: a document type (or "all"), a method and the emails to notify."""

    document_type: str
    method: str
    emails: tuple[str, ...] = ()


def default_preferences() -> dict[str, Preference]:
    return {t: Preference(document_type=t, method="Mail") for t in DOCUMENT_TYPES}  # type: ignore[arg-type]


def _valid_emails(emails: Sequence[str], field: str) -> list[str]:
    """Each email validated (and normalised), duplicates dropped, order kept."""
    seen: dict[str, str] = {}
    for index, raw in enumerate(emails):
        try:
            email = _email.validate_python(raw.strip())
        except ValidationError:
            raise PreferenceRefused(
                "Enter a valid email address.", field=f"{field}.{index}"
            ) from None
        seen.setdefault(email.casefold(), email)
    if len(seen) > MAX_EMAILS:
        raise PreferenceRefused(f"At most {MAX_EMAILS} email addresses.", field=field)
    return list(seen.values())


def resolve(
    current: dict[str, Preference], selections: Sequence[Selection]
) -> dict[str, Preference]:
    """The preferences after applying `selections` in order; refuses the whole request at the
    first selection that breaks a rule (the field names the selection, as in the request)."""
    if not selections:
        raise PreferenceRefused("Choose at least one preference.", field="preferences")
    result = dict(current)
    for index, selection in enumerate(selections):
        where = f"preferences.{index}"
        kind, method = selection.document_type, selection.method
        if kind != ALL and kind not in DOCUMENT_TYPES:
            raise PreferenceRefused("Unknown document type.", field=f"{where}.document_type")
        if method not in METHODS:
            raise PreferenceRefused("Choose Portal or Mail.", field=f"{where}.method")
        emails = _valid_emails(selection.emails, f"{where}.emails")
        if method == "Portal" and kind in MAIL_ONLY:
            raise PreferenceRefused(EOB_REASON, field=f"{where}.method")
        if method == "Portal" and not emails:
            raise PreferenceRefused(PORTAL_NEEDS_EMAIL, field=f"{where}.emails")
        kinds = DOCUMENT_TYPES if kind == ALL else (kind,)
        for t in kinds:
            if method == "Portal" and t in MAIL_ONLY:
                continue  # "all" by Portal: EOB stays Mail
            result[t] = Preference(document_type=t, method=method, emails=emails)  # type: ignore[arg-type]
    return result


class DeliveryPreferences(Aggregate):
    """Created with the first change that departs from the defaults; every event carries the
    full resulting list (both map to the DeliveryPreferencesChanged contract)."""

    @staticmethod
    def create_id(certificate_number: str, **_: object) -> UUID:
        return preferences_id(certificate_number)

    @event("Created")
    def __init__(
        self, certificate_number: str, owner_party_id: UUID, preferences: list[dict]
    ) -> None:
        self.certificate_number = certificate_number
        self.owner_party_id = owner_party_id
        self.preferences = preferences

    @classmethod
    def start(
        cls, certificate_number: str, owner_party_id: UUID, preferences: dict[str, Preference]
    ) -> DeliveryPreferences:
        return cls(
            certificate_number=certificate_number,
            owner_party_id=owner_party_id,
            preferences=listed(preferences),
        )

    def current(self) -> dict[str, Preference]:
        return {p["document_type"]: Preference.model_validate(p) for p in self.preferences}

    def method_for(self, document_type: str) -> str:
        if document_type in MAIL_ONLY:
            return "Mail"
        return self.current()[document_type].method

    def emails_for(self, document_type: str) -> list[str]:
        return [str(e) for e in self.current()[document_type].emails]

    def change(self, preferences: dict[str, Preference]) -> bool:
        """Record the full resulting list; False (nothing recorded) if nothing changes."""
        new = listed(preferences)
        if new == self.preferences:
            return False
        self._changed(self.certificate_number, self.owner_party_id, new)
        return True

    @event("Changed")
    def _changed(
        self, certificate_number: str, owner_party_id: UUID, preferences: list[dict]
    ) -> None:
        self.preferences = preferences


def listed(preferences: dict[str, Preference]) -> list[dict]:
    """The 7 types in the contract's order, as stored in events."""
    return [preferences[t].model_dump(mode="json") for t in DOCUMENT_TYPES]
