"""Figure 4: the portal projection fed straight from billing's outbox (no Kafka), against
reading and decoding the same notifications."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from decimal import Decimal

from bench.common import Measure, Report, Sizes, median, section
from services.billing.application import BillingApplication
from services.billing.integration import to_integration
from services.portal.projections import portal_sink
from services.portal.readmodels import ReadModel
from shared import personal_data
from shared.eventstore import eventstore_env
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.messaging.records import OutboundRecord
from shared.sqldb import make_engine

TOPIC = "bench.billing"
PAGE = 500  # the relay's batch size
FIRST_CERTIFICATE = 4_300_000_000


class KeepDeadLetters:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def publish(self, topic, partition, offset, value, headers, reason, consumer) -> None:
        self.reasons.append(reason)


def generate(app: BillingApplication, accounts: int, payments: int) -> None:
    """`accounts` accounts, each opened and paid `payments` times (PaymentReceived and
    PaymentApplied each time), one transaction per account."""
    for a in range(accounts):
        account, entry = app.open_account(
            certificate_number=f"{FIRST_CERTIFICATE + a:010d}",
            payor_name="Avery Demo",
            payment_frequency="Monthly",
            payment_method="Direct Premium Notice",
            premium=Decimal("44.00"),
            effective_date=date(2015, 12, 1),
        )
        for p in range(payments):
            account.receive_payment(
                payment_id=f"P{p:05d}",
                amount=Decimal("44.00"),
                transaction_date=date(2016, 1, 5),
                apply_date=date(2016, 1, 5),
                payment_method="Direct Premium Notice",
            )
        app.save(account, entry)


def read_only(app: BillingApplication) -> int:
    after, count = 0, 0
    while True:
        notifications = app.process_recorder.select_notifications(
            start=after, limit=PAGE, inclusive_of_start=False
        )
        if not notifications:
            return count
        count += len(notifications)
        after = notifications[-1].id


def read_and_decode(outbox: Outbox) -> list[OutboundRecord]:
    after, records = 0, []
    while True:
        page, last = outbox.read(after, PAGE)
        if last == after:
            return records
        records.extend(page)
        after = last


def _project(engine, records: list[OutboundRecord], fetch: int) -> float:
    """Events/s of the portal's consumer core fed `records` in fetches of `fetch` into an
    empty read model."""
    ReadModel.metadata.create_all(engine)
    dead_letters = KeepDeadLetters()
    core = ConsumerCore(portal_sink(engine), [TOPIC], dead_letters)
    fetches = [
        [(TOPIC, 0, r.position, r.value, dict(r.headers)) for r in records[i : i + fetch]]
        for i in range(0, len(records), fetch)
    ]

    async def feed() -> float:
        started = time.perf_counter()
        for batch in fetches:
            await core.handle_batch(batch)
        return time.perf_counter() - started

    elapsed = asyncio.run(feed())
    if dead_letters.reasons or core.applied != len(records):
        raise RuntimeError(
            f"projection applied {core.applied} of {len(records)}, "
            f"dead letters: {dead_letters.reasons[:3]}"
        )
    return len(records) / elapsed


def run(report: Report, sizes: Sizes, databases) -> None:
    url = databases.create(f"bench_projection_{databases.run_id}")
    # Billing seals payors' names at rest and on the wire: a key store (its table beside the
    # events), as composition roots install one.
    personal_data.install(personal_data.vault_at(url))
    app = BillingApplication(env=eventstore_env(url, "native"))
    engine = make_engine(url)
    try:
        with section(report, "projection: generate billing events"):
            generate(app, sizes.projection_accounts, sizes.projection_payments)
        outbox = Outbox(app, TOPIC, to_integration)
        records: list[OutboundRecord] = []
        with section(report, "projection: read + decode"):
            notifications = 0
            read_rates, decode_rates = [], []
            for _ in range(sizes.projection_repeats):
                started = time.perf_counter()
                notifications = read_only(app)
                read_rates.append(notifications / (time.perf_counter() - started))
                started = time.perf_counter()
                records = read_and_decode(outbox)
                decode_rates.append(len(records) / (time.perf_counter() - started))
            report.limit(
                Measure(
                    "proj.read",
                    f"select_notifications, pages of {PAGE} (median of {sizes.projection_repeats})",
                    median(read_rates),
                    "rows/s",
                    notifications * sizes.projection_repeats,
                    detail={"runs": read_rates},
                )
            )
            report.limit(
                Measure(
                    "proj.read_decode",
                    f"Outbox.read: read + decode + envelope, pages of {PAGE} "
                    f"(median of {sizes.projection_repeats})",
                    median(decode_rates),
                    "events/s",
                    len(records) * sizes.projection_repeats,
                    detail={"runs": decode_rates, "notifications": notifications},
                )
            )
        with section(report, "projection: portal sink"):
            second = make_engine(databases.create(f"bench_projection_1by1_{databases.run_id}"))
            try:
                one_by_one = _project(second, records, fetch=1)
            finally:
                second.dispose()
            batched = _project(engine, records, fetch=PAGE)
            report.figure(
                "4",
                Measure(
                    "fig4.projection",
                    "portal ConsumerCore.handle_batch + SqlSink, fetches of "
                    f"{PAGE}, billing events from the outbox, no Kafka",
                    batched,
                    "events/s",
                    len(records),
                    len(records) / batched,
                    {
                        "accounts": sizes.projection_accounts,
                        "payments_per_account": sizes.projection_payments,
                        "one_by_one_events_per_s": one_by_one,
                    },
                ),
                "proj.read_decode",
                # One transaction per event: the one-row commit rate bounds that way.
                "raw.commit1.1",
                note=f"1 commit per fetch; one by one (1 commit per event): {one_by_one:,.0f}/s",
            )
    finally:
        engine.dispose()
        app.close()
