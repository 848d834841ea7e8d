"""The general-ledger example's storage, without a broker: lines of the two booked events,
idempotence by event id (CSV and SQLite, across reopening), and a torn CSV row cut off."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from examples.downstream_consumer import ledger_lines, open_ledger, read_csv_ledger
from shared.contracts.envelope import parse_event

SAMPLES = Path(__file__).parents[1] / "contracts" / "samples"


def sample(event_type: str):
    return parse_event((SAMPLES / f"{event_type}.v1.json").read_bytes())


def test_payments_applied_and_claims_issued_are_booked_and_nothing_else() -> None:
    lines = ledger_lines(*sample("PaymentApplied"))
    assert [(x.account, x.side, x.amount) for x in lines] == [
        ("2100 Premium suspense", "debit", Decimal("44.00")),
        ("4100 Premium income", "credit", Decimal("44.00")),
    ]
    envelope, event = sample("ClaimIssued")
    lines = ledger_lines(envelope, event)
    assert {x.amount for x in lines} == {event.totals.total_amount_paid}
    assert [x.side for x in lines] == ["debit", "credit"]
    assert {x.posted_on for x in lines} == {event.issued_on}
    assert ledger_lines(*sample("PaymentReceived")) == []
    assert ledger_lines(*sample("ClaimSubmitted")) == []


@pytest.mark.parametrize("name", ["ledger.csv", "ledger.sqlite"])
def test_an_event_is_written_once_even_after_reopening(tmp_path: Path, name: str) -> None:
    envelope, event = sample("PaymentApplied")
    lines = ledger_lines(envelope, event)
    ledger = open_ledger(tmp_path / name)
    assert ledger.write(str(envelope.event_id), lines) is True
    assert ledger.write(str(envelope.event_id), lines) is False
    ledger.close()
    ledger = open_ledger(tmp_path / name)
    assert ledger.write(str(envelope.event_id), lines) is False
    assert ledger.lines() == lines
    ledger.close()


@pytest.mark.parametrize("cut", ["torn row", "one line of two"])
def test_what_a_crash_left_is_cut_off_and_its_event_written_again(tmp_path: Path, cut: str) -> None:
    path = tmp_path / "ledger.csv"
    first, second = sample("PaymentApplied"), sample("ClaimIssued")
    ledger = open_ledger(path)
    for envelope, event in (first, second):
        ledger.write(str(envelope.event_id), ledger_lines(envelope, event))
    ledger.close()
    text = path.read_text()
    start_of_last_row = text.rindex("\n", 0, len(text) - 1) + 1
    path.write_text(text[: start_of_last_row + (10 if cut == "torn row" else 0)])
    ledger = open_ledger(path)
    envelope, event = second
    assert ledger.write(str(envelope.event_id), ledger_lines(envelope, event)) is True
    assert ledger.write(str(first[0].event_id), ledger_lines(*first)) is False
    ledger.close()
    assert read_csv_ledger(path) == ledger_lines(*first) + ledger_lines(*second)
