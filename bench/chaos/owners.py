"""The workload's certificate owners: who they are (the personal data a certificate is issued
with, which registration must repeat exactly), their portal credentials, the bodies of the
three registration steps, and whether identity has learnt an owner yet.

Identity learns owners only from policy's `CertificateIssued` events, and five step-1
mismatches throttle a certificate: the workload asks identity's registry (its database, read
directly) before it tries step 1, never the API.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import psycopg

FIRST_NAMES = (
    "Avery", "Jordan", "Riley", "Morgan", "Casey", "Taylor", "Quinn", "Harper", "Rowan",
    "Emerson", "Finley", "Hayden", "Kendall", "Logan", "Parker", "Reese", "Sawyer", "Skyler",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Moreau", "Castillo", "Nakamura", "Brennan", "Haddad", "Kowalski",
    "Delgado", "Ferreira", "Ivanova", "Mahoney", "Osei", "Petrov", "Quintero", "Sato",
)  # fmt: skip
PASSWORD_WORDS = (
    "Harbor", "Kestrel", "Granite", "Lantern", "Willow", "Copper", "Meadow", "Juniper",
    "Quarry", "Beacon", "Tamarack", "Pelican",
)  # fmt: skip
TOWNS = (
    ("Tolland", "CT", "06084"), ("Groton", "CT", "06340"), ("Mystic", "CT", "06355"),
    ("Hartford", "CT", "06103"), ("Providence", "RI", "02903"), ("Worcester", "MA", "01608"),
)  # fmt: skip
STREETS = ("Elm Street", "Pier Road", "Main Street", "Oak Avenue", "Harbor Lane", "Mill Road")


@dataclass
class OwnerLogin:
    """A registered owner the load test can act as (`token` is the current session's)."""

    user_id: str
    password: str
    certificate_number: str
    token: str
    party_id: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Person:
    """A certificate owner as issued (these fields are what step 1 of registration checks)."""

    party_id: str
    first_name: str
    last_name: str
    gender: str
    date_of_birth: date
    government_id: str
    email: str


def make_person(rng: random.Random, certificate_number: str) -> Person:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 50 * 365))
    government_id = (
        f"{rng.randrange(100, 666):03d}-{rng.randrange(10, 100):02d}-{rng.randrange(1000, 10000)}"
    )
    return Person(
        party_id=str(uuid5(NAMESPACE_URL, f"/bench/chaos/owners/{certificate_number}")),
        first_name=first,
        last_name=last,
        gender=rng.choice(("Female", "Male", "Unspecified")),
        date_of_birth=born,
        government_id=government_id,
        email=f"{first}.{last}.{certificate_number[-6:]}@example.com".lower(),
    )


def contact(rng: random.Random, person: Person, version: int) -> dict[str, Any]:
    """Contact information of `person`; `version` is in the street number, so each update
    differs from every earlier one (policy records no event for an unchanged contact)."""
    town, state, zip_code = rng.choice(TOWNS)
    return {
        "address": {
            "street": [f"{10 + version} {rng.choice(STREETS)}"],
            "city": town,
            "state": state,
            "country": "US",
            "zip_code": zip_code,
        },
        "phones": {"cell": f"860-555-{rng.randrange(100, 10000):04d}"},
        "preferred_contact_method": rng.choice(("Cell Phone", "Email", "Mail")),
        "emails": [person.email],
    }


def credentials(rng: random.Random, certificate_number: str) -> tuple[str, str]:
    """A user ID and a password identity accepts (mixed, with a symbol, not a common word)."""
    first, second = rng.sample(PASSWORD_WORDS, 2)
    return f"owner{certificate_number}", f"{first}-{second}-{rng.randrange(10, 100)}!"


def personal_step(person: Person, certificate_number: str) -> dict[str, Any]:
    """Step 1's body: exactly the personal data the certificate was issued with."""
    return {
        "user_type": "Certificate Owner",
        "certificate_number": certificate_number,
        "name_type": "Person",
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "date_of_birth": person.date_of_birth.strftime("%m/%d/%Y"),
        "government_id": person.government_id,
    }


def credentials_step(
    registration_id: str, user_id: str, password: str, questions: list[str]
) -> dict[str, Any]:
    return {
        "registration_id": registration_id,
        "user_id": user_id,
        "password": password,
        "security_questions": [
            {"question": q, "answer": f"answer {i}"} for i, q in enumerate(questions[:3])
        ],
    }


def preferences_step(registration_id: str) -> dict[str, Any]:
    return {"registration_id": registration_id}


def _known_owners(identity_database: str, numbers: list[str]) -> set[str]:
    with psycopg.connect(identity_database, connect_timeout=5) as connection:
        rows = connection.execute(
            "SELECT certificate_number FROM owners WHERE certificate_number = ANY(%s)",
            (numbers,),
        ).fetchall()
    return {row[0] for row in rows}


async def identity_knows(identity_database: str, numbers: list[str]) -> set[str]:
    """Which of these certificates' owners identity's registry holds (empty when its database
    does not answer: the caller waits and asks again)."""
    if not numbers:
        return set()
    try:
        return await asyncio.to_thread(_known_owners, identity_database, numbers)
    except psycopg.Error:
        return set()
