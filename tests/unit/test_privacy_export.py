"""The answer to a request to know (`privacy_export.py`), built from the real projections
(the portal harness) and a fake identity service."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.policy.integration import insured_subject
from services.portal.gateway import ServiceUnavailable
from services.portal.privacy_cli import log_rows, render_log
from services.portal.privacy_export import PersonNotFound, accounts_of, build_export
from services.portal.readmodels import InsuredView, OwnerProfileView
from shared.privacy_catalog import categories_answer
from tests.factories import party_id
from tests.portal_harness import PortalHarness

TODAY = date(2024, 11, 16)
NOW = datetime(2024, 11, 16, 12, 0, tzinfo=UTC)
AVERY = party_id("avery")
SPOUSE = {
    "insured_id": "I2",
    "first_name": "Sky",
    "last_name": "Demo",
    "relationship": "Spouse",
    "date_of_birth": "1981-06-02",
}


class FakeIdentity:
    """Identity's `GET /accounts/{id}/personal-data`, from a dict; other answers by status."""

    def __init__(self, accounts: dict[str, dict] | None = None, status: int = 200) -> None:
        self.accounts = accounts or {}
        self.status = status
        self.calls: list[tuple[str, str, str, dict | None]] = []

    async def send(
        self, service: str, method: str, path: str, body: Any = None, headers: dict | None = None
    ) -> httpx.Response:
        self.calls.append((service, method, path, headers))
        account_id = path.split("/")[2]
        if self.status != 200:
            return httpx.Response(self.status, json={"detail": "broken"})
        if account_id not in self.accounts:
            return httpx.Response(404, json={"detail": "not found"})
        return httpx.Response(200, json=self.accounts[account_id])


@pytest.fixture
def harness(tmp_path) -> PortalHarness:
    h = PortalHarness(tmp_path)
    h.issue("0000100001", owner="avery", product_code="WL", dependents=[SPOUSE])
    h.issue("0000200001", owner="blake", product_code="CI")
    h.pay("0000100001", "44.00", date(2016, 1, 5))
    h.pay("0000100001", "44.00", date(2016, 2, 5))
    h.sign_in("avery", "0000100001")
    return h


def personal_data(account_id: str) -> dict[str, Any]:
    return {
        "user_id": "avery",
        "registered_at": "2024-01-02T10:00:00+00:00",
        "preferred_language": "English",
        "preferred_date_format": "mm/dd/yyyy",
        "security_questions": ["What was the name of your first pet?"],
        "email": "avery.login@example.com",
        "last_login_at": "2024-11-15T09:30:00+00:00",
    }


def export_of(harness: PortalHarness, identity: FakeIdentity, party: str = AVERY, **kw) -> dict:
    return asyncio.run(
        build_export(
            harness.engine,
            identity,  # type: ignore[arg-type]
            party,
            harness.vault.open,
            today=TODAY,
            now=NOW,
            **kw,
        )
    )


def the_account(harness: PortalHarness, party: str = AVERY) -> str:
    with Session(harness.engine) as s:
        return accounts_of(s, party)[0]


