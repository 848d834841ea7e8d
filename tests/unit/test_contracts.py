import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.contracts import billing, parse_event
from shared.contracts.envelope import ContractError, Envelope
from shared.contracts.types import CertificateNumber, Money


def test_certificate_numbers_are_padded_to_ten_digits() -> None:
    adapter = TypeAdapter(CertificateNumber)
    assert adapter.validate_python("275") == "0000000275"
    assert adapter.validate_python("01000") == "0000001000"
    for bad in ("", "12345678901", "12a4", "-"):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_money_is_decimal_with_two_places() -> None:
    adapter = TypeAdapter(Money)
    assert adapter.validate_python("44") == Decimal("44.00")
    assert adapter.dump_json(Decimal("44")) == b'"44.00"'
    for bad in ("1.234", "NaN", "Infinity", "abc"):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def _applied() -> billing.PaymentApplied:
    return billing.PaymentApplied(
        certificate_number="100001",
        payment_id="p1",
        apply_date=date(2024, 1, 25),
        periods=1,
        amount=Decimal("44.00"),
        paid_to_date=date(2024, 1, 1),
        suspense_balance=Decimal("0"),
    )


def test_envelope_round_trip_and_deterministic_event_id() -> None:
    aggregate_id = uuid4()
    wrap = lambda: Envelope.wrap(  # noqa: E731
        _applied(),
        aggregate_id=aggregate_id,
        aggregate_version=7,
        occurred_at=datetime.now(UTC),
        certificate_number="0000100001",
    )
    first, second = wrap(), wrap()
    assert first.event_id == second.event_id
    envelope, event = parse_event(first.to_bytes())
    assert envelope.event_type == "PaymentApplied"
    assert event == _applied()


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"{}", b'{"event_type": "PaymentApplied"}', b"\xff\xfe"],
)
def test_malformed_messages_are_contract_errors(raw: bytes) -> None:
    with pytest.raises(ContractError):
        parse_event(raw)


def test_a_payload_that_breaks_its_contract_is_a_contract_error() -> None:
    envelope = Envelope.wrap(
        _applied(),
        aggregate_id=uuid4(),
        aggregate_version=1,
        occurred_at=datetime.now(UTC),
        certificate_number="0000100001",
    )
    broken = json.loads(envelope.to_bytes())
    broken["data"]["amount"] = "lots"
    with pytest.raises(ContractError, match="amount"):
        parse_event(json.dumps(broken).encode())


def test_unknown_event_types_parse_without_a_payload_model() -> None:
    envelope = Envelope.wrap(
        _applied(),
        aggregate_id=uuid4(),
        aggregate_version=1,
        occurred_at=datetime.now(UTC),
        certificate_number="0000100001",
    )
    raw = json.loads(envelope.to_bytes())
    raw["event_type"] = "SomethingNew"
    parsed, event = parse_event(json.dumps(raw).encode())
    assert parsed.event_type == "SomethingNew"
    assert event is None
