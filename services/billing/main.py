"""Composition root of the billing service's processes: `api`, `relay` or `consumer`."""

from __future__ import annotations

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
    from services.billing.api import create_billing_api
    from shared.runtime import run_role, start_process

    settings, role = start_process("billing", argv)
    app = build_billing(settings)
    run_role(
        "billing",
        role,
        settings,
        port=DEFAULT_PORT,
        api=lambda: create_billing_api(app),
        outbox=lambda: billing_outbox(app, settings),
        consumer=lambda: billing_consumer(app, settings),
    )


if __name__ == "__main__":
    main()
