"""Composition root of the billing service's processes: `api`, `relay` or `consumer`."""

from __future__ import annotations

import asyncio
import sys

from services.billing.application import BillingApplication
from services.billing.consumers import SUBSCRIBED_TOPICS, billing_sink
from services.billing.integration import to_integration
from shared.contracts.billing import TOPIC
from shared.eventstore import eventstore_env
from shared.messaging.consumer import ConsumerCore, DeadLetters
from shared.messaging.outbox import Outbox
from shared.settings import Settings
from shared.sqldb import schema_setup_lock

DEFAULT_PORT = 8102


def build_billing(settings: Settings) -> BillingApplication:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    url = settings.database_url_for("billing")
    with schema_setup_lock(url):
        return BillingApplication(env=eventstore_env(url, settings.eventstore_recorder))


def billing_outbox(app: BillingApplication, settings: Settings) -> Outbox:
    return Outbox(app, settings.topic(TOPIC), to_integration)


def billing_consumer(
    app: BillingApplication, settings: Settings, dead_letters: DeadLetters | None = None
) -> ConsumerCore:
    topics = [settings.topic(t) for t in SUBSCRIBED_TOPICS]
    return ConsumerCore(billing_sink(app), topics, dead_letters)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from services.billing.api import create_billing_api
    from shared.runtime import configure_logging, run_consumer, run_relay
    from shared.telemetry import setup_telemetry

    role = (argv or sys.argv[1:] or ["api"])[0]
    settings = Settings(PORTAL_MODE="distributed")
    configure_logging(settings.log_level)
    setup_telemetry(f"billing-{role}")
    app = build_billing(settings)
    bootstrap = settings.kafka_bootstrap_servers
    if role == "api":
        uvicorn.run(
            create_billing_api(app),
            host=settings.host,
            port=settings.service_port or DEFAULT_PORT,
            log_level="warning",
        )
    elif role == "relay":
        asyncio.run(run_relay(billing_outbox(app, settings), bootstrap))
    elif role == "consumer":
        asyncio.run(
            run_consumer(billing_consumer(app, settings), bootstrap, settings.topic("billing"))
        )
    else:
        raise SystemExit(f"unknown role {role!r}: use api, relay or consumer")


if __name__ == "__main__":
    main()
