"""bench/portal_query.py on a real read model: the portal's demo data seeded by the embedded
composition on fresh PostgreSQL databases (the test cluster, a fresh suffix), served by uvicorn
on loopback; the owners `demo` and `demo2` signed in through the API.

Checks what the benchmark relies on — every page's SQL is captured, every generated script
runs under pgbench without a failure, the parsed figures are coherent — and never how fast
anything is (no timed assertion)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import httpx
import psycopg
import pytest

from bench import portal_query
from bench.chaos.load import PAGES, run_load
from bench.chaos.owners import OwnerLogin
from bench.common import Databases
from services.portal.demo import DEMO_PASSWORD, DEMO_USERS
from services.portal.embedded import EmbeddedSystem
from shared.personal_data import vault_at
from shared.settings import Settings
from tests.conftest import Infra
from tests.served_portal import served_portal

pytestmark = pytest.mark.integration

DATABASES = ("policy", "billing", "portal", "identity", "keystore", "documents", "claims")


@dataclass
class DemoPortal:
    base_url: str
    settings: Settings
    system: EmbeddedSystem
    owners: list[OwnerLogin]

    @property
    def read_model_url(self) -> str:
        return self.settings.database_url_for("portal")

    def capture(self) -> dict[str, dict[str, list[portal_query.Statement]]]:
        opened = vault_at(self.settings.database_url_for("keystore")).open
        engine = self.system.read_engine
        return portal_query.capture_owners(engine, self.owners, open_sealed=opened)  # type: ignore[arg-type]


def _sign_in(base_url: str) -> list[OwnerLogin]:
    owners = []
    for user, number in DEMO_USERS.items():
        answer = httpx.post(
            f"{base_url}/api/session",
            json={"user_id": user, "password": DEMO_PASSWORD},
            timeout=30,
        )
        assert answer.status_code == 201, answer.status_code
        owners.append(OwnerLogin(user, DEMO_PASSWORD, number, answer.json()["token"]))
    return owners


@pytest.fixture(scope="module")
def demo_portal(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPortal]:
    suffix = "_pq" + uuid.uuid4().hex[:10]
    databases = Databases(infra.database_url, suffix)
    for name in DATABASES:
        databases.create(f"{name}{suffix}")
    settings = Settings(
        PORTAL_MODE="distributed",
        DATABASE_URL=infra.database_url,
        DATABASE_SUFFIX=suffix,
        PORTAL_VAR_DIR=tmp_path_factory.mktemp("portal-query"),
    )
    try:
        with served_portal(settings) as (base_url, system):
            yield DemoPortal(base_url, settings, system, _sign_in(base_url))
    finally:
        databases.drop_all()


def test_capture_finds_each_pages_statements(demo_portal: DemoPortal) -> None:
    captured = demo_portal.capture()

    assert set(captured) == {owner.user_id for owner in demo_portal.owners}
    for pages in captured.values():
        assert list(pages) == list(PAGES)
        for page, statements in pages.items():
            sql = [statement for statement, _ in statements]
            # the owner check, in a transaction of its own, then the page's own transaction
            assert sql[:4] == ["SELECT 1", "BEGIN", sql[2], "ROLLBACK"], page
            assert "portal_sessions" in sql[2] and "portal_users" in sql[2], page  # one join
            assert sql[4:6] == ["SELECT 1", "BEGIN"] and sql[-1] == "ROLLBACK", page
            assert any(s.startswith("SELECT") and "FROM" in s for s in sql[6:-1]), page


def test_every_script_runs_under_pgbench(demo_portal: DemoPortal, tmp_path: Path) -> None:
    scripts = portal_query.pgbench_scripts(demo_portal.capture(), tmp_path)
    assert len(scripts) == len(PAGES) * len(demo_portal.owners)
    assert {portal_query.script_page(p) for p in scripts} == set(PAGES)

    result = portal_query.run_pgbench(demo_portal.read_model_url, scripts, clients=2, seconds=1)

    assert result["available"], result["error"]
    assert result["error"] is None, result["error"]
    assert result["failures"] == 0 and result["aborted_clients"] == 0
    assert all(count > 0 for count in result["by_script"].values()), result["by_script"]
    assert result["weights"] == {p.name: PAGES[portal_query.script_page(p)] for p in scripts}
    assert result["tps"] > 0 and result["transactions"] > 0
    # pgbench reads its clock lazily: a transaction that completes without a wait can be
    # logged as 0 µs (2 clients on the small demo data: sometimes most of them), so the
    # median may be 0; the mean and the p99 cannot be.
    assert result["p99_ms"] >= result["p50_ms"] >= 0 and result["mean_ms"] > 0
    assert set(result["by_page"]) == set(PAGES)


async def test_compare_puts_the_portal_next_to_pgbench(
    demo_portal: DemoPortal, tmp_path: Path
) -> None:
    scripts = portal_query.pgbench_scripts(demo_portal.capture(), tmp_path)
    limit = portal_query.run_pgbench(demo_portal.read_model_url, scripts, clients=4, seconds=1)
    load = await run_load(
        demo_portal.base_url, demo_portal.owners, concurrency=4, max_requests=120, max_seconds=3
    )

    row = portal_query.compare(load, limit)

    assert load.server_errors == 0 and load.requests > 0
    assert row["value"] == load.p99_ms and row["limit"] == limit["p99_ms"]
    assert row["ratio"] == pytest.approx(load.p99_ms / limit["p99_ms"], rel=1e-3)
    assert row["throughput_rps"] == load.throughput_rps and row["pgbench_tps"] == limit["tps"]
    assert row["target_ratio"] == 5.0 and row["target_rps"] == 500.0
    print(  # the figures seen on the demo data (pytest -s)
        f"portal p50 {load.p50_ms} ms p99 {load.p99_ms} ms {load.throughput_rps} req/s; "
        f"pgbench p50 {limit['p50_ms']} ms p99 {limit['p99_ms']} ms {limit['tps']} tps; "
        f"ratio {row['ratio']}"
    )


TRICKY = {
    "colons": "it's 12:00 \\ :client_id ok\n\tnext",
    "day": date(2024, 2, 29),
    "moment": datetime(2024, 6, 30, 23, 59, 58, 500_000, tzinfo=UTC),
    "uuid": UUID("f5057a49-7c72-5907-ad20-c39fa437f44d"),
    "amount": Decimal("12137.00"),
    "count": 97,
    "nothing": None,
    "flag": True,
}


def test_literals_survive_pgbench_and_postgresql(demo_portal: DemoPortal, tmp_path: Path) -> None:
    """A statement that divides by zero unless every inlined literal is exactly its value."""
    statement = (
        "SELECT 1 / (CASE WHEN %(colons)s::VARCHAR = 'it''s 12' || chr(58) || '00 \\ '"
        " || chr(58) || 'client_id ok' || chr(10) || chr(9) || 'next'"
        " AND %(day)s::DATE = DATE '2024-02-29'"
        " AND %(moment)s = make_timestamptz(2024, 6, 30, 23, 59, 58.5, 'UTC')"
        " AND %(uuid)s::UUID = 'f5057a49-7c72-5907-ad20-c39fa437f44d'"
        " AND %(amount)s = 12137 AND %(count)s::INTEGER = 97 AND %(nothing)s IS NULL"
        " AND %(flag)s AND 100 %% 7 = 2 THEN 1 ELSE 0 END)"
    )
    sql = portal_query.inline(statement, TRICKY)
    libpq_url = demo_portal.read_model_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq_url, autocommit=True) as connection:
        assert connection.execute(sql).fetchone() == (1,)

    script = tmp_path / "portal-profile-000.sql"
    script.write_text(portal_query.script_text("profile", 0, [(statement, TRICKY)]))
    result = portal_query.run_pgbench(
        demo_portal.read_model_url, [script], clients=1, seconds=5, max_transactions=3
    )
    assert result["error"] is None, result["error"]
    assert result["transactions"] == 3 and result["failures"] == 0
