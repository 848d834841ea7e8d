"""The key store's cache: a key is read from the store once, and another process's shred is
still seen within `cache_seconds` (from the shred log, one query for every cached key)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from shared.personal_data import PREFIX, Vault, sealed_key_ids
from shared.sqldb import make_engine


class Clock:
    """`time.monotonic` for the vault, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("shared.personal_data.time.monotonic", clock)
    return clock


def kid_of(sealed: str) -> str:
    return sealed.removeprefix(PREFIX).partition(":")[0]


def counted(engine: Engine) -> list[str]:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    return statements


def test_keys_are_read_once_and_an_other_process_shred_is_seen_in_time(
    tmp_path: Path, clock: Clock
) -> None:
    url = f"sqlite:///{tmp_path}/keys.sqlite"
    writer = Vault(make_engine(url), cache_seconds=5)
    sealed = {who: writer.seal(who, f"{who}'s secret") for who in ("ann", "bob", "cy")}
    reader_engine = make_engine(url)
    reader = Vault(reader_engine, cache_seconds=5)
    statements = counted(reader_engine)

    for _ in range(4):  # the same three owners' values read at 0, 2, 4 and 6 s
        for who, value in sealed.items():
            assert reader.open(value) == f"{who}'s secret"
        clock.now += 2
    key_reads = [s for s in statements if 'person_keys."key"' in s]
    shred_log_reads = [s for s in statements if "shredded_at" in s]
    assert len(key_reads) == 3  # one per key, not one per key every 5 s
    assert len(shred_log_reads) == 1  # at 6 s: the cache was 5 s old

    writer.shred(kid_of(sealed["bob"]))  # the key id of bob's value
    assert reader.open(sealed["bob"]) == "bob's secret"  # within cache_seconds: still cached
    clock.now += 5.1
    assert reader.open(sealed["bob"]) is None  # the shred log said so
    assert reader.open(sealed["ann"]) == "ann's secret"
    assert len([s for s in statements if 'person_keys."key"' in s]) == 3


def test_with_no_cache_every_read_sees_the_shred_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/keys.sqlite"
    writer = Vault(make_engine(url), cache_seconds=5)
    value = writer.seal("dee", "dee's secret")
    reader = Vault(make_engine(url), cache_seconds=0)
    assert reader.open(value) == "dee's secret"
    writer.shred(kid_of(value))
    assert reader.open(value) is None


def test_a_key_missing_then_created_elsewhere_is_found_after_cache_seconds(
    tmp_path: Path, clock: Clock
) -> None:
    url = f"sqlite:///{tmp_path}/keys.sqlite"
    reader = Vault(make_engine(url), cache_seconds=5)
    writer = Vault(make_engine(url), cache_seconds=5)
    value = writer.seal("eve", "eve's secret")
    kid = kid_of(value)
    reader._cache[kid] = (clock.now, None)  # as if read just before the writer created it
    assert reader.open(value) is None
    clock.now += 5.1
    assert reader.open(value) == "eve's secret"


def test_prefetch_reads_the_keys_of_a_batch_in_one_query(tmp_path: Path, clock: Clock) -> None:
    url = f"sqlite:///{tmp_path}/keys.sqlite"
    writer = Vault(make_engine(url), cache_seconds=5)
    values = [writer.seal(f"owner-{n}", f"secret {n}") for n in range(20)]
    writer.shred(kid_of(values[0]))
    reader_engine = make_engine(url)
    reader = Vault(reader_engine, cache_seconds=5)
    statements = counted(reader_engine)

    batch = json.dumps({"a": values[0], "b": values[1:]}).encode()  # as stored state is
    assert sealed_key_ids(batch) == {kid_of(v) for v in values}
    reader.prefetch(sealed_key_ids(batch) | {"never-created"})

    assert [reader.open(v) for v in values] == [None] + [f"secret {n}" for n in range(1, 20)]
    assert len(statements) == 1  # the prefetch; every open was a cache hit
    reader.prefetch(sealed_key_ids(batch))  # all cached: no query
    assert len(statements) == 1
