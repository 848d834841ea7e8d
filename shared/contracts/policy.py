"""Contracts published by the policy service on `policy.events`.

Personal data: a full date of birth travels only *sealed* (encrypted with the person's
`servicing` key, see `shared/personal_data.py`) plus a keyed hash for matching; a government
ID travels only as a keyed hash plus its last 4 digits. Since v2 of CertificateIssued and
ContactInformationUpdated, names, gender, the postal address and the payor's name travel
sealed with the person's `servicing` key and phones, emails and the preferred contact method
with the `personal` key (`personal` rules, sealed by the envelope; see `shared/sealing.py`).

Whose key: the owner's party id for the owner, the payor and an insured whose relationship is
"Owner"; `insured_subject(certificate number, insured id)` for any other insured.

After a person's keys are shredded the fields open to placeholders that keep the contract
valid: "" for names, no phones or emails, `ERASED_ADDRESS`, a date of birth sealed under the
shredded key (it never opens), `ERASED_DIGEST` for the keyed hashes (it matches nothing),
`ERASED_LAST4` ("0000": never the serial number of an issued SSN) and
`ERASED_BIRTH_YEAR_MONTH`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.types import CertificateNumber, Money, PaymentFrequency, PaymentMethod
from shared.contracts.upcasting import upcaster
from shared.personal_data import PERSONAL, SERVICING
from shared.sealing import Rule, Subject

TOPIC = "policy.events"

INSURED_NAMESPACE = UUID("8d1e6c1a-52a4-4f0e-9a57-0b3f2d6e7c11")
OWNERLESS_NAMESPACE = UUID("0b6f3c2e-91d4-4a7e-8f15-6c2d9e4a7b10")

# What erased personal fields open to (see the module docstring).
ERASED_ADDRESS: dict[str, Any] = {
    "street": [""],
    "city": "",
    "state": "",
    "country": "",
    "zip_code": "",
}
ERASED_DIGEST = "0" * 64
ERASED_LAST4 = "0000"
ERASED_BIRTH_YEAR_MONTH = "0000-00"


def insured_subject(certificate_number: str, insured_id: str) -> UUID:
    """The key-store subject of an insured person (other than the owner) on a certificate."""
    return uuid5(INSURED_NAMESPACE, f"{certificate_number}/{insured_id}")


def ownerless_subject(certificate_number: str) -> UUID:
    """The subject of a certificate owner's values recorded without the owner's party id (a
    billing account or a claim from before the id travelled with them): a key of its own,
    which an erasure of the owner does not reach."""
    return uuid5(OWNERLESS_NAMESPACE, str(certificate_number))


def insured_person(owner_party_id: Any, certificate_number: str, insured: Mapping[str, Any]) -> Any:
    """Whose an insured's values are: the owner's when the relationship is "Owner", else the
    insured's own subject."""
    if insured.get("relationship") == "Owner":
        return owner_party_id or ownerless_subject(certificate_number)
    return insured_subject(certificate_number, insured["insured_id"])


def _certificate_number(root: Mapping[str, Any]) -> str:
    """The certificate number of an event's state, or of a snapshot's (`state.…`)."""
    if "certificate_number" in root:
        return root["certificate_number"]
    return root["state"]["certificate_number"]


def owner_at(*path: str) -> Subject:
    """The owner's party id at `path` of the state, or the certificate's ownerless subject
    when it is absent or None."""

    def subject(root: Mapping[str, Any], _parent: Mapping[str, Any]) -> Any:
        node: Any = root
        for step in path:
            node = node.get(step) if isinstance(node, Mapping) else None
        return node or ownerless_subject(_certificate_number(root))

    return subject


def insured_at(*path: str) -> Subject:
    """The person of the insured dict holding the field; owner and certificate number are read
    from the dict at `path` of the state (the root when empty)."""

    def subject(root: Mapping[str, Any], parent: Mapping[str, Any]) -> Any:
        node: Any = root
        for step in path:
            node = node[step]
        owner = node.get("owner_party_id") or (node.get("owner") or {}).get("party_id")
        return insured_person(owner, node["certificate_number"], parent)

    return subject


def contact_rules(prefix: str, subject: Subject) -> tuple[Rule, ...]:
    """The rules of a contact-information dict at `prefix` ("contact", "owner.contact" …)."""
    return (
        Rule(f"{prefix}.address", subject, SERVICING, ERASED_ADDRESS),
        Rule(f"{prefix}.phones", subject, PERSONAL, {}),
        Rule(f"{prefix}.emails", subject, PERSONAL, []),
        Rule(f"{prefix}.preferred_contact_method", subject, PERSONAL, None),
    )


def owner_rules(prefix: str, subject: Subject) -> tuple[Rule, ...]:
    """Names, gender and contact information of the owner party dict at `prefix`."""
    return (
        Rule(f"{prefix}.first_name", subject, SERVICING, ""),
        Rule(f"{prefix}.last_name", subject, SERVICING, ""),
        Rule(f"{prefix}.gender", subject, SERVICING, None),
        *contact_rules(f"{prefix}.contact", subject),
    )


def insured_name_rules(
    prefix: str, subject: Subject, key_class: str = SERVICING
) -> tuple[Rule, ...]:
    """First and last names of each insured (or patient) dict reached by `prefix`."""
    return (
        Rule(f"{prefix}.first_name", subject, key_class, ""),
        Rule(f"{prefix}.last_name", subject, key_class, ""),
    )


