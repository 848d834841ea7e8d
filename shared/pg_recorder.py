"""The services' PostgreSQL event-store recorder: a save is one round trip, and concurrent
saves of a process share it.

`eventsourcing`'s native process recorder appends a command's events in a pipeline with two
synchronisations: BEGIN, `SET LOCAL lock_timeout`, `LOCK TABLE … IN EXCLUSIVE MODE`, NOTIFY
and the INSERT; then, once the inserted notification ids are back in Python, COMMIT. The
table lock (which keeps commit order equal to notification-id order, so a reader tailing the
log never passes a gap that fills in later) is therefore held across a network round trip
and whatever Python does before sending COMMIT — with several threads saving at once, the
waits for the GIL too.

`OneTripProcessRecorder` does the same statements in one: a PL/pgSQL function per events
table (`<table>_append`, created with the table) takes the lock, notifies, inserts and
returns the ids, and runs as a single autocommitted statement, so its transaction — and the
lock — ends on the server as soon as the insert is done. Same lock, same order, same
NOTIFY, same errors (a version conflict is the INSERT's unique violation, raised as
`eventsourcing`'s IntegrityError); one round trip instead of two, and no client time inside
the lock. The rows go as four binary arrays (ids, versions, topics, states), which psycopg
dumps in C; the library's array of a composite type is dumped in Python, row by row.

Because the lock is held until the commit is flushed, appends cannot share a WAL flush the
way PostgreSQL's own commits do; saves made at the same time by several threads of a process
are therefore sent together (`shared/group_commit.py`): one statement, one lock, one flush.

Saves that record a tracking position (an event-sourced consumer's processing) keep the
library's path, which inserts the tracking row in the same transaction.

Selected by `eventstore_env` (`PROCESS_RECORDER_TOPIC`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from shared.group_commit import GroupCommit


class OneTripProcessRecorder(PostgresProcessRecorder):
    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ) -> None:
        super().__init__(
            datastore,
            events_table_name=events_table_name,
            tracking_table_name=tracking_table_name,
        )
        # PostgreSQL keeps 63 bytes of a name; the result column is named after the function.
        self.append_column = f"{events_table_name}_append"[-63:]
        schema = Identifier(self.datastore.schema)
        function = Identifier(self.append_column)
        table = Identifier(self.events_table_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}"
                "(ids uuid[], versions bigint[], topics text[], states bytea[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
                "BEGIN "
                "SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "NOTIFY {channel}; "
                "RETURN QUERY INSERT INTO {schema}.{table} "
                "(originator_id, originator_version, topic, state) "
                "SELECT * FROM unnest(ids, versions, topics, states) "
                "RETURNING notification_id; "
                "END; $BODY$"
            ).format(
                schema=schema,
                function=function,
                lock_timeout=self.datastore.lock_timeout,
                table=table,
                channel=Identifier(self.channel_name),
            )
        )
        # Composed once, as bytes: psycopg then finds the statement in its cache.
        self.append_statement = (
            SQL(
                "SELECT * FROM {schema}.{function}"
                "(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])"
            )
            .format(schema=schema, function=function)
            .as_bytes(None)
        )
        self.group_commit: GroupCommit[StoredEvent] = GroupCommit(self._append, IntegrityError)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events or kwargs.get("tracking") is not None:
            return super().insert_events(stored_events, **kwargs)
        return self.group_commit.submit(stored_events)

    def _append(self, events: list[StoredEvent]) -> list[int]:
        """One statement, its own transaction: the lock ends with it on the server."""
        columns = (
            [e.originator_id for e in events],
            [e.originator_version for e in events],
            [e.topic for e in events],
            [e.state for e in events],
        )
        try:
            self.datastore.pool.open(wait=True, timeout=30.0)
            with self.datastore.pool.connection() as connection:
                assert connection.autocommit
                cursor = connection.cursor(binary=True, row_factory=tuple_row)
                cursor.execute(self.append_statement, columns, prepare=True)
                return [row[0] for row in cursor.fetchall()]
        except psycopg.Error as error:
            raise _translated(error) from error


def _translated(error: psycopg.Error) -> PersistenceError:
    """psycopg's error as the `eventsourcing` class the library's own recorder raises."""
    for theirs, ours in (
        (psycopg.IntegrityError, IntegrityError),
        (psycopg.InterfaceError, InterfaceError),
        (psycopg.OperationalError, OperationalError),
        (psycopg.DataError, DataError),
        (psycopg.InternalError, InternalError),
        (psycopg.ProgrammingError, ProgrammingError),
        (psycopg.NotSupportedError, NotSupportedError),
        (psycopg.DatabaseError, DatabaseError),
    ):
        if isinstance(error, theirs):
            return ours(str(error))
    return PersistenceError(str(error))
