"""Fixtures for real infrastructure: a Kafka broker and a PostgreSQL cluster.

Order of preference: `KAFKA_BOOTSTRAP_SERVERS` and `DATABASE_URL` from the environment (what
`make test` exports after `deploy/infra.sh start`); else testcontainers when a Docker engine
answers; else this fixture starts the local broker and cluster itself with `deploy/infra.sh`
(and stops them at the end). Integration tests never skip for want of infrastructure.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared import faults
from shared.settings import REPO_ROOT


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap_servers: str
    database_url: str


def _docker_engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    kafka, database = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    if kafka and database:
        yield Infra(kafka, database)
        return
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        with (
            KafkaContainer("apache/kafka:4.1.1").with_kraft() as k,
            PostgresContainer("postgres:15", driver=None) as pg,
        ):
            yield Infra(k.get_bootstrap_server(), pg.get_connection_url())
        return
    script = REPO_ROOT / "deploy" / "infra.sh"
    already_running = subprocess.run([str(script), "status"], capture_output=True).returncode == 0
    subprocess.run([str(script), "start"], check=True, capture_output=True)
    try:
        values = dict(
            line.removeprefix("export ").split("=", 1)
            for line in (REPO_ROOT / "var" / "infra.env").read_text().splitlines()
            if line.strip()
        )
        yield Infra(values["KAFKA_BOOTSTRAP_SERVERS"], values["DATABASE_URL"])
    finally:
        if not already_running:
            subprocess.run([str(script), "stop"], check=False, capture_output=True)


@pytest.fixture(scope="session", autouse=True)
def key_store(tmp_path_factory: pytest.TempPathFactory):
    """A key store for tests that seal personal fields without building a whole system
    (a system's composition root installs its own)."""
    from shared.personal_data import Vault, install
    from shared.sqldb import make_engine

    path = tmp_path_factory.mktemp("keystore") / "keys.sqlite"
    return install(Vault(make_engine(f"sqlite:///{path}")))


@pytest.fixture(autouse=True)
def _session_key_store_again(key_store):
    """A test that builds a system installs that system's key store; the next test starts
    with the session's again."""
    from shared.personal_data import install

    yield
    install(key_store)


@contextmanager
def crash_points(directory: Path, process: str) -> Iterator[Path]:
    """This test process's crash points (`shared/faults.py`) as `process`'s, armed by files in
    `directory`; off again afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHAOS_DIR", str(directory))
        patch.setenv("CHAOS_PROCESS", process)
        faults.reload()
        try:
            yield directory
        finally:
            patch.undo()
            faults.reload()
