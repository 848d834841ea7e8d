"""Service processes for the scale figures, and the peak memory of each.

The processes are those of `deploy/up.sh` (`bench.chaos.topology`'s specs and `Supervisor`),
started by name against one scale's databases and topics, on the bench's PostgreSQL and Kafka
directly (no proxies). `RssSampler` reads each running process's `VmHWM` (its peak resident
set, kept by the kernel) from /proc twice a second; the peak per process name is kept across
restarts and across the phases of a scale.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from bench.chaos.topology import ProcessSpec, Supervisor, process_specs
from bench.common import Databases
from shared.settings import Settings

SECRET = "b7" * 32  # the installation's keyed-hash secret for the bench's databases
# The databases the service processes open (each name + the run's suffix).
SERVICES = ("policy", "billing", "claims", "documents", "identity", "portal", "keystore")


def peak_rss_kb(pid: int) -> int | None:
    """The process's peak resident set size (VmHWM) in kB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far (user + system), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def create_databases(databases: Databases, settings: Settings) -> None:
    for service in SERVICES:
        databases.create(settings.database_url_for(service).rpartition("/")[2])


class RssSampler:
    """Samples `pids()` (name → pid) in a thread until `stop`; `peaks_mb` per name, and the
    CPU time each process used (`cpu_s`, summed over a name's restarts)."""

    def __init__(self, pids: Callable[[], dict[str, int | None]], interval: float = 0.5) -> None:
        self.pids = pids
        self.interval = interval
        self.peaks_kb: dict[str, int] = {}
        self._cpu: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def sample(self) -> None:
        for name, pid in self.pids().items():
            if pid is None:
                continue
            peak = peak_rss_kb(pid)
            if peak is not None:
                self.peaks_kb[name] = max(self.peaks_kb.get(name, 0), peak)
            used = cpu_seconds(pid)
            if used is not None:
                self._cpu[(name, pid)] = used

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join(5)
        self.sample()
        return self.peaks_mb

    @property
    def cpu_s(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for (name, _), used in self._cpu.items():
            totals[name] = totals.get(name, 0.0) + used
        return {name: round(used, 2) for name, used in sorted(totals.items())}

    @property
    def peaks_mb(self) -> dict[str, float]:
        return {name: round(kb / 1024, 1) for name, kb in sorted(self.peaks_kb.items())}


def service_env(settings: Settings, secret: str) -> dict[str, str]:
    """The environment of a service process of this scale (distributed mode, its suffix and
    topic prefix, no tracing exporter, quiet logs)."""
    env = {
        **os.environ,
        "PORTAL_MODE": "distributed",
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "DATABASE_URL": settings.database_url or "",
        "DATABASE_SUFFIX": settings.database_suffix,
        "TOPIC_PREFIX": settings.topic_prefix,
        "PII_HMAC_SECRET": secret,
        "LOG_LEVEL": "WARNING",
    }
    for noisy in ("OTEL_EXPORTER_OTLP_ENDPOINT", "METRICS_PORT", "SERVICE_PORT", "CHAOS_DIR"):
        env.pop(noisy, None)
    return env


class ServiceProcesses:
    """The named service processes of one scale, supervised, with their memory sampled."""

    def __init__(self, settings: Settings, secret: str, run_dir: Path) -> None:
        self.specs: dict[str, ProcessSpec] = {spec.name: spec for spec in process_specs()}
        urls = {name: spec.url for name, spec in self.specs.items()}
        env = service_env(settings, secret)
        env.update(
            POLICY_URL=urls["policy-api"],
            IDENTITY_URL=urls["identity-api"],
            DOCUMENTS_URL=urls["documents-api"],
        )
        self.supervisor = Supervisor(list(self.specs.values()), env, run_dir)
        self.run_dir = run_dir
        self.started: list[str] = []
        self.rss = RssSampler(self._pids)

    def _pids(self) -> dict[str, int | None]:
        return {name: self.supervisor.pid(name) for name in self.started}

    def url(self, name: str) -> str:
        return self.specs[name].url

    async def start(self, *names: str) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            if name not in self.started:
                await self.supervisor.start(name)
                self.started.append(name)
        if not self.rss._thread.is_alive():
            self.rss.start()
        await self.supervisor.wait_healthy(list(names))

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds each started process has used so far."""
        self.rss.sample()
        return self.rss.cpu_s

    def cpu_percent_since(self, before: dict[str, float], wall: float) -> dict[str, float]:
        """Each started process's CPU over the `wall` seconds since `before` (`cpu_now`), in
        % of one core."""
        return {
            name: round(100 * (used - before.get(name, 0.0)) / wall, 1)
            for name, used in self.cpu_now().items()
        }

    async def stop(self) -> dict[str, float]:
        self.rss.sample()
        for name in list(self.supervisor.processes):
            if name not in self.started:
                del self.supervisor.processes[name]
        await self.supervisor.stop_all()
        return self.rss.stop()
