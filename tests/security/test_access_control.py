"""Owner A, signed in, asks for owner B's things: every owner-facing endpoint (JSON API and
pages, enumerated from the app) answers 404, byte for byte the answer for an identifier that
does not exist (the "twin": same shape, same length, owned by no one) — so the answer tells
neither that B's record exists nor anything in it.

Owners: the demo owners, the newcomer and two owners of certificates issued here (one with a
denied claim), all registered through the portal (`owners.py`). Hypothesis draws the pair,
the endpoint's identifiers among B's and how they are spelled (leading zeros dropped, other
letter case); a deterministic sweep then tries every identifier of every owner as every
other owner, the listings, and the commands that name a certificate in their body.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import permutations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.owners import Owner, Population
from tests.security.routes import (
    IDENTIFIER_QUERY,
    Endpoint,
    call,
    endpoints,
    is_owner_facing,
)
from tests.security.system import SecuredPortal

pytestmark = pytest.mark.embedded

KINDS = {"number": "certificate", "benefit_id": "benefit", "claim_number": "claim"}
KINDS |= {"document_id": "document", **IDENTIFIER_QUERY}


@dataclass(frozen=True)
class Spelled:
    """One of B's identifiers as sent, its twin spelled alike, and the text swaps that turn
    the twin's answer into what B's answer must be, byte for byte."""

    value: str
    twin: str
    swaps: tuple[tuple[str, str], ...]


def certificate_spelling(number: str, keep: int) -> Spelled:
    """`number` (10 digits) with `keep` leading zeros dropped at most; the twin has a 9 in
    the fifth digit (no certificate here has one)."""
    twin = number[:4] + "9" + number[5:]
    drop = min(keep, len(number) - len(number.lstrip("0")))
    return Spelled(number[drop:], twin[drop:], ((twin[drop:], number[drop:]), (twin, number)))


def claim_spelling(claim: str, lower: bool) -> Spelled:
    twin = claim[0] + "9" + claim[2:]
    value, twin = (claim.lower(), twin.lower()) if lower else (claim, twin)
    return Spelled(value, twin, ((twin, value),))


def document_spelling(document: str, upper: bool) -> Spelled:
    twin = ("e" if document[0] == "f" else "f") + document[1:]
    value, twin = (document.upper(), twin.upper()) if upper else (document, twin)
    return Spelled(value, twin, ((twin, value),))


def benefit_spelling(benefit: str, lower: bool) -> Spelled:
    twin = "Z" * (len(benefit) - 1) + benefit[-1]
    value, twin = (benefit.lower(), twin.lower()) if lower else (benefit, twin)
    return Spelled(value, twin, ((twin, value),))


@dataclass
class World:
    portal: SecuredPortal
    owners: dict[str, Owner]
    by_identifier: list[Endpoint]  # owner-facing, with identifiers in the path or the query
    listings: list[Endpoint]  # owner-facing GETs without identifiers


@pytest.fixture(scope="module")
def world(populated: Population) -> World:
    portal, owners = populated.portal, populated.owners
    everyone = set().union(*(o.identifiers() for o in owners.values()))
    assert not any(n[4] == "9" for o in owners.values() for n in o.certificates)
    assert not any(c[1] == "9" for o in owners.values() for c in o.claims)
    anonymous = portal.client_like()
    anonymous.get("/login")  # its CSRF cookie
    by_identifier, listings = [], []
    for endpoint in endpoints(portal.app):
        probe = {p: placeholder(p) for p in endpoint.path_params}
        identifiers = endpoint.path_params or endpoint.query_identifiers
        if endpoint.method != "GET" and not endpoint.path_params:
            continue  # a command on the owner's own data: nothing of B's to name
        if not is_owner_facing(anonymous, endpoint, endpoint.url(probe)):
            assert not endpoint.path_params, f"{endpoint} names a record but is public"
            continue
        (by_identifier if identifiers else listings).append(endpoint)
    assert not everyone & {placeholder(k) for k in KINDS}
    return World(portal, owners, by_identifier, listings)


def placeholder(param: str) -> str:
    """An identifier of the right shape owned by no one (for probing without a session)."""
    return {
        "certificate": "0000999999",
        "benefit": "ZZ9",
        "claim": "C999999999",
        "document": "ffffffff-ffff-ffff-ffff-ffffffffffff",
    }.get(KINDS.get(param, ""), "ZZ9")


def test_the_endpoints_were_found_and_classified(world: World) -> None:
    """The app's own routes drive the tests: check the enumeration found the known ones."""
    paths = {str(e) for e in world.by_identifier}
    for expected in (
        "GET /api/certificates/{number}",
        "GET /api/certificates/{number}/benefits/{benefit_id}",
        "GET /api/certificates/{number}/billing",
        "GET /api/claims/{claim_number}",
        "GET /api/documents/{document_id}",
        "GET /api/claims",
        "GET /api/documents",
        "GET /certificates/{number}",
        "GET /certificates/{number}/benefits/{benefit_id}",
        "GET /certificates/{number}/billing",
        "GET /claims/{claim_number}",
        "GET /claims/{claim_number}/eob",
        "GET /documents/{document_id}/pdf",
        "GET /claims",
    ):
        assert expected in paths, f"{expected} not enumerated: {sorted(paths)}"
    listings = {str(e) for e in world.listings}
    assert {"GET /api/certificates", "GET /api/profile", "GET /my-insurance"} <= listings


