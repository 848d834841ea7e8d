"""Composition root of the claims service's processes: `api`, `relay` or `consumer`.

- `api`: the back-office command API (port 8105 unless SERVICE_PORT);
- `relay`: claims' outbox → Kafka `claims.events`;
- `consumer`: consumer group `claims` on policy.events (the registry of certificates).
"""

from __future__ import annotations

from services.claims.application import ClaimsApplication
from services.claims.consumers import SUBSCRIBED_TOPICS, claims_sink
from services.claims.integration import to_integration
from shared.contracts.claims import TOPIC
from shared.eventstore import eventstore_env
from shared.messaging.consumer import ConsumerCore, DeadLetters
from shared.messaging.outbox import Outbox
from shared.settings import Settings
from shared.sqldb import schema_setup_lock

DEFAULT_PORT = 8105


def build_claims(settings: Settings) -> ClaimsApplication:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    url = settings.database_url_for("claims")
    with schema_setup_lock(url):
        return ClaimsApplication(env=eventstore_env(url, settings.eventstore_recorder))


def claims_outbox(app: ClaimsApplication, settings: Settings) -> Outbox:
    return Outbox(app, settings.topic(TOPIC), to_integration)


def claims_consumer(
    app: ClaimsApplication, settings: Settings, dead_letters: DeadLetters | None = None
) -> ConsumerCore:
    topics = [settings.topic(t) for t in SUBSCRIBED_TOPICS]
    return ConsumerCore(claims_sink(app), topics, dead_letters)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> None:
    from services.claims.api import create_claims_api
    from shared.runtime import run_role, start_process

    settings, role = start_process("claims", argv)
    app = build_claims(settings)
    run_role(
        "claims",
        role,
        settings,
        port=DEFAULT_PORT,
        api=lambda: create_claims_api(app),
        outbox=lambda: claims_outbox(app, settings),
        consumer=lambda: claims_consumer(app, settings),
    )


if __name__ == "__main__":
    main()