def test_the_export_holds_the_owner_s_specific_pieces(harness: PortalHarness) -> None:
    account_id = the_account(harness)
    identity = FakeIdentity({account_id: personal_data(account_id)})
    answer = export_of(harness, identity, token="t0ken", request_id="r-1")
    pieces = answer["specific_pieces"]
    assert answer["categories"] == json.loads(json.dumps(categories_answer()))
    assert answer["party_id"] == AVERY and answer["request_id"] == "r-1"
    ids = pieces["identifiers"]
    assert ids["names"] == [{"name": "Avery Demo", "name_type": "Person"}]
    assert ids["addresses"][0]["city"] == "Tolland"
    assert ids["emails"] == ["avery@example.com", "avery.login@example.com"]
    assert ids["phones"] == [{"type": "cell", "number": "860-555-0101"}]
    assert ids["government_id"] == "***-**-6789"
    assert ids["date_of_birth"] == "1983-11-01"
    [certificate] = pieces["certificates"]
    assert certificate["certificate_number"] == "0000100001"
    assert certificate["payor_name"] == "Avery Demo"
    insureds = {i["insured_id"]: i for i in certificate["benefits"][0]["insureds"]}
    assert insureds["I1"]["date_of_birth"] == "1983-11-01"  # the owner's own
    assert "date_of_birth" not in insureds["I2"]  # the spouse's is not the owner's to have
    assert insureds["I2"]["name"] == "Sky Demo"
    [billing] = pieces["billing"]
    assert [p["payment_amount"] for p in billing["payments"]] == ["44.00", "44.00"]
    assert Decimal(billing["billing"]["premium"]) == Decimal("44.00")
    assert pieces["account"]["user_id"] == "avery"
    assert pieces["sessions"] == {
        "count": 1,
        "active": 1,
        "last_sign_in": "2024-11-15T09:30:00+00:00",
    }
    assert [c["certificate_number"] for c in pieces["delivery_preferences"]] == ["0000100001"]
    assert {s["section"] for s in answer["sources"]} == set(pieces)
    # Identity was asked about the signed-in owner's account, with the owner's session.
    assert identity.calls == [
        ("identity", "GET", f"/accounts/{account_id}/personal-data",
         {"Authorization": "Bearer t0ken"}),
    ]  # fmt: skip


def test_the_export_never_holds_the_ssn_a_sealed_value_or_another_owner_s_data(
    harness: PortalHarness,
) -> None:
    text = json.dumps(export_of(harness, FakeIdentity()))
    assert "123-45-6789" not in text and "123456789" not in text
    assert "1981-06-02" not in text  # the spouse's date of birth
    with Session(harness.engine) as s:
        sealed = list(s.scalars(select(InsuredView.date_of_birth_sealed)))
        sealed.append(s.get(OwnerProfileView, AVERY).date_of_birth_sealed)
    assert sealed and not any(value in text for value in sealed)
    assert "0000200001" not in text and "Blake" not in text


def test_a_shredded_key_leaves_the_date_of_birth_out(harness: PortalHarness) -> None:
    # The owner's keys, and (before insureds who are the owner were sealed under the owner's
    # key) the key of the owner's insured entry.
    harness.vault.erase([AVERY, str(insured_subject("0000100001", "I1"))], [])
    pieces = export_of(harness, FakeIdentity())["specific_pieces"]
    assert pieces["identifiers"]["date_of_birth"] is None
    assert pieces["certificates"][0]["benefits"][0]["insureds"][0]["date_of_birth"] is None


def test_a_person_without_an_account_or_unknown_to_identity(harness: PortalHarness) -> None:
    # blake holds a certificate but never registered: identity is not asked.
    identity = FakeIdentity()
    pieces = export_of(harness, identity, party_id("blake"))["specific_pieces"]
    assert pieces["account"] is None and identity.calls == []
    assert pieces["sessions"] == {"count": 0, "active": 0, "last_sign_in": None}
    assert [c["certificate_number"] for c in pieces["certificates"]] == ["0000200001"]
    # avery's account is no longer known to identity (closed): 404 → no account.
    assert export_of(harness, FakeIdentity())["specific_pieces"]["account"] is None


def test_nobody_is_refused_to_the_back_office_and_a_broken_identity_is_unavailable(
    harness: PortalHarness,
) -> None:
    with pytest.raises(PersonNotFound):
        export_of(harness, FakeIdentity(), party_id("nobody"), require_person=True)
    assert (
        export_of(harness, FakeIdentity(), party_id("nobody"))["specific_pieces"]["certificates"]
        == []
    )
    with pytest.raises(ServiceUnavailable):
        export_of(harness, FakeIdentity(status=500))


def test_the_privacy_log_renders_identity_s_record() -> None:
    body = {
        "requests": [
            {
                "request_id": "r-1",
                "received_at": "2024-11-16T10:00:00+00:00",
                "kind": "know",
                "status": "denied",
                "matched_points": 1,
                "due_by": "2024-12-31",
            }
        ]
    }
    rows = log_rows(body)
    assert log_rows(body["requests"]) == rows and log_rows({}) == []
    text = render_log(rows)
    assert "r-1" in text and "denied" in text and "2024-12-31" in text
