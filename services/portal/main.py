"""Composition root of the portal's distributed processes: `api` or `consumer`.

(`portal run`, the embedded single process, is composed in `embedded.py`.)
"""

from __future__ import annotations

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
    from services.portal.api import create_portal_app
    from services.portal.gateway import CommandGateway
    from shared.clock import Clock
    from shared.personal_data import vault_at
    from shared.runtime import run_role, start_process

    settings, role = start_process("portal", argv)
    engine = build_read_store(settings)

    def api():
        gateway = CommandGateway.over_http(
            {
                "policy": settings.policy_url,
                "identity": settings.identity_url,
                "documents": settings.documents_url,
            }
        )
        vault = vault_at(settings.database_url_for("keystore"))
        return create_portal_app(
            engine,
            gateway,
            vault.open,
            clock=Clock(settings.as_of),
            csrf_secret=settings.derived_secret("portal-csrf"),
        )

    run_role(
        "portal",
        role,
        settings,
        port=settings.port,
        api=api,
        consumer=lambda: portal_consumer(engine, settings),
    )


if __name__ == "__main__":
    main()
