"""A general-ledger feed: a downstream consumer of the insurer's integration events.

    python -m examples.downstream_consumer --bootstrap 127.0.0.1:19092 --out ledger.csv

Its own consumer group (`general-ledger`) reads `billing.events` and `claims.events`, keeps
two event types and turns each into two ledger lines (double entry):

    PaymentApplied  (billing)  debit 2100 Premium suspense   credit 4100 Premium income
    ClaimIssued     (claims)   debit 5100 Claims expense     credit 1000 Cash

Delivery is at least once (a relay may re-publish after a crash, a consumer may be
redelivered what it wrote before it committed), so the ledger is idempotent by `event_id`:
an event already written adds nothing. The offset of a message is committed only after its
lines are durably written (fsync for CSV, a committed transaction for SQLite). Everything
else on the topics (other event types, event types added later) is skipped. See
`examples/README.md` for how to copy this into another team's code base.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import signal
import sqlite3
from dataclasses import astuple, dataclass, fields
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from shared.contracts.billing import PaymentApplied
from shared.contracts.claims import ClaimIssued
from shared.contracts.envelope import ContractError, Envelope, IntegrationEvent, parse_event
from shared.personal_data import Blindfold

log = logging.getLogger("general-ledger")
# A downstream reader holds no key: personal fields (patients' names, payees) stay sealed and
# open to their erased placeholders, which the ledger never books.
KEYLESS = Blindfold().open_json

GROUP_ID = "general-ledger"
TOPICS = ("billing.events", "claims.events")
RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class LedgerLine:
    event_id: str
    line: int  # 1 = debit, 2 = credit
    of: int  # the number of lines of the entry (a crash may have written fewer)
    posted_on: date
    certificate_number: str
    account: str
    side: str  # "debit" | "credit"
    amount: Decimal
    event_type: str
    reference: str  # the payment id or the claim number


COLUMNS = [f.name for f in fields(LedgerLine)]


def ledger_lines(envelope: Envelope, event: IntegrationEvent | None) -> list[LedgerLine]:
    """The lines of one event; none for every event the ledger does not book."""
    if isinstance(event, PaymentApplied):
        entry = (event.apply_date, event.amount, event.payment_id)
        accounts = ("2100 Premium suspense", "4100 Premium income")
    elif isinstance(event, ClaimIssued):
        entry = (event.issued_on, event.totals.total_amount_paid, event.claim_number)
        accounts = ("5100 Claims expense", "1000 Cash")
    else:
        return []
    posted_on, amount, reference = entry
    event_id, number = str(envelope.event_id), envelope.certificate_number
    return [
        LedgerLine(event_id, 1, 2, posted_on, number, accounts[0], "debit", amount,
                   envelope.event_type, reference),
        LedgerLine(event_id, 2, 2, posted_on, number, accounts[1], "credit", amount,
                   envelope.event_type, reference),
    ]  # fmt: skip


class Ledger(Protocol):
    def write(self, event_id: str, lines: list[LedgerLine]) -> bool:
        """Write the lines of one event durably; False (and nothing written) if already."""

    def lines(self) -> list[LedgerLine]: ...

    def close(self) -> None: ...


class CsvLedger:
    """An append-only CSV. The event ids written are loaded on start; each event's lines are
    appended in one write and fsynced; what a crash mid-write left (a torn row, an entry with
    fewer lines than its `of`) is cut off on start, so that event is written again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._repair()
        self.seen = {line.event_id for line in self.lines()}
        new = not path.exists() or path.stat().st_size == 0
        self.file = path.open("a", newline="", encoding="utf-8")
        if new:
            self._append([COLUMNS])

    def _repair(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as file:
                file.truncate(data.rfind(b"\n") + 1)
        lines = read_csv_ledger(self.path)
        if lines:
            last = lines[-1]
            partial = [x for x in lines if x.event_id == last.event_id]
            if len(partial) < last.of:
                kept = [list(astuple(x)) for x in lines[: len(lines) - len(partial)]]
                with self.path.open("w", newline="", encoding="utf-8") as file:
                    csv.writer(file, lineterminator="\n").writerows([COLUMNS, *kept])

    def _append(self, rows: list[list[object]]) -> None:
        import io

        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        self.file.write(buffer.getvalue())
        self.file.flush()
        os.fsync(self.file.fileno())

    def write(self, event_id: str, lines: list[LedgerLine]) -> bool:
        if event_id in self.seen:
            return False
        self._append([list(astuple(line)) for line in lines])
        self.seen.add(event_id)
        return True

    def lines(self) -> list[LedgerLine]:
        return read_csv_ledger(self.path)

    def close(self) -> None:
        self.file.close()


def read_csv_ledger(path: Path) -> list[LedgerLine]:
    """The lines of a CSV ledger (none if there is no file yet)."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return [_line(row) for row in csv.DictReader(file)]


class SqliteLedger:
    """One table; the lines of an event are inserted in one transaction."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS ledger_lines (event_id TEXT, line INTEGER, of INTEGER, "
            "posted_on TEXT, certificate_number TEXT, account TEXT, side TEXT, amount TEXT, "
            "event_type TEXT, reference TEXT, PRIMARY KEY (event_id, line))"
        )

    def write(self, event_id: str, lines: list[LedgerLine]) -> bool:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            found = self.db.execute(
                "SELECT 1 FROM ledger_lines WHERE event_id = ?", (event_id,)
            ).fetchone()
            if not found:
                self.db.executemany(
                    "INSERT INTO ledger_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [tuple(str(v) if not isinstance(v, int) else v for v in astuple(line))
                     for line in lines],
                )  # fmt: skip
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return not found

    def lines(self) -> list[LedgerLine]:
        cursor = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM ledger_lines ORDER BY rowid")
        return [_line(dict(zip(COLUMNS, row, strict=True))) for row in cursor]

    def close(self) -> None:
        self.db.close()


