"""Composition root of the portal's distributed processes: `api` or `consumer`.

(`portal run`, the embedded single process, is composed in `embedded.py`.)
"""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy.engine import Engine

from services.portal.projections import SUBSCRIBED_TOPICS, portal_sink
from services.portal.readmodels import ReadModel
from shared.messaging.consumer import ConsumerCore, DeadLetters
from shared.settings import Settings
from shared.sqldb import create_tables, make_engine


def build_read_store(settings: Settings) -> Engine:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url_for("portal"))
    create_tables(ReadModel.metadata, engine)
    return engine


def portal_consumer(
    engine: Engine, settings: Settings, dead_letters: DeadLetters | None = None
) -> ConsumerCore:
    topics = [settings.topic(t) for t in SUBSCRIBED_TOPICS]
    return ConsumerCore(portal_sink(engine), topics, dead_letters)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from services.portal.api import create_portal_app
    from services.portal.gateway import CommandGateway
    from shared.clock import Clock
    from shared.personal_data import vault_at
    from shared.runtime import configure_logging, run_consumer
    from shared.telemetry import setup_telemetry

    role = (argv or sys.argv[1:] or ["api"])[0]
    settings = Settings(PORTAL_MODE="distributed")
    configure_logging(settings.log_level)
    setup_telemetry(f"portal-{role}")
    engine = build_read_store(settings)
    if role == "api":
        gateway = CommandGateway.over_http(
            {"policy": settings.policy_url, "identity": settings.identity_url}
        )
        vault = vault_at(settings.database_url_for("keystore"))
        web = create_portal_app(engine, gateway, vault.open, clock=Clock(settings.as_of))
        uvicorn.run(
            web,
            host=settings.host,
            port=settings.service_port or settings.port,
            log_level="warning",
        )
    elif role == "consumer":
        asyncio.run(
            run_consumer(
                portal_consumer(engine, settings),
                settings.kafka_bootstrap_servers,
                settings.topic("portal"),
            )
        )
    else:
        raise SystemExit(f"unknown role {role!r}: use api or consumer")


if __name__ == "__main__":
    main()
