"""Group commit: concurrent saves of one process sent to the database as one statement.

PostgreSQL combines the WAL flushes of concurrent commits, but the event store's appends
cannot profit: each holds the events table's EXCLUSIVE lock (which keeps commit order equal
to notification-id order) until its commit is flushed, so they commit one by one. With
several threads saving at once — a service's API handling concurrent commands — the waiting
saves are better sent together: `GroupCommit.submit` queues a thread's rows; the first thread
to find no batch in flight becomes the leader, takes every queued request and sends them in
one call; the others wait for its answer. A lone saver is its own leader at once, so it pays
nothing; under contention, each commit carries the saves that queued during the previous one.

Each request still gets its own outcome. When the combined call is refused for integrity
(one request's version conflict), nothing of it was recorded, and each request is sent
again on its own, so only the conflicting one fails. Any other error is every request's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Row = TypeVar("Row")


class _Request(Generic[Row]):
    __slots__ = ("done", "error", "ids", "rows", "waiter")

    def __init__(self, rows: Sequence[Row]) -> None:
        self.rows = rows
        self.ids: list[int] = []
        self.error: BaseException | None = None
        self.done = False
        # Held from the start: its owner waits by acquiring it again, and is woken (its
        # request done, or its turn to lead) by whoever releases it.
        self.waiter = threading.Lock()
        self.waiter.acquire()


class GroupCommit(Generic[Row]):
    """`send(rows) -> ids` (one id per row, in order), called with several requests' rows;
    `refused` is the exception type after which each request is retried alone.

    Whenever no batch is in flight the queue is empty: a leader that finds requests queued
    when it is done hands the lead to the oldest, waking only that thread."""

    def __init__(
        self,
        send: Callable[[list[Row]], list[int]],
        refused: type[BaseException],
        max_rows: int = 1000,
    ) -> None:
        self._send = send
        self._refused = refused
        self._max_rows = max_rows
        self._mutex = threading.Lock()
        self._queue: list[_Request[Row]] = []
        self._leading = False
        self.batches = 0  # calls to `send` (for tests and measurements)

    def submit(self, rows: Sequence[Row]) -> list[int]:
        request = _Request(rows)
        with self._mutex:
            self._queue.append(request)
            follow, self._leading = self._leading, True
        if follow:
            request.waiter.acquire()  # done by another leader, or made the leader
        if not request.done:
            self._lead()  # this request is the oldest queued: it is in the batch
        if request.error is not None:
            raise request.error
        return request.ids

    def _lead(self) -> None:
        with self._mutex:
            batch = self._take()
        try:
            self._run(batch)
        finally:
            for request in batch:
                if not request.done:  # `_run` was interrupted
                    request.error = RuntimeError("the group's commit was interrupted")
                    request.done = True
            with self._mutex:
                if self._queue:
                    successor = self._queue[0]
                else:
                    successor, self._leading = None, False
            for request in batch[1:]:  # batch[0] is the leader's own
                request.waiter.release()
            if successor is not None:
                successor.waiter.release()

    def _take(self) -> list[_Request[Row]]:
        """The queued requests, oldest first, up to `max_rows` rows (at least one request)."""
        taken, rows = 0, 0
        for request in self._queue:
            if taken and rows + len(request.rows) > self._max_rows:
                break
            taken += 1
            rows += len(request.rows)
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        return batch

    def _run(self, batch: list[_Request[Row]]) -> None:
        if len(batch) > 1:
            try:
                ids = self._call([row for request in batch for row in request.rows])
            except self._refused:
                pass  # nothing was recorded: each request on its own, below
            except Exception as error:
                for request in batch:
                    request.error, request.done = error, True
                return
            else:
                start = 0
                for request in batch:
                    request.ids = ids[start : start + len(request.rows)]
                    request.done = True
                    start += len(request.rows)
                return
        for request in batch:
            try:
                request.ids = self._call(list(request.rows))
            except Exception as error:
                request.error = error
            request.done = True

    def _call(self, rows: list[Row]) -> list[int]:
        self.batches += 1
        ids = self._send(rows)
        if len(ids) != len(rows):
            raise RuntimeError(f"{len(rows)} rows sent, {len(ids)} ids back")
        return ids
