"""The one-round-trip event-store recorder (`shared/pg_recorder.py`) on the real PostgreSQL:
it is the recorder the services get, a save returns its notification ids in order, a
version conflict is refused whole, saves wait for the table lock as the library's do, a save
with a tracking position still records it, and many threads saving at once leave a log with
no gap and no duplicate."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Tracking

from bench.eventstore import BenchStore, new_certificate
from shared.eventstore import eventstore_env
from shared.pg_recorder import OneTripProcessRecorder
from tests.integration.conftest import create_databases, drop_databases

pytestmark = pytest.mark.integration


@pytest.fixture
def store(infra) -> Iterator[tuple[BenchStore, str]]:
    name = f"recorder_{uuid.uuid4().hex[:8]}"
    create_databases(infra.database_url, [name])
    url = f"{infra.database_url.rpartition('/')[0]}/{name}"
    app = BenchStore(env=eventstore_env(url, "native"))
    try:
        yield app, url
    finally:
        app.factory.close()
        drop_databases(infra.database_url, [name])


def test_the_services_get_it_and_a_save_returns_its_ids_in_order(store) -> None:
    app, _ = store
    assert isinstance(app.recorder, OneTripProcessRecorder)
    aggregates = [new_certificate(n) for n in range(1, 4)]
    recordings = app.save(*aggregates)
    ids = [r.notification.id for r in recordings]
    assert ids == sorted(ids) and len(set(ids)) == 3
    notifications = app.recorder.select_notifications(start=1, limit=10)
    assert [n.id for n in notifications] == ids
    assert [n.originator_id for n in notifications] == [a.id for a in aggregates]
    assert app.repository.get(aggregates[0].id).certificate_number == "0000000001"


def test_a_version_conflict_is_refused_and_records_nothing(store) -> None:
    app, _ = store
    first = new_certificate(7)
    app.save(first)
    before = app.recorder.max_notification_id()
    again = new_certificate(7)  # the same id, version 1 again
    other = new_certificate(8)
    with pytest.raises(IntegrityError):
        app.save(again, other)
    assert app.recorder.max_notification_id() == before
    assert app.recorder.select_events(other.id) == []


def test_a_save_waits_for_the_table_lock(store) -> None:
    """Commit order stays notification-id order: the append takes the same EXCLUSIVE lock."""
    app, url = store
    app.save(new_certificate(1))
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    done = threading.Event()
    with psycopg.connect(url) as holder:
        # ROW SHARE conflicts with the append's EXCLUSIVE lock, not with a bare INSERT's.
        holder.execute(f"LOCK TABLE {table} IN ROW SHARE MODE")
        saver = threading.Thread(target=lambda: (app.save(new_certificate(2)), done.set()))
        saver.start()
        with psycopg.connect(url, autocommit=True) as watcher:
            for _ in range(200):
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE %s",
                    (f"%{table}_append%",),
                ).fetchone()
                if waiting and waiting[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the save never waited for the table lock")
        assert not done.is_set()
        holder.rollback()
    saver.join(timeout=30)
    assert done.is_set()


def test_a_save_with_a_tracking_position_records_it(store) -> None:
    app, _ = store
    aggregate = new_certificate(5)
    tracking = Tracking(application_name="upstream", notification_id=42)
    app.recorder.insert_events(
        [app.mapper.to_stored_event(e) for e in aggregate.collect_events()],
        tracking=tracking,
    )
    assert app.recorder.max_tracking_id("upstream") == 42  # type: ignore[attr-defined]
    assert len(app.recorder.select_events(aggregate.id)) == 1


def test_eight_threads_saving_leave_a_log_without_gaps_or_duplicates(store) -> None:
    app, _ = store
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for n in range(k * 1000, k * 1000 + 50):
                app.save(new_certificate(n))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [n.id for n in app.recorder.select_notifications(start=1, limit=1000)]
    assert len(ids) == 400
    assert ids == list(range(ids[0], ids[0] + 400))  # contiguous: no id lost to a rollback


def test_an_aggregates_several_events_are_appended_together_in_order(store) -> None:
    app, _ = store

    class Counter(Aggregate):
        def bump(self) -> None:
            self.trigger_event(self.Bumped)

        class Bumped(Aggregate.Event):
            pass

    counter = Counter()
    for _ in range(4):
        counter.bump()
    recordings = app.save(counter)
    assert [r.domain_event.originator_version for r in recordings] == [1, 2, 3, 4, 5]
    assert len(app.recorder.select_events(counter.id)) == 5


def _saves_queued_behind_a_held_lock(app: BenchStore, url: str, aggregates: list) -> list:
    """Start one thread per aggregate while another connection holds a lock the append
    waits for; release it once all of them are waiting. Returns each save's outcome."""
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    outcomes: list = [None] * len(aggregates)
    queued = app.recorder.group_commit  # type: ignore[attr-defined]

    def save(i: int) -> None:
        try:
            outcomes[i] = app.save(aggregates[i])
        except BaseException as exc:  # inspected by the test
            outcomes[i] = exc

    with psycopg.connect(url) as holder:
        holder.execute(f"LOCK TABLE {table} IN ROW SHARE MODE")
        threads = [threading.Thread(target=save, args=(i,)) for i in range(len(aggregates))]
        for t in threads:
            t.start()
        for _ in range(500):  # the first is the leader, blocked in the database
            if len(queued._queue) == len(aggregates) - 1:
                break
            time.sleep(0.01)
        assert len(queued._queue) == len(aggregates) - 1
        holder.rollback()  # the lock goes
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_saves_made_while_one_is_in_flight_go_together_in_one_statement(store) -> None:
    app, url = store
    group = app.recorder.group_commit  # type: ignore[attr-defined]
    aggregates = [new_certificate(n) for n in range(100, 108)]
    before = group.batches
    outcomes = _saves_queued_behind_a_held_lock(app, url, aggregates)
    assert group.batches - before == 2  # the leader's own, then the 7 that queued behind it
    for aggregate, recordings in zip(aggregates, outcomes, strict=True):
        (recording,) = recordings
        (notification,) = app.recorder.select_notifications(
            start=recording.notification.id, limit=1
        )
        assert notification.originator_id == aggregate.id  # each save got its own id back
    ids = [n.id for n in app.recorder.select_notifications(start=1, limit=100)]
    assert ids == list(range(ids[0], ids[0] + 8))


def test_a_conflict_in_a_group_fails_only_its_own_save(store) -> None:
    app, url = store
    app.save(new_certificate(200))
    group = app.recorder.group_commit  # type: ignore[attr-defined]
    aggregates = [new_certificate(n) for n in (201, 202, 200, 203, 204)]  # 200 again: conflict
    before = group.batches
    outcomes = _saves_queued_behind_a_held_lock(app, url, aggregates)
    assert isinstance(outcomes[2], IntegrityError)
    assert all(isinstance(o, list) for i, o in enumerate(outcomes) if i != 2)
    # the leader's, the refused group of four, then each of the four alone
    assert group.batches - before == 6
    for n in (201, 202, 203, 204):
        assert len(app.recorder.select_events(new_certificate(n).id)) == 1
    assert len(app.recorder.select_notifications(start=1, limit=100)) == 5
