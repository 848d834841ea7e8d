"""Composition root of the embedded default (`portal run`, `make run`): every service and the
portal in ONE process, SQLite files under `var/`, in-process delivery through the same
outboxes, handlers and tracking as the distributed mode.

HTTP layout of the one process:
  /api/…, /health                 the portal (owner-facing; owner commands are forwarded
                                  in-process to identity's and policy's own APIs)
  /backoffice/policy/…            policy's command API
  /backoffice/billing/…           billing's command API
  /backoffice/documents/…         documents' command API (e.g. POST /letters)
  /backoffice/claims/…            claims' command API (submit, adjudicate, issue, deny)

Mail: identity's dispatcher sends through SMTP to `SMTP_HOST:SMTP_PORT` (default
127.0.0.1:8025); `portal run` starts a demo mailbox there that writes each message to
`var/mail/*.eml`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI

from services.billing.api import create_billing_api
from services.billing.application import BillingApplication
from services.billing.main import billing_consumer, billing_outbox, build_billing
from services.claims.api import create_claims_api
from services.claims.application import ClaimsApplication
from services.claims.main import build_claims, claims_consumer, claims_outbox
from services.documents.api import create_documents_api
from services.documents.application import DocumentsApplication
from services.documents.main import (
    build_documents,
    documents_consumer,
    documents_mail_dispatcher,
    documents_outbox,
)
from services.identity.api import create_identity_api
from services.identity.application import IdentityApplication
from services.identity.main import (
    build_identity,
    identity_consumer,
    identity_mail_dispatcher,
    identity_outbox,
    privacy_sweep_schedule,
)
from services.policy.api import create_policy_api
from services.policy.application import PolicyApplication
from services.policy.main import build_policy, policy_consumer, policy_outbox
from services.portal.api import create_portal_app
from services.portal.gateway import CommandGateway
from services.portal.main import build_read_store, portal_consumer
from shared.clock import Clock
from shared.mail import DemoMailbox, MailSettings
from shared.messaging.inprocess import InProcessDelivery, TableDeadLetters
from shared.metrics import persist_progress
from shared.ops import add_ops_routes, inprocess_ops
from shared.personal_data import install, vault_at
from shared.settings import Settings
from shared.sqldb import make_engine

log = logging.getLogger(__name__)


@dataclass
class EmbeddedSystem:
    settings: Settings
    policy: PolicyApplication
    billing: BillingApplication
    identity: IdentityApplication
    documents: DocumentsApplication
    claims: ClaimsApplication
    delivery: InProcessDelivery
    read_engine: object
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def settle(self) -> None:
        await self.delivery.settle()

    def close(self) -> None:
        self.policy.close()
        self.billing.close()
        self.identity.close()
        self.documents.close()
        self.claims.close()


def build_embedded(settings: Settings) -> EmbeddedSystem:
    install(vault_at(settings.database_url_for("keystore")))
    policy = build_policy(settings)
    billing = build_billing(settings)
    identity = build_identity(settings)
    documents = build_documents(settings)
    claims = build_claims(settings)
    read_engine = build_read_store(settings)
    dead_letters = TableDeadLetters(make_engine(f"sqlite:///{settings.sqlite_path('dlq')}"))
    outboxes = {
        outbox.topic: outbox
        for outbox in (
            policy_outbox(policy, settings),
            billing_outbox(billing, settings),
            identity_outbox(identity, settings),
            documents_outbox(documents, settings),
            claims_outbox(claims, settings),
        )
    }
    consumers = [
        policy_consumer(policy, settings, dead_letters),
        billing_consumer(billing, settings, dead_letters),
        identity_consumer(identity, settings, dead_letters),
        documents_consumer(documents, settings, dead_letters),
        claims_consumer(claims, settings, dead_letters),
        portal_consumer(read_engine, settings, dead_letters),
    ]
    delivery = InProcessDelivery(outboxes, consumers)
    return EmbeddedSystem(
        settings, policy, billing, identity, documents, claims, delivery, read_engine
    )


def create_embedded_app(
    system: EmbeddedSystem,
    seed: bool = True,
    mail: MailSettings | None = None,
    demo_mailbox: bool = True,
) -> FastAPI:
    """The one ASGI app; its lifespan runs in-process delivery, the mail dispatchers, the
    privacy sweep's schedule, the demo mailbox and the demo seed."""
    from services.portal.demo import load_demo_data

    mail = mail or MailSettings()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        mailbox = None
        if demo_mailbox:
            mailbox = DemoMailbox.from_settings(mail, system.settings.var_dir / "mail")
            try:
                mailbox.start()
            except OSError as exc:  # something else listens there: use it as the SMTP server
                log.warning("demo mailbox not started (%s); mail goes to %s", exc, mail.smtp_port)
                mailbox = None
        sweeps = privacy_sweep_schedule(system.identity)
        await system.settle()
        if seed:
            await load_demo_data(system, system.settle)
        tasks = [
            asyncio.create_task(system.delivery.run_forever(stop)),
            asyncio.create_task(identity_mail_dispatcher(system.identity, mail).run_forever(stop)),
            asyncio.create_task(
                documents_mail_dispatcher(system.documents, mail).run_forever(stop)
            ),
            asyncio.create_task(persist_progress(system.delivery.consumers, stop)),
            asyncio.create_task(sweeps.run_forever(stop, first_delay=sweeps.interval)),
        ]
        system.ready.set()
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await gateway.close()
            if mailbox is not None:
                mailbox.stop()
            system.close()

    policy_api = create_policy_api(system.policy)
    billing_api = create_billing_api(system.billing, clock=Clock(system.settings.as_of))
    identity_api = create_identity_api(system.identity)
    documents_api = create_documents_api(system.documents, system.documents.content_store)
    gateway = CommandGateway.in_process(
        {"policy": policy_api, "identity": identity_api, "documents": documents_api}
    )
    vault = vault_at(system.settings.database_url_for("keystore"))
    app = create_portal_app(
        system.read_engine,  # type: ignore[arg-type]
        gateway,
        vault.open,
        clock=Clock(system.settings.as_of),
        is_ready=system.ready.is_set,
        csrf_secret=system.settings.derived_secret("portal-csrf"),
    )
    app.router.lifespan_context = lifespan
    add_ops_routes(app, inprocess_ops(system.delivery))
    app.mount("/backoffice/policy", policy_api)
    app.mount("/backoffice/billing", billing_api)
    app.mount("/backoffice/documents", documents_api)
    app.mount("/backoffice/claims", create_claims_api(system.claims))
    return app
