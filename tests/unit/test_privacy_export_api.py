"""`/api/privacy/*`: the signed-in owner's requests and the export, over the real projections
(the portal harness) with a fake identity service that announces what it did."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.portal.api import create_portal_app
from services.portal.readmodels import PortalSessionView
from shared.clock import Clock
from shared.contracts import identity, privacy
from shared.contracts.envelope import Envelope
from tests.factories import party_id
from tests.portal_harness import PortalHarness

TODAY = date(2024, 11, 16)
AVERY = party_id("avery")


class FakeIdentity:
    """Identity's privacy office: answers a request and publishes what identity would."""

    def __init__(self, harness: PortalHarness) -> None:
        self.harness = harness
        self.calls: list[tuple[str, str, Any]] = []
        self.offset = 10_000

    async def publish(self, event: Any) -> None:
        envelope = Envelope.wrap(
            event,
            aggregate_id=uuid4(),
            aggregate_version=1,
            occurred_at=datetime.now(UTC),
            certificate_number=event.certificate_number,
        )
        self.offset += 1
        await self.harness.core.handle("identity.events", 0, self.offset, envelope.to_bytes(), {})

    async def send(
        self, service: str, method: str, path: str, body: Any = None, headers: dict | None = None
    ) -> httpx.Response:
        self.calls.append((method, path, body))
        if path == "/privacy/requests/account":
            return await self.account_request(body)
        if path == "/sessions/end":
            with Session(self.harness.engine) as s:
                for row in s.scalars(select(PortalSessionView)):
                    await self.publish(
                        identity.SessionEnded(
                            certificate_number="0000100001",
                            account_id=UUID(row.account_id),
                            session_id=UUID(row.session_id),
                            reason="logout",
                        )
                    )
            return httpx.Response(204)
        if path.endswith("/personal-data"):
            return httpx.Response(200, json={"user_id": "avery", "email": "a@example.com"})
        return httpx.Response(404, json={"detail": "not found"})

    async def account_request(self, body: dict) -> httpx.Response:
        received = datetime.now(UTC)
        request_id = uuid4()
        due_by = received.date() + timedelta(days=45)
        await self.publish(
            privacy.PrivacyRequestUpdated(
                certificate_number="0000100001",
                request_id=request_id,
                party_id=UUID(AVERY),
                kind=body["kind"],
                status="completed",
                received_at=received,
                due_by=due_by,
                completed_at=received,
                outcome="Answered",
            )
        )
        return httpx.Response(
            201,
            json={
                "request_id": str(request_id),
                "status": "completed",
                "due_by": due_by.isoformat(),
                "party_id": AVERY,
                "certificate_numbers": ["0000100001"],
            },
        )

    async def close(self) -> None:
        pass


@pytest.fixture
def harness(tmp_path) -> PortalHarness:
    h = PortalHarness(tmp_path)
    h.issue("0000100001", owner="avery", product_code="WL")
    h.pay("0000100001", "44.00", date(2016, 1, 5))
    return h


@pytest.fixture
def fake(harness: PortalHarness) -> FakeIdentity:
    return FakeIdentity(harness)


@pytest.fixture
def client(harness: PortalHarness, fake: FakeIdentity) -> TestClient:
    app = create_portal_app(harness.engine, fake, harness.vault.open, clock=Clock(TODAY))  # type: ignore[arg-type]
    return TestClient(app)


def bearer(harness: PortalHarness) -> dict[str, str]:
    return {"Authorization": f"Bearer {harness.sign_in('avery', '0000100001')}"}


def test_privacy_needs_a_session(client: TestClient) -> None:
    assert client.get("/api/privacy/requests").status_code == 401
    assert client.get("/api/privacy/export").status_code == 401
    assert client.post("/api/privacy/requests", json={"kind": "know"}).status_code == 401


def test_no_export_before_a_request_to_know_and_a_delete_must_be_confirmed(
    harness: PortalHarness, client: TestClient, fake: FakeIdentity
) -> None:
    auth = bearer(harness)
    assert client.get("/api/privacy/requests", headers=auth).json() == {"requests": []}
    refused = client.get("/api/privacy/export", headers=auth)
    assert refused.status_code == 409 and "request to know" in refused.json()["detail"]
    unconfirmed = client.post("/api/privacy/requests", json={"kind": "delete"}, headers=auth)
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["errors"][0]["field"] == "confirm"
    wrong = client.post("/api/privacy/requests", json={"kind": "sell"}, headers=auth)
    assert wrong.status_code == 422
    assert fake.calls == []  # nothing was sent to identity


def test_a_request_to_know_is_listed_and_its_export_downloads(
    harness: PortalHarness, client: TestClient
) -> None:
    auth = bearer(harness)
    made = client.post("/api/privacy/requests", json={"kind": "know"}, headers=auth)
    assert made.status_code == 201, made.text
    request = made.json()["request"]
    assert request["status"] == "completed" and made.json()["export"] == "/api/privacy/export"
    [listed] = client.get("/api/privacy/requests", headers=auth).json()["requests"]
    received = datetime.fromisoformat(listed["received_at"]).date()
    assert listed["due_by"] == (received + timedelta(days=45)).isoformat()
    export = client.get("/api/privacy/export", headers=auth)
    assert export.status_code == 200
    assert export.headers["content-disposition"].startswith("attachment;")
    assert export.headers["cache-control"] == "no-store"
    body = export.json()
    assert body["request_id"] == listed["request_id"]
    assert body["specific_pieces"]["identifiers"]["names"][0]["name"] == "Avery Demo"
    assert "123-45-6789" not in export.text


def test_a_request_to_delete_ends_the_session_and_clears_the_cookie(
    harness: PortalHarness, client: TestClient, fake: FakeIdentity
) -> None:
    auth = bearer(harness)
    made = client.post(
        "/api/privacy/requests", json={"kind": "delete", "confirm": True}, headers=auth
    )
    assert made.status_code == 201, made.text
    assert made.json()["signed_out"] is True
    cookie = made.headers["set-cookie"]
    assert cookie.startswith('portal_session=""') or "Max-Age=0" in cookie
    assert [(m, p) for m, p, _ in fake.calls] == [
        ("POST", "/privacy/requests/account"),
        ("POST", "/sessions/end"),
    ]
    assert fake.calls[0][2]["kind"] == "delete"
    assert client.get("/api/privacy/requests", headers=auth).status_code == 401
