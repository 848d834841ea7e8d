"""`make up`'s topology for real: one OS process per service API, relay, consumer group and
the portal API, talking through the real broker and databases; driven over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from shared.settings import REPO_ROOT
from tests.conftest import Infra

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def topology(infra: Infra, tmp_path: Path):
    suffix = "_p" + uuid.uuid4().hex[:10]
    ports = {"PORT": free_port(), "POLICY_PORT": free_port(), "BILLING_PORT": free_port()}
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "RUN_DIR": str(tmp_path / "run"),
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "DATABASE_URL": infra.database_url,
        "DATABASE_SUFFIX": suffix,
        "TOPIC_PREFIX": suffix.lstrip("_") + ".",
    }
    up = subprocess.run(
        [str(REPO_ROOT / "deploy" / "up.sh")], env=env, capture_output=True, text=True, timeout=120
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield ports, tmp_path / "run"
    finally:
        subprocess.run([str(REPO_ROOT / "deploy" / "down.sh")], env=env, timeout=60, check=False)


def test_issue_and_pay_across_processes(topology) -> None:
    ports, run_dir = topology
    policy = f"http://127.0.0.1:{ports['POLICY_PORT']}"
    billing = f"http://127.0.0.1:{ports['BILLING_PORT']}"
    portal = f"http://127.0.0.1:{ports['PORT']}"
    assert sorted(p.stem for p in run_dir.glob("*.pid")) == [
        "billing-api", "billing-consumer", "billing-relay",
        "policy-api", "policy-relay", "portal-api", "portal-consumer",
    ]  # fmt: skip
    issued = httpx.post(
        f"{policy}/certificates",
        json={
            "certificate_number": "0000200001",
            "owner_party_id": "6e5527cd-c29f-5604-bdcf-b2b3e7355a7d",
            "product_code": "CI",
            "application_date": "2023-01-10",
            "effective_date": "2023-02-01",
            "premium": "12.34",
            "payment_frequency": "Quarterly",
            "payment_method": "List Bill",
            "payor_name": "Employer Payroll",
        },
    )
    assert issued.status_code == 201, issued.text
    deadline = time.monotonic() + 60
    while httpx.get(f"{billing}/accounts/0000200001").status_code != 200:
        assert time.monotonic() < deadline, "billing never opened the account"
        time.sleep(0.1)
    paid = httpx.post(
        f"{billing}/accounts/0000200001/payments",
        json={"amount": "24.68", "transaction_date": "2023-02-03"},
    )
    assert paid.status_code == 201, paid.text
    while True:  # received, then applied: two events, projected one after the other
        page = httpx.get(f"{portal}/api/certificates/0000200001/billing")
        if page.status_code == 200 and page.json()["payor"]["paid_to_date"] == "2023-08-01":
            break  # two quarterly premiums
        assert time.monotonic() < deadline, page.text
        time.sleep(0.1)
    body = page.json()
    assert body["payment_history"]["total"] == 1
    assert body["billing"]["payment_frequency"] == "Quarterly"
