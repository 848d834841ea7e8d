"""What personal information the system holds about a person, by CCPA category: the source,
the purpose, the service providers it is disclosed to, where it is kept, and under which key
class it is sealed (`personal_data.py`). The answer to a request to know lists these
categories (from the privacy page's chart, narrowed to what this system actually collects),
and the tests check that every sealed field is catalogued.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.personal_data import CLAIMS, PERSONAL, SERVICING

CONSUMER, EMPLOYER, SERVICE_PROVIDER = "Consumer", "Employer", "Service provider"
SALES, SERVICING_PURPOSE, ADMINISTRATION = (
    "Product sales process",
    "Product servicing",
    "Corporate Administration/Operations",
)


@dataclass(frozen=True)
class Item:
    """One kind of personal information and where it is kept."""

    name: str
    key_class: str  # the key it is sealed under (what a request to delete shreds or keeps)
    services: tuple[str, ...]  # the services whose stores hold it (sealed, or as a digest)


@dataclass(frozen=True)
class Category:
    name: str
    examples: str
    sources: tuple[str, ...]
    purposes: tuple[str, ...]
    disclosed_to: tuple[str, ...]  # service providers (never sold)
    items: tuple[Item, ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "Identifiers",
        "Real name, postal address, email address, account name (user ID), Social Security "
        "number (last 4 digits shown; kept sealed and as a keyed hash for matching)",
        (CONSUMER, EMPLOYER),
        (SALES, SERVICING_PURPOSE, ADMINISTRATION),
        ("Print and mail vendor (letters and statements)", "Email delivery provider"),
        (
            Item("Name", SERVICING, ("policy", "billing", "documents", "identity", "portal")),
            Item("Postal address", SERVICING, ("policy", "documents", "portal")),
            Item("Social Security number", SERVICING, ("policy", "identity")),
            Item("Email addresses", PERSONAL, ("policy", "documents", "identity", "portal")),
            Item("Telephone numbers", PERSONAL, ("policy", "portal")),
            Item("User ID", PERSONAL, ("identity", "portal")),
        ),
    ),
    Category(
        "Personal information categories listed in the California Customer Records Statute",
        "Insurance policy (certificate) number, premium payments, medical information in "
        "claims (patients, services, amounts)",
        (CONSUMER, EMPLOYER, SERVICE_PROVIDER),
        (SERVICING_PURPOSE, ADMINISTRATION),
        ("Print and mail vendor (letters and statements)",),
        (
            Item("Certificates and benefits", SERVICING, ("policy", "portal")),
            Item("Payments and billing", SERVICING, ("billing", "portal")),
            Item("Claims (patients, services, amounts)", CLAIMS, ("claims", "portal")),
            Item(
                "Documents (letters, statements, explanations of benefits)",
                SERVICING,
                ("documents", "portal"),
            ),
        ),
    ),
    Category(
        "Protected classification or characteristics under California or federal law",
        "Date of birth (age), gender",
        (CONSUMER, EMPLOYER),
        (SALES, SERVICING_PURPOSE),
        (),
        (
            Item("Date of birth", SERVICING, ("policy", "identity", "portal")),
            Item("Gender", SERVICING, ("policy",)),
        ),
    ),
    Category(
        "Internet or other similar network activity",
        "Portal sign-ins and sessions, documents opened, delivery and display preferences",
        (CONSUMER,),
        (SERVICING_PURPOSE, ADMINISTRATION),
        (),
        (
            Item("Sign-ins and sessions", PERSONAL, ("identity", "portal")),
            Item("Security questions (answers kept only as hashes)", PERSONAL, ("identity",)),
            Item("Documents opened", PERSONAL, ("documents", "portal")),
            Item(
                "Delivery, language and date-format preferences",
                PERSONAL,
                ("documents", "identity", "portal"),
            ),
        ),
    ),
)

SOLD = False  # the privacy page: personal information is not sold


def categories_answer() -> list[dict[str, object]]:
    """The categories part of an answer to a request to know (no personal data in it)."""
    return [
        {
            "category": c.name,
            "examples": c.examples,
            "sources": list(c.sources),
            "purposes": list(c.purposes),
            "disclosed_to_service_providers": list(c.disclosed_to),
            "sold": SOLD,
        }
        for c in CATEGORIES
    ]
