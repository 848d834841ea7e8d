"""Composition root of the policy service's processes: `api` or `relay`."""

from __future__ import annotations

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
    from services.policy.api import create_policy_api
    from shared.runtime import run_role, start_process

    settings, role = start_process("policy", argv)
    app = build_policy(settings)
    run_role(
        "policy",
        role,
        settings,
        port=DEFAULT_PORT,
        api=lambda: create_policy_api(app),
        outbox=lambda: policy_outbox(app, settings),
    )


if __name__ == "__main__":
    main()
