"""The chaos topology: a dedicated Kafka broker and PostgreSQL cluster under `var/chaos/`,
loopback TCP proxies in front of both, and one supervised OS process per service API, relay
and consumer group (the processes of `deploy/up.sh`, less the two mailers, which only talk to
an SMTP server).

Every service process reaches Kafka and PostgreSQL only through the proxies, so the harness
can drop, delay or refuse their connections; the broker advertises the proxy's port. The
supervisor restarts a process that died (as a container's restart policy would), after a short
back-off, and counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.chaos.endpoints import Endpoints
from bench.chaos.proxy_process import ProxyProcess
from shared.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)

PYTHON = str(REPO_ROOT / ".venv" / "bin" / "python")
KAFKA_SH = str(REPO_ROOT / "deploy" / "kafka" / "kafka.sh")
PG_SH = str(REPO_ROOT / "deploy" / "postgres" / "pg.sh")
SERVICES = ("policy", "billing", "identity", "claims", "documents")
DATABASES = ("policy", "billing", "claims", "documents", "identity", "portal", "keystore")
HMAC_SECRET = "c4" * 32  # the installation's keyed-hash secret (a test value)
RESTART_BACKOFF = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class ProcessSpec:
    name: str  # e.g. "billing-consumer"
    service: str
    role: str  # api, relay, consumer
    port: int  # the API's port, or the ops port (METRICS_PORT) of a relay or consumer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def process_specs() -> list[ProcessSpec]:
    specs = [ProcessSpec(f"{s}-api", s, "api", free_port()) for s in (*SERVICES, "portal")]
    specs += [ProcessSpec(f"{s}-relay", s, "relay", free_port()) for s in SERVICES]
    specs += [
        ProcessSpec(f"{s}-consumer", s, "consumer", free_port()) for s in (*SERVICES, "portal")
    ]
    return specs


@dataclass
class Supervised:
    spec: ProcessSpec
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0  # restarts after the process died (killed or crashed)
    exits: list[int] = field(default_factory=list)
    died_at: float = 0.0


class Supervisor:
    """Starts the service processes and restarts any that die, until `stop_all`."""

    def __init__(self, specs: list[ProcessSpec], env: dict[str, str], run_dir: Path) -> None:
        self.processes = {spec.name: Supervised(spec) for spec in specs}
        self.env = env
        self.run_dir = run_dir
        self.stopping = False
        self.held: set[str] = set()  # not restarted while held (see `hold`)
        self._watch: asyncio.Task[None] | None = None

    def env_for(self, spec: ProcessSpec) -> dict[str, str]:
        env = {**self.env, "CHAOS_PROCESS": spec.name}
        if spec.role == "api":
            env["SERVICE_PORT"] = str(spec.port)
        else:
            env["METRICS_PORT"] = str(spec.port)
        return env

    async def start(self, name: str) -> None:
        entry = self.processes[name]
        spec = entry.spec
        with open(self.run_dir / f"{name}.log", "ab") as out:
            entry.process = await asyncio.create_subprocess_exec(
                PYTHON,
                "-m",
                f"services.{spec.service}.main",
                spec.role,
                cwd=REPO_ROOT,
                env=self.env_for(spec),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        entry.started_at = time.monotonic()

    async def start_all(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for name in self.processes:
            await self.start(name)
        self._watch = asyncio.create_task(self._restart_the_dead())

    def pid(self, name: str) -> int | None:
        process = self.processes[name].process
        return process.pid if process and process.returncode is None else None

    def signal(self, name: str, sig: int) -> bool:
        """Send `sig` to the process; False when it is not running."""
        pid = self.pid(name)
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
            return True
        return False

    def alive(self) -> dict[str, bool]:
        return {
            name: e.process is not None and e.process.returncode is None
            for name, e in self.processes.items()
        }

    def hold(self, name: str) -> None:
        """Do not restart `name` when it exits, until `release`."""
        self.held.add(name)

    def release(self, name: str) -> None:
        self.held.discard(name)

    async def _restart_the_dead(self) -> None:
        while not self.stopping:
            now = time.monotonic()
            for name, entry in self.processes.items():
                process = entry.process
                if process is not None and process.returncode is not None:
                    entry.exits.append(process.returncode)
                    entry.process = None
                    entry.died_at = now
                    log.info("supervisor: %s exited (%s)", name, process.returncode)
                if (
                    entry.process is None
                    and name not in self.held
                    and now - entry.died_at >= RESTART_BACKOFF
                    and not self.stopping
                ):
                    entry.restarts += 1
                    await self.start(name)
            await asyncio.sleep(0.1)

    async def wait_healthy(self, names: list[str] | None = None, timeout: float = 180.0) -> None:
        """Wait until every named process answers `/health` on its port."""
        deadline = time.monotonic() + timeout
        pending = set(names or self.processes)
        async with httpx.AsyncClient(timeout=2.0) as client:
            while pending:
                for name in sorted(pending):
                    with contextlib.suppress(httpx.HTTPError):
                        answer = await client.get(f"{self.processes[name].spec.url}/health")
                        if answer.status_code == 200:
                            pending.discard(name)
                if pending and time.monotonic() > deadline:
                    raise TimeoutError(f"not healthy after {timeout:.0f}s: {sorted(pending)}")
                await asyncio.sleep(0.3)

    async def stop_all(self, timeout: float = 20.0) -> None:
        self.stopping = True
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        running = [e.process for e in self.processes.values() if e.process]
        for process in running:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(p.wait() for p in running), return_exceptions=True), timeout
            )
        for process in running:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()


async def sh(*args: str, env: dict[str, str], timeout: float = 180.0) -> str:
    """Run a deploy script; its stdout, or RuntimeError with its output."""
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        raise RuntimeError(f"{' '.join(args)} did not finish within {timeout:.0f}s") from None
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({process.returncode}):\n{text[-3000:]}")
    return text


class Infrastructure:
    """The dedicated broker and cluster, and the proxies the services reach them through."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.kafka_port, self.controller_port = free_port(), free_port()
        self.pg_port = free_port()
        self.proxies = ProxyProcess(free_port())
        self.kafka_proxy = self.proxies.add("kafka", free_port(), self.kafka_port)
        self.pg_proxy = self.proxies.add("postgres", free_port(), self.pg_port)

    @property
    def kafka_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_STATE_DIR": str(self.state_dir / "kafka"),
            "KAFKA_PORT": str(self.kafka_port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KAFKA_ADVERTISED_PORT": str(self.kafka_proxy.listen_port),
        }

    @property
    def pg_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PG_STATE_DIR": str(self.state_dir / "pg"),
            "PG_PORT": str(self.pg_port),
        }

    @property
    def bootstrap(self) -> str:
        """What every client is given (the proxy; metadata names the proxy too)."""
        return f"127.0.0.1:{self.kafka_proxy.listen_port}"

    @property
    def database_url(self) -> str:
        """The cluster directly (the harness's own checks)."""
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/postgres"

    @property
    def proxied_database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_proxy.listen_port}/postgres"

    async def start(self) -> None:
        await self.clean()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        await self.proxies.start(self.state_dir / "proxies.log")
        await sh(PG_SH, "start", env=self.pg_env)
        await self.start_kafka()

    async def start_kafka(self) -> None:
        await sh(KAFKA_SH, "start", env=self.kafka_env)

    async def stop_kafka(self) -> None:
        await sh(KAFKA_SH, "stop", env=self.kafka_env)

    async def kill_kafka(self) -> None:
        await sh(KAFKA_SH, "kill", env=self.kafka_env)

    async def restart_postgres(self) -> None:
        await sh(PG_SH, "restart", env=self.pg_env)

    async def stop(self) -> None:
        await self.proxies.stop()
        for script, env in ((KAFKA_SH, self.kafka_env), (PG_SH, self.pg_env)):
            with contextlib.suppress(RuntimeError):
                await sh(script, "stop", env=env, timeout=60)

    async def clean(self) -> None:
        """Stop what a previous run left and start from empty state."""
        if self.state_dir.exists():
            for script, env in ((KAFKA_SH, self.kafka_env), (PG_SH, self.pg_env)):
                with contextlib.suppress(RuntimeError):
                    await sh(script, "stop", env=env, timeout=60)
            shutil.rmtree(self.state_dir, ignore_errors=True)