Sealed = Annotated[str, StringConstraints(pattern=r"^pii:v1:[0-9a-f-]{36}:[A-Za-z0-9+/=]+$")]
Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Last4 = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
NonforfeitureOption = Literal["Reduced Paid Up", "Extended Term"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Part):
    street: list[str] = Field(min_length=1, max_length=3)
    city: str
    state: str
    country: str = "US"
    zip_code: str


class Phones(_Part):
    cell: str | None = None
    home: str | None = None
    business: str | None = None
    fax: str | None = None


class ContactInformation(_Part):
    address: Address
    phones: Phones = Phones()
    preferred_contact_method: str | None = None
    emails: list[EmailStr] = Field(default_factory=list, max_length=5)


class OwnerParty(_Part):
    party_id: UUID
    name_type: str = "Person"
    first_name: str
    last_name: str
    gender: str | None = None
    relationship: str = "Owner"
    date_of_birth: Sealed
    date_of_birth_digest: Digest
    government_id_digest: Digest
    government_id_last4: Last4
    contact: ContactInformation


class Insured(_Part):
    insured_id: str
    first_name: str
    last_name: str
    relationship: str
    date_of_birth: Sealed
    # Public on purpose: the portal's claim-visibility rule (dependents under 18) needs it.
    birth_year_month: str = Field(pattern=r"^\d{4}-\d{2}$")


class Agent(_Part):
    name: str
    phone: str | None = None
    email: EmailStr | None = None


class Benefit(_Part):
    benefit_id: str
    product_name: str
    coverage_code: str
    status: str
    effective_date: date
    coverage_amount: Money | None
    net_benefit_value: Money | None
    insureds: list[Insured]


class _PolicyEvent(IntegrationEvent):
    producer: ClassVar[str] = "policy"


class CertificateIssued(_PolicyEvent):
    """v2: names, gender, contact information and the payor's name travel sealed."""

    event_type: ClassVar[str] = "CertificateIssued"
    schema_version: ClassVar[int] = 2
    personal: ClassVar[tuple[Rule, ...]] = (
        *owner_rules("owner", owner_at("owner_party_id")),
        Rule("payor_name", owner_at("owner_party_id"), SERVICING, ""),
        *insured_name_rules("benefits[].insureds[]", insured_at()),
    )
    certificate_number: CertificateNumber
    owner_party_id: UUID
    product_code: str
    product_name: str
    status: str
    currency: str
    application_date: date
    effective_date: date
    premium: Money
    payment_frequency: PaymentFrequency
    payment_method: PaymentMethod
    payor_name: str
    primary_dividend_option: str | None = None
    net_cash_value: Money | None = None
    paid_up_additions_amount: Money | None = None
    paid_up_additions_expiration_date: date | None = None
    # Whole Life only: what a premium default turns the certificate into (None for other
    # products, and in payloads published before the field existed).
    nonforfeiture_option: NonforfeitureOption | None = None
    owner: OwnerParty
    benefits: list[Benefit] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list)


class CertificateStatusChanged(_PolicyEvent):
    event_type: ClassVar[str] = "CertificateStatusChanged"
    certificate_number: CertificateNumber
    previous_status: str
    status: str
    status_date: date


class ContactInformationUpdated(_PolicyEvent):
    """v2: the contact information travels sealed."""

    event_type: ClassVar[str] = "ContactInformationUpdated"
    schema_version: ClassVar[int] = 2
    personal: ClassVar[tuple[Rule, ...]] = contact_rules("contact", owner_at("owner_party_id"))
    certificate_number: CertificateNumber
    owner_party_id: UUID
    contact: ContactInformation


class CashValueUpdated(_PolicyEvent):
    event_type: ClassVar[str] = "CashValueUpdated"
    certificate_number: CertificateNumber
    as_of: date
    net_cash_value: Money
    benefit_values: dict[str, Money] = Field(default_factory=dict)


class DividendCredited(_PolicyEvent):
    event_type: ClassVar[str] = "DividendCredited"
    certificate_number: CertificateNumber
    credited_on: date
    amount: Money
    paid_up_additions_amount: Money
    paid_up_additions_expiration_date: date | None


class LoanTaken(_PolicyEvent):
    event_type: ClassVar[str] = "LoanTaken"
    certificate_number: CertificateNumber
    benefit_id: str
    loan_id: str
    taken_on: date
    amount: Money
    interest_rate: Money
    balance: Money


class LoanRepaid(_PolicyEvent):
    event_type: ClassVar[str] = "LoanRepaid"
    certificate_number: CertificateNumber
    benefit_id: str
    loan_id: str
    repaid_on: date
    amount: Money
    balance: Money


@upcaster("CertificateIssued", from_version=1)
@upcaster("ContactInformationUpdated", from_version=1)
def _clear_personal_fields_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 carried the same fields in clear: nothing changes but how v2 travels (`parse_event`
    leaves values that are not sealed as they are)."""
    return dict(data)


EVENTS: tuple[type[IntegrationEvent], ...] = (
    CertificateIssued,
    CertificateStatusChanged,
    ContactInformationUpdated,
    CashValueUpdated,
    DividendCredited,
    LoanTaken,
    LoanRepaid,
)