def spellings_of(owner: Owner, kind: str, certificate: str | None = None) -> st.SearchStrategy:
    """B's identifiers of one kind, variously spelled."""
    if kind == "certificate":
        numbers = sorted(owner.certificates)
        return st.builds(certificate_spelling, st.sampled_from(numbers), st.integers(0, 9))
    if kind == "benefit":
        benefits = sorted(b for n, b in owner.benefits if n == certificate)
        return st.builds(benefit_spelling, st.sampled_from(benefits), st.booleans())
    if kind == "claim":
        return st.builds(claim_spelling, st.sampled_from(sorted(owner.claims)), st.booleans())
    if kind == "document":
        documents = sorted(owner.documents)
        return st.builds(document_spelling, st.sampled_from(documents), st.booleans())
    # A parameter this test does not know yet: any of B's unique identifiers.
    return st.one_of(*(spellings_of(owner, k) for k in ("certificate", "claim", "document")))


def has(owner: Owner, kind: str) -> bool:
    return bool(
        {
            "certificate": owner.certificates,
            "benefit": owner.benefits,
            "claim": owner.claims,
            "document": owner.documents,
        }.get(kind, owner.certificates)
    )


def assert_same_answer(client: TestClient, endpoint: Endpoint, theirs, twins, what: str):
    """B's identifiers (`theirs`: param → Spelled) get exactly the twin's answer."""
    path = {p: s.value for p, s in theirs.items() if p in endpoint.path_params}
    twin_path = {p: s.twin for p, s in theirs.items() if p in endpoint.path_params}
    query = {p: s.value for p, s in theirs.items() if p in endpoint.query_identifiers}
    twin_query = {p: s.twin for p, s in theirs.items() if p in endpoint.query_identifiers}
    if "claim" in query and "missing" in endpoint.query:
        query["missing"] = twin_query["missing"] = "eob"
    answer = call(client, endpoint, endpoint.url(path), query or None)
    twin = call(client, endpoint, endpoint.url(twin_path), twin_query or None)
    expected = twin.content
    for spelled in twins:
        for from_twin, to_theirs in spelled.swaps:
            expected = expected.replace(from_twin.encode(), to_theirs.encode())
    where = f"{endpoint} with {what}"
    if endpoint.path_params:
        assert answer.status_code == 404, f"{where}: {answer.status_code}"
    assert answer.status_code == twin.status_code, f"{where}: unlike a missing one"
    assert answer.headers.multi_items() == twin.headers.multi_items(), where
    assert answer.content == expected, f"{where}: the body differs from a missing one's"


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_another_owners_identifiers_answer_like_missing_ones(world: World, data) -> None:
    a, b = data.draw(st.permutations(sorted(world.owners)).map(tuple).map(lambda p: p[:2]))
    me, them = world.owners[a], world.owners[b]
    for endpoint in world.by_identifier:
        params = endpoint.path_params or endpoint.query_identifiers
        kinds = {p: KINDS.get(p, "any") for p in params}
        if not all(has(them, k) for k in kinds.values()):
            continue
        if "benefit_id" in kinds:  # a benefit of one of B's certificates
            certificate = data.draw(st.sampled_from(sorted({n for n, _ in them.benefits})))
            theirs = {
                "number": certificate_spelling(certificate, data.draw(st.integers(0, 9))),
                "benefit_id": data.draw(spellings_of(them, "benefit", certificate)),
            }
        else:
            theirs = {p: data.draw(spellings_of(them, kind)) for p, kind in kinds.items()}
        what = f"{b}'s " + ", ".join(f"{p}={s.value}" for p, s in theirs.items()) + f" as {a}"
        assert_same_answer(me.client, endpoint, theirs, list(theirs.values()), what)


