"""Composition root of the embedded default (`portal run`, `make run`): every service and the
portal in ONE process, SQLite files under `var/`, in-process delivery through the same
outboxes, handlers and tracking as the distributed mode.

HTTP layout of the one process:
  /api/…, /health                 the portal (owner-facing)
  /backoffice/policy/…            policy's command API
  /backoffice/billing/…           billing's command API
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI

from services.billing.api import create_billing_api
from services.billing.application import BillingApplication
from services.billing.main import billing_consumer, billing_outbox, build_billing
from services.policy.api import create_policy_api
from services.policy.application import PolicyApplication
from services.policy.main import build_policy, policy_outbox
from services.portal.api import create_portal_app
from services.portal.main import build_read_store, portal_consumer
from shared.messaging.inprocess import InProcessDelivery, TableDeadLetters
from shared.settings import Settings
from shared.sqldb import make_engine


@dataclass
class EmbeddedSystem:
    settings: Settings
    policy: PolicyApplication
    billing: BillingApplication
    delivery: InProcessDelivery
    read_engine: object
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def settle(self) -> None:
        await self.delivery.settle()

    def close(self) -> None:
        self.policy.close()
        self.billing.close()


def build_embedded(settings: Settings) -> EmbeddedSystem:
    policy = build_policy(settings)
    billing = build_billing(settings)
    read_engine = build_read_store(settings)
    dead_letters = TableDeadLetters(make_engine(f"sqlite:///{settings.sqlite_path('dlq')}"))
    outboxes = {
        outbox.topic: outbox
        for outbox in (policy_outbox(policy, settings), billing_outbox(billing, settings))
    }
    consumers = [
        billing_consumer(billing, settings, dead_letters),
        portal_consumer(read_engine, settings, dead_letters),
    ]
    return EmbeddedSystem(
        settings, policy, billing, InProcessDelivery(outboxes, consumers), read_engine
    )


def create_embedded_app(system: EmbeddedSystem, seed: bool = True) -> FastAPI:
    """The one ASGI app; its lifespan runs in-process delivery (and the demo seed)."""
    from services.portal.demo import load_demo_data

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        await system.settle()
        if seed:
            await load_demo_data(system.policy, system.billing, system.settle)
        task = asyncio.create_task(system.delivery.run_forever(stop))
        system.ready.set()
        try:
            yield
        finally:
            stop.set()
            await task
            system.close()

    app = create_portal_app(system.read_engine, is_ready=system.ready.is_set)  # type: ignore[arg-type]
    app.router.lifespan_context = lifespan
    app.mount("/backoffice/policy", create_policy_api(system.policy))
    app.mount("/backoffice/billing", create_billing_api(system.billing))
    return app
