"""A population of signed-in owners on one embedded portal, and what each of them owns as
the owner's own API shows it (certificate numbers, benefit ids, claim numbers, document ids).

The demo owners (`demo`, `demo2`) plus owners of newly issued certificates, registered
through the portal's JSON API like anyone else (the newcomer Taylor Sample, and two owners
issued by the back office here, one of them with a denied claim).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from services.portal.demo import DEMO_PASSWORD
from services.portal.demo_newcomer import NEWCOMER
from tests.e2e.test_embedded_http import register as register_on_the_api
from tests.factories import certificate_body
from tests.security.system import SecuredPortal

NEW_OWNERS = {  # user id: (certificate number, factory owner name, product)
    "quinn.owner": ("0000200001", "quinn", "AC"),
    "morgan.owner": ("0000200002", "morgan", "WL"),
}
NEW_PASSWORD = "Slate-Meadow-5150!"
NEWCOMER_USER = "taylor.owner"


@dataclass
class Owner:
    user_id: str
    client: TestClient  # signed in (session cookie)
    certificates: set[str] = field(default_factory=set)
    benefits: set[tuple[str, str]] = field(default_factory=set)  # (certificate, benefit id)
    claims: set[str] = field(default_factory=set)
    documents: set[str] = field(default_factory=set)

    def identifiers(self) -> set[str]:
        """What is unique to this owner (benefit ids repeat across certificates)."""
        return self.certificates | self.claims | self.documents


@dataclass
class Population:
    """A running portal and its signed-in owners by user ID."""

    portal: SecuredPortal
    owners: dict[str, Owner]


def register(client: TestClient, personal: dict[str, str], user_id: str, password: str) -> None:
    """The guide's three steps on the JSON API."""
    register_on_the_api(client, personal["certificate_number"], user_id, password, personal)


def personal_information(number: str, name: str) -> dict[str, str]:
    """Step 1 of registration for the owner of a `tests.factories` certificate."""
    owner = certificate_body(number, owner=name)["owner"]
    return {
        "user_type": "Certificate Owner",
        "certificate_number": number,
        "name_type": "Person",
        "first_name": owner["first_name"],
        "last_name": owner["last_name"],
        "email": owner["contact"]["emails"][0],
        "date_of_birth": "11/01/1983",  # the factory's
        "government_id": owner["government_id"],
    }


def issue(portal: SecuredPortal, number: str, name: str, product: str = "WL") -> None:
    body = certificate_body(number, owner=name, product_code=product, premium="20.00")
    issued = portal.client.post("/backoffice/policy/certificates", json=body)
    assert issued.status_code == 201, issued.text
    portal.settle()


def owner_of_a_new_certificate(
    portal: SecuredPortal, number: str, name: str, user_id: str, password: str
) -> None:
    """Issue a certificate and register its owner through the portal."""
    issue(portal, number, name)
    register(portal.client, personal_information(number, name), user_id, password)
    portal.settle()


def issue_new_owners(portal: SecuredPortal) -> None:
    client = portal.client
    for number, name, product in NEW_OWNERS.values():
        issue(portal, number, name, product)
    quinn_number = NEW_OWNERS["quinn.owner"][0]
    submitted = client.post(
        "/backoffice/claims/claims",
        json={
            "certificate_number": quinn_number,
            "claim_number": "C000000301",
            "patient_insured_id": "I1",
            "provider": "Universal Provider",
            "service_date": "2024-01-10",
            "submitted_amount": "90.00",
            "submitted_on": "2024-01-12",
        },
    )
    assert submitted.status_code == 201, submitted.text
    denied = client.post(
        "/backoffice/claims/claims/C000000301/deny",
        json={"on": "2024-01-20", "reason": "Not a covered service"},
    )
    assert denied.status_code in (200, 201), denied.text
    portal.settle()
    for user_id, (number, name, _) in NEW_OWNERS.items():
        register(client, personal_information(number, name), user_id, NEW_PASSWORD)
    newcomer = {
        "user_type": "Certificate Owner",
        "certificate_number": "0000100004",
        "name_type": "Person",
        **NEWCOMER,
    }
    register(client, newcomer, NEWCOMER_USER, NEW_PASSWORD)
    portal.settle()


def sign_in(portal: SecuredPortal, user_id: str, password: str) -> Owner:
    client = portal.client_like()
    started = client.post("/api/session", json={"user_id": user_id, "password": password})
    assert started.status_code == 201, started.text
    assert client.cookies.get("portal_session")
    client.get("/glossary")  # the CSRF cookie, once, so later answers set no cookie
    owner = Owner(user_id, client)
    learn(owner)
    return owner


def learn(owner: Owner) -> None:
    """What the owner's own API lists as theirs."""
    client = owner.client
    listing = client.get("/api/certificates").json()
    for group in listing["products"]:
        for certificate in group["certificates"]:
            owner.certificates.add(certificate["certificate_number"])
    for number in owner.certificates:
        detail = client.get(f"/api/certificates/{number}").json()
        for benefit in detail.get("benefits", []):
            owner.benefits.add((number, benefit["benefit_id"]))
    owner.claims |= {claim["claim_number"] for claim in every(client, "/api/claims", "claims")}
    owner.documents |= {d["document_id"] for d in every(client, "/api/documents", "items")}


def every(client: TestClient, path: str, key: str) -> list[dict]:
    """All the rows of a paged listing."""
    rows: list[dict] = []
    page = 1
    while True:
        body = client.get(path, params={"page": page, "size": 100}).json()
        rows += body[key]
        if page * 100 >= body["total"]:
            return rows
        page += 1


def population(portal: SecuredPortal) -> dict[str, Owner]:
    """Every owner signed in, keyed by user id."""
    issue_new_owners(portal)
    passwords = {"demo": DEMO_PASSWORD, "demo2": DEMO_PASSWORD, NEWCOMER_USER: NEW_PASSWORD}
    passwords |= {user_id: NEW_PASSWORD for user_id in NEW_OWNERS}
    return {user_id: sign_in(portal, user_id, password) for user_id, password in passwords.items()}