def every_identifier(owner: Owner, endpoint: Endpoint) -> Iterator[dict[str, Spelled]]:
    params = endpoint.path_params or endpoint.query_identifiers
    if "benefit_id" in params:
        for number, benefit in sorted(owner.benefits):
            certificate = certificate_spelling(number, 0)
            yield {"number": certificate, "benefit_id": benefit_spelling(benefit, False)}
        return
    for param in params:
        kind = KINDS.get(param, "any")
        if kind in ("certificate", "any"):
            for number in sorted(owner.certificates):
                yield {param: certificate_spelling(number, 0)}
        if kind in ("claim", "any"):
            for claim in sorted(owner.claims):
                yield {param: claim_spelling(claim, False)}
        if kind in ("document", "any"):
            for document in sorted(owner.documents):
                yield {param: document_spelling(document, False)}


def test_every_identifier_of_every_owner_as_every_other_owner(world: World) -> None:
    for a, b in permutations(sorted(world.owners), 2):
        me, them = world.owners[a], world.owners[b]
        for endpoint in world.by_identifier:
            for theirs in every_identifier(them, endpoint):
                what = f"{b}'s " + ", ".join(s.value for s in theirs.values()) + f" as {a}"
                assert_same_answer(me.client, endpoint, theirs, list(theirs.values()), what)


def test_each_owner_reaches_their_own_records_the_same_way(world: World) -> None:
    """The control: the same requests with the owner's own identifiers are answered (so a
    404 above is the ownership check, not a malformed request)."""
    for name, me in world.owners.items():
        for endpoint in world.by_identifier:
            if not endpoint.path_params:
                continue
            for mine in every_identifier(me, endpoint):
                path = endpoint.url({p: s.value for p, s in mine.items()})
                answer = call(me.client, endpoint, path)
                assert answer.status_code in (200, 303), f"{endpoint} {path} as {name}"


def test_listings_never_show_another_owners_records(world: World) -> None:
    for a, b in permutations(sorted(world.owners), 2):
        me, them = world.owners[a], world.owners[b]
        for endpoint in world.listings:
            answer = call(me.client, endpoint, endpoint.path)
            assert answer.status_code < 500, f"{endpoint} as {a}: {answer.status_code}"
            shown = answer.content.decode("utf-8", "replace")
            leaked = sorted(i for i in them.identifiers() if i in shown)
            assert not leaked, f"{endpoint} as {a} shows {b}'s {leaked}"


DOCUMENT_KEYS = ("all", "certificate", "bill", "notice", "annual_statement", "letter", "eob")
_INPUT = re.compile(r"<input\b[^>]*>", re.S)
_ATTRIBUTE = re.compile(r'([\w-]+)(?:="([^"]*)")?')


def own_preference_fields(client: TestClient) -> dict[str, str]:
    """What the browser would post unchanged from the preferences page (checked radios,
    email inputs, the CSRF token)."""
    page = client.get("/documents/preferences").text
    form = page.split('action="/documents/preferences"', 1)[1].split("</form>", 1)[0]
    fields: dict[str, str] = {}
    for tag in _INPUT.findall(form):
        attributes = dict(_ATTRIBUTE.findall(tag[6:]))
        if attributes.get("type") == "radio" and "checked" not in attributes:
            continue
        if "name" in attributes:
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
    return fields


def test_delivery_preferences_for_another_owners_certificate_are_refused_alike(
    world: World,
) -> None:
    """The commands that name a certificate in their body: the API's PUT and the page's form."""
    for a, b in permutations(sorted(world.owners), 2):
        me, them = world.owners[a], world.owners[b]
        before = them.client.get("/api/documents/preferences").content
        for number in sorted(them.certificates):
            spelled = certificate_spelling(number, 0)
            bodies = [
                {"certificate_number": n, "document_type": "all", "method": "Mail", "emails": []}
                for n in (spelled.value, spelled.twin)
            ]
            answer, twin = (me.client.put("/api/documents/preferences", json=b) for b in bodies)
            assert answer.status_code == twin.status_code and answer.status_code >= 400
            assert answer.content == twin.content.replace(
                spelled.twin.encode(), spelled.value.encode()
            )
            mine = own_preference_fields(me.client)
            forms = [
                mine | {f"method_{n}_{kind}": "Mail" for kind in DOCUMENT_KEYS}
                for n in (spelled.value, spelled.twin)
            ]
            posted, twin_posted = (me.client.post("/documents/preferences", data=f) for f in forms)
            assert posted.status_code == twin_posted.status_code
            assert posted.headers.get("location") == twin_posted.headers.get("location")
        assert them.client.get("/api/documents/preferences").content == before
