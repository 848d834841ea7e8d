"""`shared/group_commit.py` with a fake database call: who sends what, and who gets which
ids or which error."""

from __future__ import annotations

import threading
import time

import pytest

from shared.group_commit import GroupCommit


class Refused(Exception):
    pass


class FakeLog:
    """Numbers rows as it appends them; refuses a whole call holding a row in `conflicts`.
    The first call waits for `release`, so that others queue behind it."""

    def __init__(self, conflicts: set[str] = frozenset(), fail: Exception | None = None):
        self.rows: list[str] = []
        self.calls: list[list[str]] = []
        self.conflicts = conflicts
        self.fail = fail
        self.release = threading.Event()
        self.entered = threading.Event()

    def send(self, rows: list[str]) -> list[int]:
        self.calls.append(list(rows))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(10)
        if self.fail is not None:
            raise self.fail
        if self.conflicts & set(rows):
            raise Refused(rows)
        start = len(self.rows) + 1
        self.rows.extend(rows)
        return list(range(start, start + len(rows)))


def run_queued(group: GroupCommit, log: FakeLog, requests: list[list[str]]) -> list:
    """The first request leads and blocks in `send`; the others queue; then it goes on."""
    outcomes: list = [None] * len(requests)

    def submit(i: int) -> None:
        try:
            outcomes[i] = group.submit(requests[i])
        except Exception as exc:  # inspected by the test
            outcomes[i] = exc

    first = threading.Thread(target=submit, args=(0,))
    first.start()
    assert log.entered.wait(10)
    others = [threading.Thread(target=submit, args=(i,)) for i in range(1, len(requests))]
    for t in others:
        t.start()
    for _ in range(1000):
        if len(group._queue) == len(requests) - 1:
            break
        time.sleep(0.005)
    assert len(group._queue) == len(requests) - 1
    log.release.set()
    for t in [first, *others]:
        t.join(10)
    return outcomes


def test_a_lone_request_is_sent_at_once_and_gets_its_ids() -> None:
    log = FakeLog()
    log.release.set()
    group = GroupCommit(log.send, Refused)
    assert group.submit(["a", "b"]) == [1, 2]
    assert group.submit(["c"]) == [3]
    assert log.calls == [["a", "b"], ["c"]]


def test_requests_queued_behind_a_call_go_together_each_with_its_own_ids() -> None:
    log = FakeLog()
    group = GroupCommit(log.send, Refused)
    outcomes = run_queued(group, log, [["a"], ["b1", "b2"], ["c"], ["d"]])
    assert outcomes[0] == [1]
    assert len(log.calls) == 2 and sorted(log.calls[1]) == ["b1", "b2", "c", "d"]
    for i, request in enumerate([["b1", "b2"], ["c"], ["d"]], start=1):
        assert [log.rows[n - 1] for n in outcomes[i]] == request


def test_a_refused_group_is_sent_again_request_by_request() -> None:
    log = FakeLog(conflicts={"c"})
    group = GroupCommit(log.send, Refused)
    outcomes = run_queued(group, log, [["a"], ["b"], ["c"], ["d"]])
    assert isinstance(outcomes[2], Refused)
    assert [log.rows[outcomes[i][0] - 1] for i in (0, 1, 3)] == ["a", "b", "d"]
    assert "c" not in log.rows
    assert len(log.calls) == 2 + 3  # the leader's, the refused group, then each alone


def test_any_other_error_is_every_queued_requests() -> None:
    log = FakeLog(fail=ConnectionError("gone"))
    group = GroupCommit(log.send, Refused)
    outcomes = run_queued(group, log, [["a"], ["b"], ["c"]])
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert log.rows == []
    # nobody is left leading: the next request is sent
    log.fail = None
    assert group.submit(["d"]) == [1]


def test_a_group_stops_at_max_rows_and_the_rest_follows_in_order() -> None:
    log = FakeLog()
    group = GroupCommit(log.send, Refused, max_rows=3)
    outcomes = run_queued(group, log, [["a"], ["b", "b"], ["c"], ["d", "d"]])
    assert all(isinstance(o, list) for o in outcomes)
    assert [len(call) for call in log.calls[1:]] in ([3, 2], [2, 3], [3, 1, 1], [2, 1, 2])
    assert all(len(call) <= 3 for call in log.calls)
    assert sorted(log.rows) == ["a", "b", "b", "c", "d", "d"]


def test_a_send_returning_the_wrong_count_is_an_error() -> None:
    group = GroupCommit(lambda rows: [1], Refused)
    with pytest.raises(RuntimeError, match="2 rows sent, 1 ids back"):
        group.submit(["a", "b"])


def test_many_threads_each_get_exactly_their_own_ids() -> None:
    log = FakeLog()
    log.release.set()
    group = GroupCommit(log.send, Refused)
    results: dict[int, list[int]] = {}

    def work(k: int) -> None:
        for j in range(200):
            row = f"{k}-{j}"
            (n,) = group.submit([row])
            assert log.rows[n - 1] == row
        results[k] = [1]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == list(range(8))
    assert len(log.rows) == 1600 and len(set(log.rows)) == 1600