class Topology:
    """Infrastructure + proxies + supervised processes, started and stopped together."""

    def __init__(self, state_dir: Path, stall_seconds: float) -> None:
        self.state_dir = state_dir
        self.infra = Infrastructure(state_dir)
        self.control_dir = state_dir / "control"
        self.run_dir = state_dir / "run"
        self.specs = {spec.name: spec for spec in process_specs()}
        urls = {name: spec.url for name, spec in self.specs.items()}
        self.endpoints = Endpoints(
            policy=urls["policy-api"],
            billing=urls["billing-api"],
            claims=urls["claims-api"],
            documents=urls["documents-api"],
            identity=urls["identity-api"],
            portal=urls["portal-api"],
            database_url=self.infra.database_url,
            database_suffix="",
        )
        self.env = {
            **os.environ,
            "PORTAL_MODE": "distributed",
            "KAFKA_BOOTSTRAP_SERVERS": self.infra.bootstrap,
            "DATABASE_URL": self.infra.proxied_database_url,
            "DATABASE_SUFFIX": "",
            "TOPIC_PREFIX": "",
            "PII_HMAC_SECRET": HMAC_SECRET,
            "POLICY_URL": urls["policy-api"],
            "IDENTITY_URL": urls["identity-api"],
            "DOCUMENTS_URL": urls["documents-api"],
            "CHAOS_DIR": str(self.control_dir),
            "CONSUMER_STALL_SECONDS": str(stall_seconds),
            "CONSUMER_WATCHDOG_INTERVAL": "1",
            "LOG_LEVEL": "INFO",
        }
        for noisy in ("OTEL_EXPORTER_OTLP_ENDPOINT", "METRICS_PORT", "SERVICE_PORT"):
            self.env.pop(noisy, None)
        self.supervisor = Supervisor(list(self.specs.values()), self.env, self.run_dir)

    def settings(self) -> Settings:
        """Settings for the harness's own clients: the database directly, Kafka via the proxy."""
        return Settings(
            PORTAL_MODE="distributed",
            DATABASE_URL=self.infra.database_url,
            DATABASE_SUFFIX="",
            TOPIC_PREFIX="",
            KAFKA_BOOTSTRAP_SERVERS=self.infra.bootstrap,
            PII_HMAC_SECRET=HMAC_SECRET,
        )

    async def start(self) -> None:
        await self.infra.start()
        self.control_dir.mkdir(parents=True, exist_ok=True)
        await self.supervisor.start_all()
        await self.supervisor.wait_healthy()

    async def stop(self) -> None:
        await self.supervisor.stop_all()
        await self.infra.stop()
