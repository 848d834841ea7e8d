"""Where the chaos topology's processes answer: handed to the workload, the load test and the
invariant checks by the topology (bench/chaos/topology.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoints:
    policy: str
    billing: str
    claims: str
    documents: str
    identity: str
    portal: str
    database_url: str  # the cluster itself (not proxied), database "postgres"
    database_suffix: str  # service databases are f"{name}{database_suffix}"

    def database(self, name: str) -> str:
        """The direct URL of one service database (policy, billing, portal, keystore, …)."""
        return f"{self.database_url.rsplit('/', 1)[0]}/{name}{self.database_suffix}"
