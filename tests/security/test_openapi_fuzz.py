"""Schemathesis against the portal's own OpenAPI document, in process: every operation, a few
generated requests each (valid and invalid ones), signed in as a demo owner where the
operation needs it. No answer may be a server error, and every answer whose status the
document describes must match the schema it gives.

Commands that end the session or act on the person as a whole (log-out, privacy requests)
run as a throwaway owner with a fresh session each time, so the rest keeps its session.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from services.portal.demo import DEMO_PASSWORD
from tests.security.owners import Population, owner_of_a_new_certificate
from tests.security.system import SecuredPortal

pytestmark = pytest.mark.embedded

THROWAWAY = ("fuzz.throwaway", "Pebble-Harbor-3141!", "0000200099", "riley")


def runs_as_throwaway(method: str, path: str) -> bool:
    """Log-out, and anything under /api/privacy (a request to delete erases the person)."""
    return (method, path) == ("DELETE", "/api/session") or path.startswith("/api/privacy")


@dataclass
class Fuzzed:
    portal: SecuredPortal
    owner: TestClient  # the demo owner, signed in (session cookie)

    def client_for(self, method: str, path: str) -> tuple[TestClient, dict[str, str]]:
        if not runs_as_throwaway(method, path):
            return self.owner, {}
        client = self.portal.client_like(raise_server_exceptions=False)
        user_id, password, *_ = THROWAWAY
        started = client.post("/api/session", json={"user_id": user_id, "password": password})
        client.cookies.clear()
        if started.status_code != 201:  # e.g. erased by an earlier example: no session then
            return client, {}
        return client, {"Authorization": f"Bearer {started.json()['token']}"}


@pytest.fixture(scope="module")
def fuzzed(populated: Population) -> Fuzzed:
    portal = populated.portal
    user_id, password, number, name = THROWAWAY
    owner_of_a_new_certificate(portal, number, name, user_id, password)
    demo = portal.client_like(raise_server_exceptions=False)
    started = demo.post("/api/session", json={"user_id": "demo", "password": DEMO_PASSWORD})
    assert started.status_code == 201, started.text
    # An opened document, so the inbox answers carry an `opened_at` to check as well (that
    # an owner can open their documents is `test_access_control`'s control test).
    inbox = demo.get("/api/documents").json()["items"]
    demo.get(f"/api/documents/{inbox[0]['document_id']}")
    return Fuzzed(portal, demo)


EXAMPLES_PER_MODE = 4  # per operation: valid requests, then invalid ones


def send(fuzzed: Fuzzed, case) -> object:
    """The generated request, through the test client on the running app."""
    client, auth = fuzzed.client_for(case.method, case.path)
    request = case.as_transport_kwargs(base_url="https://testserver")
    data = request.get("data")
    return client.request(
        request["method"],
        request["url"],
        params=request.get("params"),
        headers={**(request.get("headers") or {}), **auth},
        cookies=request.get("cookies") or None,
        json=request.get("json"),
        content=data if isinstance(data, bytes | str) else None,
        data=data if isinstance(data, dict) else None,
    )


CHECKS = {
    "server error": checks.not_a_server_error,
    "schema": checks.response_schema_conformance,
}


@pytest.fixture(scope="module")
def operations(fuzzed: Fuzzed) -> list:
    schema = schemathesis.openapi.from_dict(fuzzed.portal.app.openapi())
    return [result.ok() for result in schema.get_all_operations()]


def test_the_document_lists_the_owner_api(operations: list) -> None:
    labels = {f"{op.method.upper()} {op.path}" for op in operations}
    for expected in ("GET /api/certificates/{number}", "PUT /api/profile", "POST /api/session"):
        assert expected in labels, sorted(labels)


def fuzzer(fuzzed: Fuzzed, cases, label: str, found: dict[str, dict[str, str]]):
    """A Hypothesis test sending `cases` and recording each check's first failure."""

    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=cases)
    def fuzz(case) -> None:
        try:
            answer = send(fuzzed, case)
        except Exception as exc:  # the app failed and the client could not even answer
            found["server error"].setdefault(label, f"{label}: {type(exc).__name__}: {exc}")
            return
        for name, check in CHECKS.items():
            try:
                case.validate_response(answer, checks=[check])
            except (Exception, BaseExceptionGroup) as exc:
                found[name].setdefault(label, f"{label}: {exc}")

    return fuzz


@pytest.fixture(scope="module")
def failures(fuzzed: Fuzzed, operations: list) -> dict[str, list[str]]:
    """A few valid, then a few invalid, requests per operation; each check's failures (the
    first per operation and mode)."""
    found: dict[str, dict[str, str]] = {name: {} for name in CHECKS}
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for operation in operations:
            label = f"{operation.method.upper()} {operation.path} ({mode.value})"

            fuzz = fuzzer(fuzzed, operation.as_strategy(generation_mode=mode), label, found)
            try:
                fuzz()
            except Unsatisfiable:  # nothing invalid to send (no parameters, or any string goes)
                continue
    return {name: list(by_label.values()) for name, by_label in found.items()}


def test_no_request_makes_a_server_error(failures: dict[str, list[str]]) -> None:
    assert not failures["server error"], "\n\n".join(failures["server error"])


def test_every_answer_matches_the_document(failures: dict[str, list[str]]) -> None:
    assert not failures["schema"], "\n\n".join(failures["schema"])
