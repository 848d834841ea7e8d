"""A request to delete on the embedded default, end to end: the demo owner `demo2` (Portal
delivery for bills, a bill notified by email) asks to delete; afterwards the portal's read
models hold nothing of Robin in clear, the notification email's address is gone from the mail
outbox, every PDF at rest is sealed, the other owner is untouched — and `portal replay
--verify` rebuilds exactly the live read models (0 differences)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.portal.demo import DEMO_PASSWORD
from services.portal.embedded import build_embedded, create_embedded_app
from services.portal.readmodels import (
    ErasedPartyView,
    OwnerProfileView,
    PortalUserView,
    ReadModel,
)
from shared.mail import MailSettings, free_port
from shared.settings import Settings
from tests.e2e.test_embedded_http import eventually, log_in
from tests.e2e.test_replay import run, settle

pytestmark = pytest.mark.embedded

ROBIN = ("Robin", "48 River Road", "demo2@example.com", "robin.bills@example.com")


def read_model_text(engine) -> str:
    """Every value of every read model, as text."""
    with engine.connect() as connection:
        return "\n".join(
            repr(tuple(row))
            for table in ReadModel.metadata.sorted_tables
            for row in connection.execute(select(table))
        )


def mail_recipients(var_dir: Path) -> list[str]:
    with sqlite3.connect(var_dir / "documents.sqlite") as connection:
        return [r[0] for r in connection.execute("SELECT recipient FROM mail_outbox")]


def test_a_request_to_delete_purges_the_clear_copies_and_a_replay_agrees(tmp_path: Path) -> None:
    system = build_embedded(Settings(PORTAL_VAR_DIR=tmp_path))
    app = create_embedded_app(system, seed=True, mail=MailSettings(SMTP_PORT=free_port()))
    with TestClient(app) as client:
        auth = log_in(client, "demo2", DEMO_PASSWORD)
        chosen = client.put(
            "/api/documents/preferences",
            json={"certificate_number": "0000100002", "document_type": "bill", "method": "Portal",
                  "emails": [ROBIN[3]]},
            headers=auth,
        )  # fmt: skip
        assert chosen.status_code == 200, chosen.text
        cycle = client.post("/backoffice/billing/billing-cycles", json={"as_of": "2024-12-20"})
        assert cycle.status_code < 300, cycle.text
        settle(system)
        eventually(lambda: ROBIN[3] in mail_recipients(tmp_path), timeout=60)
        assert "Robin" in read_model_text(system.read_engine)
        with Session(system.read_engine) as s:
            user = s.scalar(select(PortalUserView).where(PortalUserView.user_id == "demo2"))
            account, robin = user.account_id, user.party_id
            avery = s.scalar(select(OwnerProfileView).where(
                OwnerProfileView.first_name == "Avery"))  # fmt: skip
            avery_before = (avery.party_id, avery.first_name, avery.contact)

        system.identity.submit_account_request(UUID(account), "delete")
        settle(system)

        left = read_model_text(system.read_engine)
        assert not [value for value in ROBIN if value in left]
        assert ROBIN[3] not in mail_recipients(tmp_path)
        pdfs = list((tmp_path / "documents").glob("*/*.pdf"))
        assert pdfs and all(p.read_bytes().startswith(b"pii:v1:") for p in pdfs)
        with Session(system.read_engine) as s:
            assert s.scalar(select(ErasedPartyView.party_id)) == robin
            avery = s.get(OwnerProfileView, avery_before[0])
            assert (avery.party_id, avery.first_name, avery.contact) == avery_before
        # Signed out: the session is gone with the person's portal user.
        assert client.get("/api/profile", headers=auth).status_code == 401

        verified = run(tmp_path, "--verify")
        assert verified.exit_code == 0, verified.output
        assert "0 differences" in verified.output
