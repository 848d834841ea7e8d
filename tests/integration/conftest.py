"""A distributed stack per test on the real broker and cluster: fresh databases, topic prefix
and consumer groups, relays and consumers run as tasks of the test's event loop."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from services.billing.api import create_billing_api
from services.billing.application import BillingApplication
from services.billing.main import billing_consumer, billing_outbox, build_billing
from services.policy.api import create_policy_api
from services.policy.application import PolicyApplication
from services.policy.main import build_policy, policy_consumer, policy_outbox
from services.portal.main import build_read_store, portal_consumer
from shared.messaging.consumer import ConsumerCore
from shared.personal_data import install, vault_at
from shared.runtime import run_consumer, run_relay
from shared.settings import Settings
from tests.conftest import Infra

pytestmark = pytest.mark.integration


SERVICE_DATABASES = ("policy", "billing", "portal", "identity", "keystore", "documents", "claims")


def create_databases(database_url: str, names: list[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        for name in names:
            connection.execute(f'CREATE DATABASE "{name}"')


def drop_databases(database_url: str, names: list[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Stack:
    settings: Settings
    policy: PolicyApplication
    billing: BillingApplication
    read_engine: Any
    policy_api: httpx.AsyncClient
    billing_api: httpx.AsyncClient
    tasks: dict[str, tuple[asyncio.Task, asyncio.Event]] = field(default_factory=dict)
    cores: dict[str, ConsumerCore] = field(default_factory=dict)

    def start(self, name: str, coroutine_factory: Callable[[asyncio.Event], Awaitable[None]]):
        stop = asyncio.Event()
        self.tasks[name] = (asyncio.create_task(coroutine_factory(stop)), stop)

    async def stop(self, name: str) -> None:
        task, stop = self.tasks.pop(name)
        stop.set()
        await asyncio.wait_for(task, 30)

    def start_relays(self) -> None:
        bootstrap = self.settings.kafka_bootstrap_servers
        for name, outbox in (
            ("policy-relay", policy_outbox(self.policy, self.settings)),
            ("billing-relay", billing_outbox(self.billing, self.settings)),
        ):
            self.start(name, lambda stop, o=outbox: run_relay(o, bootstrap, stop))

    def start_consumer(self, name: str) -> ConsumerCore:
        if name == "billing":
            core = billing_consumer(self.billing, self.settings)
        elif name == "policy":
            core = policy_consumer(self.policy, self.settings)
        else:
            core = portal_consumer(self.read_engine, self.settings)
        self.cores[name] = core
        bootstrap = self.settings.kafka_bootstrap_servers
        group = self.settings.topic(name)
        self.start(name, lambda stop: run_consumer(core, bootstrap, group, stop))
        return core


async def eventually(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1):
    """Poll until `check()` returns a truthy value (which is returned) or raise; a coroutine
    function is awaited, anything else runs in a thread."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if asyncio.iscoroutinefunction(check):
            last = await check()
        else:
            last = await asyncio.to_thread(check)
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


@pytest.fixture
async def stack(infra: Infra) -> AsyncIterator[Stack]:
    suffix = "_t" + uuid.uuid4().hex[:10]
    databases = [f"{name}{suffix}" for name in SERVICE_DATABASES]
    create_databases(infra.database_url, databases)
    settings = Settings(
        PORTAL_MODE="distributed",
        DATABASE_URL=infra.database_url,
        DATABASE_SUFFIX=suffix,
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap_servers,
        TOPIC_PREFIX=suffix.lstrip("_") + ".",
    )
    install(vault_at(settings.database_url_for("keystore")))  # as each process's root does
    policy, billing = build_policy(settings), build_billing(settings)
    read_engine = build_read_store(settings)
    transport = httpx.ASGITransport
    stack = Stack(
        settings,
        policy,
        billing,
        read_engine,
        httpx.AsyncClient(transport=transport(create_policy_api(policy)), base_url="http://policy"),
        httpx.AsyncClient(
            transport=transport(create_billing_api(billing)), base_url="http://billing"
        ),
    )
    try:
        yield stack
    finally:
        for name in list(stack.tasks):
            await stack.stop(name)
        await stack.policy_api.aclose()
        await stack.billing_api.aclose()
        policy.close()
        billing.close()
        read_engine.dispose()
        drop_databases(infra.database_url, databases)
