"""`make up`'s topology for real: one OS process per service API, relay, consumer group,
mailer and identity's privacy sweeper, and the portal API, talking through the real broker and
databases; driven over HTTP as a clerk and an owner would."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest

from shared.settings import REPO_ROOT
from tests.conftest import Infra
from tests.factories import certificate_body
from tests.integration.conftest import SERVICE_DATABASES, drop_databases

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], object], what: str, timeout: float = 90.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.1)


@pytest.fixture
def topology(infra: Infra, tmp_path: Path):
    suffix = "_p" + uuid.uuid4().hex[:10]
    ports = {
        "PORT": free_port(),
        "POLICY_PORT": free_port(),
        "BILLING_PORT": free_port(),
        "IDENTITY_PORT": free_port(),
        "DOCUMENTS_PORT": free_port(),
        "CLAIMS_PORT": free_port(),
        "SMTP_PORT": free_port(),
    }
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "RUN_DIR": str(tmp_path / "run"),
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "DATABASE_URL": infra.database_url,
        "DATABASE_SUFFIX": suffix,
        "TOPIC_PREFIX": suffix.lstrip("_") + ".",
        "PII_HMAC_SECRET": "ab" * 32,
    }
    up = subprocess.run(
        [str(REPO_ROOT / "deploy" / "up.sh")], env=env, capture_output=True, text=True, timeout=120
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        urls = {k: f"http://127.0.0.1:{v}" for k, v in ports.items()}
        base = infra.database_url.rsplit("/", 1)[0]
        urls["identity_database"] = f"{base}/identity{suffix}"
        yield urls, tmp_path / "run"
    finally:
        subprocess.run([str(REPO_ROOT / "deploy" / "down.sh")], env=env, timeout=60, check=False)
        drop_databases(infra.database_url, [f"{name}{suffix}" for name in SERVICE_DATABASES])


def test_issue_register_update_contact_and_pay_across_processes(topology) -> None:
    urls, run_dir = topology
    policy, billing, portal = urls["POLICY_PORT"], urls["BILLING_PORT"], urls["PORT"]
    assert len(list(run_dir.glob("*.pid"))) == 20  # one process per role

    # Identity's sweeper ran the privacy sweep once at start (nothing to shred yet).
    sweeper_log = run_dir / "identity-sweeper.log"
    wait_for(
        lambda: "privacy sweep: 0 key(s) shredded" in sweeper_log.read_text(),
        "the privacy sweep at the sweeper's start",
    )

    # A clerk issues a Critical Illness certificate to Sam.
    body = certificate_body(
        "0000200001",
        owner="sam",
        product_code="CI",
        premium="12.34",
        frequency="Quarterly",
        effective_date="2023-02-01",
        application_date="2023-01-10",
    )
    issued = httpx.post(f"{policy}/certificates", json=body)
    assert issued.status_code == 201, issued.text

    # Identity knows owners from policy's events only. Wait until its registry has Sam without
    # trying to register: every premature attempt would count as a mismatch (5 throttle it).
    def identity_knows_sam() -> bool:
        with psycopg.connect(urls["identity_database"]) as connection:
            row = connection.execute(
                "SELECT 1 FROM owners WHERE certificate_number = %s", ("0000200001",)
            ).fetchone()
        return row is not None

    wait_for(identity_knows_sam, "identity learning the owner from policy's event")

    # Sam registers in three steps.
    def step1() -> httpx.Response | None:
        answer = httpx.post(
            f"{portal}/api/registration/personal",
            json={
                "user_type": "Certificate Owner",
                "certificate_number": "200001",  # padded to 10 digits
                "name_type": "Person",
                "first_name": "Sam",
                "last_name": "Demo",
                "email": "sam@example.com",
                "date_of_birth": "11/01/1983",
                "government_id": "123-45-6789",
            },
        )
        return answer if answer.status_code == 201 else None

    registration = step1()
    assert registration is not None
    registration_id = registration.json()["registration_id"]
    questions = httpx.get(f"{portal}/api/registration/security-questions").json()["questions"]
    step2 = httpx.post(
        f"{portal}/api/registration/credentials",
        json={
            "registration_id": registration_id,
            "user_id": "sam.demo",
            "password": "Blue-Harbor-77!",
            "security_questions": [{"question": q, "answer": "blue"} for q in questions[:3]],
        },
    )
    assert step2.status_code == 200, step2.text
    step3 = httpx.post(
        f"{portal}/api/registration/preferences", json={"registration_id": registration_id}
    )
    assert step3.status_code == 201, step3.text

    session = httpx.post(
        f"{portal}/api/session", json={"user_id": "sam.demo", "password": "Blue-Harbor-77!"}
    )
    assert session.status_code == 201, session.text
    auth = {"Authorization": f"Bearer {session.json()['token']}"}
    insurance = httpx.get(f"{portal}/api/certificates", headers=auth).json()
    summary = insurance["products"][0]["certificates"][0]
    assert summary["certificate_number"] == "0000200001"
    assert summary["coverage_amount"] is None  # CI: no coverage amount shown
    assert summary["actions"][-1]["label"] == "View Claims"

    # Sam updates the contact information: policy records it, the read model follows.
    contact = {
        "address": {"street": ["3 Pier Rd"], "city": "Groton", "state": "CT", "zip_code": "06340"},
        "emails": ["sam.new@example.com"],
    }
    updated = httpx.put(f"{portal}/api/profile", json=contact, headers=auth)
    assert updated.status_code == 200, updated.text
    assert updated.json()["contact"]["address"]["city"] == "Groton"
    certificate = httpx.get(f"{policy}/certificates/0000200001")
    assert certificate.status_code == 200

    # A payment of two quarterly premiums advances the paid-to date by six months.
    wait_for(
        lambda: httpx.get(f"{billing}/accounts/0000200001").status_code == 200,
        "billing opening the account",
    )
    paid = httpx.post(
        f"{billing}/accounts/0000200001/payments",
        json={"amount": "24.68", "transaction_date": "2023-02-03"},
    )
    assert paid.status_code == 201, paid.text

    def paid_to() -> str | None:
        page = httpx.get(f"{portal}/api/certificates/0000200001/billing", headers=auth)
        return page.json()["payor"]["paid_to_date"] if page.status_code == 200 else None

    wait_for(lambda: paid_to() == "2023-08-01", "the portal showing the new paid-to date")

    # The certificate PDF is in Sam's inbox, unopened; downloading it marks it opened.
    def certificate_document() -> dict | None:
        inbox = httpx.get(f"{portal}/api/documents?type=certificate", headers=auth).json()
        return inbox["items"][0] if inbox["total"] else None

    document = wait_for(certificate_document, "the certificate PDF reaching the inbox")
    assert document["unopened"] is True
    pdf = httpx.get(f"{portal}{document['href']}", headers=auth)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    inbox = httpx.get(f"{portal}/api/documents", headers=auth).json()
    assert {d["document_id"]: d["unopened"] for d in inbox["items"]}[
        document["document_id"]
    ] is False

    # Log-out revokes the token for every later request.
    assert httpx.request("DELETE", f"{portal}/api/session", headers=auth).status_code == 204
    assert httpx.get(f"{portal}/api/certificates", headers=auth).status_code == 401
