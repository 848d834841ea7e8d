"""Old stored payloads still load: the real v1 samples captured from the embedded demo
(`tests/contracts/samples/`, written by `python -m tests.contracts.capture_samples`) parse
through the registry, and the upcaster mechanism turns an old version into the current one
(shown on a test-only contract, so no production contract is bent to demonstrate it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from shared.contracts.envelope import ContractError, Envelope, IntegrationEvent, parse_event
from shared.contracts.registry import CONTRACTS
from shared.contracts.types import Money
from shared.contracts.upcasting import UPCASTERS, UpcastingError, upcast, upcast_path, upcaster
from shared.sealing import open_state

SAMPLES = Path(__file__).parents[1] / "contracts" / "samples"
# Contracts the demo (plus the capture script's extra commands) does not produce yet: a
# password change and a portal notification need mail round trips.
WITHOUT_SAMPLE = {("PasswordChanged", 1), ("NotificationSent", 1)}


def _samples() -> list[Path]:
    return sorted(SAMPLES.glob("*.json"))


@pytest.mark.parametrize("path", _samples(), ids=lambda p: p.stem)
def test_a_stored_payload_still_loads(path: Path) -> None:
    raw = path.read_bytes()
    stored = json.loads(raw)
    envelope, event = parse_event(raw)
    assert event is not None, f"{path.name}: {stored['event_type']} is no longer registered"
    assert event.event_type == stored["event_type"]
    assert envelope.event_id == Envelope.model_validate(stored).event_id
    assert (event.event_type, envelope.schema_version) in CONTRACTS
    if envelope.schema_version == stored["schema_version"]:
        # Not upcast: the current contract reads the stored payload as it is, losslessly —
        # except its sealed personal fields, whose keys (a throw-away key store) are gone.
        erased = open_state(stored["data"], type(event).personal, lambda _v: (False, None))
        expected = type(event).model_validate(erased).model_dump(mode="json")
        assert event.model_dump(mode="json") == expected
        assert {k: v for k, v in expected.items() if k in erased} == {
            k: v for k, v in erased.items() if k in expected and not isinstance(v, dict | list)
        } | {k: expected[k] for k in expected if isinstance(erased.get(k), dict | list)}


def test_the_samples_cover_every_registered_contract() -> None:
    have = {(p.stem.rsplit(".v", 1)[0], int(p.stem.rsplit(".v", 1)[1])) for p in _samples()}
    missing = set(CONTRACTS) - have - WITHOUT_SAMPLE
    assert not missing, (
        f"no stored sample for {sorted(missing)}: run "
        "`.venv/bin/python -m tests.contracts.capture_samples` (extend its commands if the "
        "demo does not produce the event) and commit the new files"
    )


# --- the mechanism, on a test-only contract ---------------------------------------------------


class WidgetPriced(IntegrationEvent):
    """v2 of a test-only contract: v1 had `price` in cents as an int; v2 has Money + currency."""

    event_type: ClassVar[str] = "WidgetPriced"
    schema_version: ClassVar[int] = 2
    producer: ClassVar[str] = "tests"
    certificate_number: str
    amount: Money
    currency: str


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    cents = data.pop("price_cents")
    return {**data, "amount": f"{cents / 100:.2f}", "currency": "USD"}


def _stored_v1(**data: Any) -> bytes:
    return json.dumps(
        {
            "event_id": "8ff3bac6-5b66-5f47-b323-d35f823a8994",
            "event_type": "WidgetPriced",
            "schema_version": 1,
            "occurred_at": "2024-06-30T12:00:00Z",
            "producer": "tests",
            "aggregate_id": "4f533e5c-4063-5bce-9d74-e95627dff159",
            "aggregate_version": 1,
            "certificate_number": "0000100001",
            "data": {"certificate_number": "0000100001", **data},
        }
    ).encode()


@pytest.fixture
def widget_v2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CONTRACTS, ("WidgetPriced", 2), WidgetPriced)
    monkeypatch.setitem(UPCASTERS, ("WidgetPriced", 1), _v1_to_v2)


def test_a_v1_payload_is_upcast_to_the_registered_v2(widget_v2: None) -> None:
    envelope, event = parse_event(_stored_v1(price_cents=4400))
    assert isinstance(event, WidgetPriced)
    assert (str(event.amount), event.currency) == ("44.00", "USD")
    assert envelope.schema_version == 2
    assert envelope.data == {
        "certificate_number": "0000100001",
        "amount": "44.00",
        "currency": "USD",
    }


def test_without_its_upcaster_a_v1_payload_is_not_read_as_v2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(CONTRACTS, ("WidgetPriced", 2), WidgetPriced)
    _, event = parse_event(_stored_v1(price_cents=4400))
    assert event is None  # v1 is unknown: the consumer skips it, never misreads it
    assert upcast_path("WidgetPriced", 1, 2) == [1]


def test_a_failing_upcaster_is_a_contract_error(widget_v2: None) -> None:
    with pytest.raises(ContractError, match="upcasting WidgetPriced v1"):
        parse_event(_stored_v1(wrong_field=1))


def test_upcasters_chain_and_never_mutate_their_input() -> None:
    chain = {
        ("E", 1): lambda d: {**d, "b": d["a"] * 2},
        ("E", 2): lambda d: {k: v for k, v in d.items() if k != "a"},
    }
    stored = {"a": 2}
    assert upcast("E", 1, stored, chain) == (3, {"b": 4})
    assert upcast("E", 3, {"b": 4}, chain) == (3, {"b": 4})
    assert stored == {"a": 2}
    assert upcast_path("E", 1, 4, chain) == [3]


def test_one_upcaster_per_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.contracts.upcasting.UPCASTERS", {})
    upcaster("E", 1)(_v1_to_v2)
    with pytest.raises(ValueError, match="two upcasters"):
        upcaster("E", 1)(lambda d: d)


def test_upcasting_errors_are_value_errors() -> None:
    with pytest.raises(UpcastingError):
        upcast("E", 1, {}, {("E", 1): lambda d: d["missing"]})
