"""Value shapes of a certificate (validated at the edge, stored as plain dicts in events)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from shared.contracts.types import Money

GovernmentId = Annotated[str, StringConstraints(pattern=r"^\d{3}-\d{2}-\d{4}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9 ()+.-]{7,20}$")]


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(_Value):
    street: list[Text] = Field(min_length=1, max_length=3)
    city: Text
    state: Text
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "US"
    zip_code: Annotated[str, StringConstraints(pattern=r"^\d{5}(-\d{4})?$")]


class Phones(_Value):
    cell: Phone | None = None
    home: Phone | None = None
    business: Phone | None = None
    fax: Phone | None = None


CONTACT_METHODS = ("Cell Phone", "Home Phone", "Business Phone", "Email", "Mail")


class ContactInformation(_Value):
    address: Address
    phones: Phones = Phones()
    preferred_contact_method: (
        Annotated[str, StringConstraints(pattern="^(" + "|".join(CONTACT_METHODS) + ")$")] | None
    ) = None
    emails: list[EmailStr] = Field(default_factory=list, max_length=5)


class OwnerParty(_Value):
    party_id: UUID
    name_type: str = "Person"
    first_name: Text
    last_name: Text
    gender: Annotated[str, StringConstraints(pattern="^(Female|Male|Unspecified)$")] | None = None
    date_of_birth: date
    government_id: GovernmentId
    contact: ContactInformation


class Insured(_Value):
    insured_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,20}$")]
    first_name: Text
    last_name: Text
    relationship: Annotated[str, StringConstraints(pattern="^(Owner|Spouse|Child|Other)$")]
    date_of_birth: date


class Benefit(_Value):
    benefit_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,20}$")]
    coverage_code: Annotated[str, StringConstraints(pattern="^(WL|UL|CI|AC)$")]
    status: str
    effective_date: date
    coverage_amount: Money | None = None
    net_benefit_value: Money | None = None
    insureds: list[Insured] = Field(min_length=1)


class Agent(_Value):
    name: Text
    phone: Phone | None = None
    email: EmailStr | None = None


def plain(value: BaseModel | list[BaseModel]) -> object:
    """The dict (or list of dicts) an event stores: dates, Decimals and UUIDs kept as such."""
    if isinstance(value, list):
        return [v.model_dump(mode="python") for v in value]
    return value.model_dump(mode="python")
