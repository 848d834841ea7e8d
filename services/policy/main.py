"""Composition root of the policy service's processes: `api` or `relay`."""

from __future__ import annotations

import asyncio
import sys

from services.policy.application import PolicyApplication
from services.policy.integration import PolicyContracts
from shared.contracts.policy import TOPIC
from shared.eventstore import eventstore_env
from shared.messaging.outbox import Outbox
from shared.personal_data import KeyedHash, vault_at
from shared.settings import Settings
from shared.sqldb import schema_setup_lock

DEFAULT_PORT = 8101


def build_policy(settings: Settings) -> PolicyApplication:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    url = settings.database_url_for("policy")
    with schema_setup_lock(url):
        return PolicyApplication(env=eventstore_env(url, settings.eventstore_recorder))


def policy_outbox(app: PolicyApplication, settings: Settings) -> Outbox:
    contracts = PolicyContracts(
        vault_at(settings.database_url_for("keystore")), KeyedHash(settings.keyed_hash_secret())
    )
    return Outbox(app, settings.topic(TOPIC), contracts)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from services.policy.api import create_policy_api
    from shared.runtime import configure_logging, run_relay
    from shared.telemetry import setup_telemetry

    role = (argv or sys.argv[1:] or ["api"])[0]
    settings = Settings(PORTAL_MODE="distributed")
    configure_logging(settings.log_level)
    setup_telemetry(f"policy-{role}")
    app = build_policy(settings)
    if role == "api":
        uvicorn.run(
            create_policy_api(app),
            host=settings.host,
            port=settings.service_port or DEFAULT_PORT,
            log_level="warning",
        )
    elif role == "relay":
        asyncio.run(run_relay(policy_outbox(app, settings), settings.kafka_bootstrap_servers))
    else:
        raise SystemExit(f"unknown role {role!r}: use api or relay")


if __name__ == "__main__":
    main()
