"""Composition root of the policy service's processes: `api`, `relay` or `consumer`.

- `api`: the back-office command API (port 8101 unless SERVICE_PORT);
- `relay`: policy's outbox → Kafka `policy.events`;
- `consumer`: consumer group `policy` on billing.events (a premium default moves the
  certificate to its nonforfeiture status or Lapsed, see `nonforfeiture.py`).
"""

from __future__ import annotations

from services.policy.application import PolicyApplication
from services.policy.consumers import SUBSCRIBED_TOPICS, policy_sink
from services.policy.integration import PolicyContracts
from shared.contracts.policy import TOPIC
from shared.eventstore import eventstore_env
from shared.messaging.consumer import ConsumerCore, DeadLetters
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


def policy_consumer(
    app: PolicyApplication, settings: Settings, dead_letters: DeadLetters | None = None
) -> ConsumerCore:
    topics = [settings.topic(t) for t in SUBSCRIBED_TOPICS]
    return ConsumerCore(policy_sink(app), topics, dead_letters)  # type: ignore[arg-type]


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
        consumer=lambda: policy_consumer(app, settings),
    )


if __name__ == "__main__":
    main()