def _line(row: dict) -> LedgerLine:
    return LedgerLine(
        row["event_id"], int(row["line"]), int(row["of"]), date.fromisoformat(row["posted_on"]),
        row["certificate_number"], row["account"], row["side"], Decimal(row["amount"]),
        row["event_type"], row["reference"],
    )  # fmt: skip


def open_ledger(path: Path) -> Ledger:
    """SQLite for `.sqlite`/`.db` files, CSV otherwise."""
    return SqliteLedger(path) if path.suffix in (".sqlite", ".db") else CsvLedger(path)


@dataclass
class Stats:
    written: int = 0
    duplicates: int = 0
    skipped: int = 0


def build_broker(
    bootstrap: str,
    ledger: Ledger,
    stats: Stats,
    *,
    group_id: str = GROUP_ID,
    topic_prefix: str = "",
) -> KafkaBroker:
    """The FastStream broker with the ledger's one subscriber (not started)."""
    broker = KafkaBroker(bootstrap, client_id=group_id, logger=log)
    subscriber = broker.subscriber(
        *(topic_prefix + topic for topic in TOPICS),
        group_id=group_id,
        auto_offset_reset="earliest",  # a new ledger starts from the first event
        ack_policy=AckPolicy.MANUAL,  # we commit ourselves, after writing
    )

    @subscriber
    async def handle(message: KafkaMessage) -> None:
        record = message.raw_message
        partition = TopicPartition(record.topic, record.partition)
        try:
            envelope, event = parse_event(record.value, open_=KEYLESS)
        except ContractError as exc:  # not ours to fix: note it and move on
            log.error("skipping %s[%s]@%s: %s", *partition, record.offset, exc)
            envelope, event = None, None
        lines = ledger_lines(envelope, event) if envelope is not None else []
        try:
            if not lines:
                stats.skipped += 1
            elif await asyncio.to_thread(ledger.write, str(envelope.event_id), lines):
                stats.written += 1
            else:
                stats.duplicates += 1
        except Exception:
            log.exception("cannot write the ledger; retrying %s@%s", record.topic, record.offset)
            await asyncio.sleep(RETRY_SECONDS)
            subscriber.consumer.seek(partition, record.offset)  # type: ignore[union-attr]
            return
        await subscriber.consumer.commit({partition: record.offset + 1})  # type: ignore[union-attr]

    return broker


async def run(
    options: argparse.Namespace, stop: asyncio.Event | None = None, stats: Stats | None = None
) -> Stats:
    """Consume until `stop` is set (or SIGINT/SIGTERM when none is given); `stats` is
    updated as messages are handled."""
    stats = Stats() if stats is None else stats
    ledger = open_ledger(Path(options.out))
    broker = build_broker(
        options.bootstrap,
        ledger,
        stats,
        group_id=options.group,
        topic_prefix=options.topic_prefix,
    )
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    try:
        await broker.start()
        log.info("general ledger: %s → %s", ", ".join(TOPICS), options.out)
        await stop.wait()
    finally:
        await broker.stop()
        ledger.close()
    return stats


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                        required="KAFKA_BOOTSTRAP_SERVERS" not in os.environ)  # fmt: skip
    parser.add_argument("--out", default="ledger.csv", help="ledger.csv or ledger.sqlite")
    parser.add_argument("--group", default=GROUP_ID, help="the consumer group")
    parser.add_argument("--topic-prefix", default="", help="e.g. the TOPIC_PREFIX of a stack")
    return parser.parse_args(argv)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(run(parse_args()))
