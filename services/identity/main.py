"""Composition root of the identity service's processes: `api`, `relay`, `consumer`, `mailer`.

- `api`: the HTTP command API (port 8103 unless SERVICE_PORT);
- `relay`: identity's outbox → Kafka `identity.events`;
- `consumer`: consumer group `identity` on policy.events (the owners registry);
- `mailer`: the mail dispatcher loop (mail_outbox → SMTP_HOST:SMTP_PORT);
- `sweeper`: the privacy office's sweep at start and every PRIVACY_SWEEP_SECONDS (retentions
  ended, keys shredded, interrupted deletions resumed; `POST /privacy/sweep` runs one now).

The embedded root (`services/portal/embedded.py`) builds the same objects with
`build_identity`, `identity_outbox`, `identity_consumer`, `identity_mail_dispatcher` and
`privacy_sweep_schedule`, and runs the dispatcher and the schedule next to in-process
delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.identity.application import IdentityApplication
from services.identity.consumers import SUBSCRIBED_TOPICS, identity_sink
from services.identity.credentials import Credentials
from services.identity.integration import to_integration
from services.identity.privacy.schedule import SweepSchedule, interval_from_env
from services.identity.tables import identity_engine
from shared.contracts.identity import TOPIC
from shared.eventstore import eventstore_env
from shared.mail import MailDispatcher, MailSettings, SmtpSender
from shared.messaging.consumer import ConsumerCore, DeadLetters
from shared.messaging.outbox import Outbox
from shared.personal_data import KeyedHash
from shared.settings import Settings
from shared.sqldb import schema_setup_lock

DEFAULT_PORT = 8103


def build_identity(
    settings: Settings,
    *,
    credentials: Credentials | None = None,
    clock: Callable[[], datetime] | None = None,
) -> IdentityApplication:
    """Identity's application on its own database (event store and tables on one URL)."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    url = settings.database_url_for("identity")
    extra = {"clock": clock} if clock else {}
    with schema_setup_lock(url):
        return IdentityApplication(
            env=eventstore_env(url, settings.eventstore_recorder),
            keyed_hash=KeyedHash(settings.keyed_hash_secret()),
            engine=identity_engine(url),
            credentials=credentials,
            **extra,
        )


def identity_outbox(app: IdentityApplication, settings: Settings) -> Outbox:
    return Outbox(app, settings.topic(TOPIC), to_integration)


def identity_consumer(
    app: IdentityApplication, settings: Settings, dead_letters: DeadLetters | None = None
) -> ConsumerCore:
    topics = [settings.topic(t) for t in SUBSCRIBED_TOPICS]
    return ConsumerCore(identity_sink(app.engine, app.keyed_hash), topics, dead_letters)  # type: ignore[arg-type]


def identity_mail_dispatcher(
    app: IdentityApplication, mail_settings: MailSettings | None = None
) -> MailDispatcher:
    mail_settings = mail_settings or MailSettings()
    sender = SmtpSender.from_settings(mail_settings)
    return MailDispatcher(app.mail, sender, mail_settings.mail_from, clock=app.clock)


def privacy_sweep_schedule(app: IdentityApplication) -> SweepSchedule:
    return SweepSchedule(app.privacy_sweep, interval_from_env())


def main(argv: list[str] | None = None) -> None:
    from services.identity.api import create_identity_api
    from shared.runtime import run_role, start_process, stop_on_signals

    settings, role = start_process("identity", argv)
    app = build_identity(settings)

    async def mailer() -> None:
        await identity_mail_dispatcher(app).run_forever(stop_on_signals())

    async def sweeper() -> None:
        await privacy_sweep_schedule(app).run_forever(stop_on_signals())

    run_role(
        "identity",
        role,
        settings,
        port=DEFAULT_PORT,
        api=lambda: create_identity_api(app),
        outbox=lambda: identity_outbox(app, settings),
        consumer=lambda: identity_consumer(app, settings),
        others={"mailer": mailer, "sweeper": sweeper},
    )


if __name__ == "__main__":
    main()
