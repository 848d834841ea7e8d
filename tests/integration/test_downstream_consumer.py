"""The general-ledger example (`examples/downstream_consumer.py`) on the real broker: real
envelopes published by the services' relays become ledger lines; a re-published event and a
full re-read (a new consumer group, as after losing the offsets) add nothing."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from examples.downstream_consumer import Stats, read_csv_ledger, run
from services.billing.main import billing_outbox
from services.claims.main import build_claims, claims_consumer, claims_outbox
from services.portal.demo_claims import NUMBER, issue_claims_certificate, issued_claim
from shared.messaging.kafka import KafkaPublisher
from shared.runtime import run_consumer, run_relay
from tests.integration.conftest import Stack, eventually

pytestmark = pytest.mark.integration

EXPECTED = [
    (date(2019, 1, 3), NUMBER, "2100 Premium suspense", "debit", Decimal("64.80"),
     "PaymentApplied", "GL-1"),
    (date(2019, 1, 3), NUMBER, "4100 Premium income", "credit", Decimal("64.80"),
     "PaymentApplied", "GL-1"),
    (date(2024, 7, 24), NUMBER, "5100 Claims expense", "debit", Decimal("175.00"),
     "ClaimIssued", "C000000901"),
    (date(2024, 7, 24), NUMBER, "1000 Cash", "credit", Decimal("175.00"),
     "ClaimIssued", "C000000901"),
]  # fmt: skip


def booked(path: Path) -> list[tuple]:
    """The ledger on disk, without event ids, in a stable order."""
    return sorted(
        (x.posted_on, x.certificate_number, x.account, x.side, x.amount, x.event_type, x.reference)
        for x in read_csv_ledger(path)
    )


class Ledger:
    """The example's `run` as a task of the test's loop."""

    def __init__(self, stack: Stack, out: Path, group: str) -> None:
        options = argparse.Namespace(
            bootstrap=stack.settings.kafka_bootstrap_servers,
            out=str(out),
            group=stack.settings.topic(group),
            topic_prefix=stack.settings.topic_prefix,
        )
        self.stats, self.stop = Stats(), asyncio.Event()
        self.task = asyncio.create_task(run(options, self.stop, self.stats))

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)


async def test_the_general_ledger_books_payments_and_claims_once(
    stack: Stack, tmp_path: Path
) -> None:
    claims = build_claims(stack.settings)
    bootstrap = stack.settings.kafka_bootstrap_servers
    stack.start_relays()
    stack.start_consumer("billing")
    box, core = claims_outbox(claims, stack.settings), claims_consumer(claims, stack.settings)
    stack.start("claims-relay", lambda stop: run_relay(box, bootstrap, stop))
    group = stack.settings.topic("claims")
    stack.start("claims", lambda stop: run_consumer(core, bootstrap, group, stop))
    out = tmp_path / "ledger.csv"
    ledger = Ledger(stack, out, "general-ledger")
    publisher = KafkaPublisher(bootstrap)
    await publisher.start()
    try:
        issue_claims_certificate(stack.policy)
        await eventually(lambda: claims.find_certificate(NUMBER) is not None, timeout=90)
        await eventually(lambda: stack.billing.find_account(NUMBER) is not None, timeout=90)
        stack.billing.record_payment(
            NUMBER, amount=Decimal("64.80"), transaction_date=date(2019, 1, 3), payment_id="GL-1"
        )
        issued_claim(claims, "C000000901", "I1", date(2024, 7, 4),
                     [(date(2024, 7, 4), "Accident Follow-Up Treatment", "175.00")])  # fmt: skip
        await eventually(lambda: ledger.stats.written == 2, timeout=90)
        assert booked(out) == sorted(EXPECTED)
        assert len({line.event_id for line in read_csv_ledger(out)}) == 2
        skipped = ledger.stats.skipped
        assert skipped > 0  # PaymentReceived, ClaimSubmitted, …: read, not booked

        # The relay publishes PaymentApplied again (as after a crash before it recorded its
        # position): the ledger sees a duplicate and writes nothing.
        records, _ = billing_outbox(stack.billing, stack.settings).read(0)
        (applied,) = [r for r in records if (b"PaymentApplied" in dict(r.headers).values())]
        await publisher.publish([applied])
        await eventually(lambda: ledger.stats.duplicates == 1, timeout=60)
        assert ledger.stats.written == 2
        assert booked(out) == sorted(EXPECTED)
    finally:
        await publisher.stop()
        await ledger.close()

    # Offsets lost (a new consumer group): every message is read again; nothing is added.
    rebuilt = Ledger(stack, out, "general-ledger-rebuilt")
    try:
        await eventually(lambda: rebuilt.stats.duplicates == 3, timeout=60)
        assert rebuilt.stats.written == 0
        assert booked(out) == sorted(EXPECTED)
    finally:
        await rebuilt.close()
        claims.close()
