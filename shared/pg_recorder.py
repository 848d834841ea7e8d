"""The services' PostgreSQL event-store recorder: a save is one round trip.

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
the lock. Saves that record a tracking position (an event-sourced consumer's processing)
keep the library's path, which inserts the tracking row in the same transaction.

Selected by `eventstore_env` (`PROCESS_RECORDER_TOPIC`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier


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
                "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
                "BEGIN "
                "SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "NOTIFY {channel}; "
                "RETURN QUERY INSERT INTO {schema}.{table} AS t "
                "(originator_id, originator_version, topic, state) "
                "SELECT originator_id, originator_version, topic, state FROM unnest(events) "
                "RETURNING notification_id; "
                "END; $BODY$"
            ).format(
                schema=schema,
                function=function,
                event=Identifier(self.stored_event_type_name),
                lock_timeout=self.datastore.lock_timeout,
                table=table,
                channel=Identifier(self.channel_name),
            )
        )
        self.append_statement = SQL("SELECT * FROM {schema}.{function}(%s)").format(
            schema=schema, function=function
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events or kwargs.get("tracking") is not None:
            return super().insert_events(stored_events, **kwargs)
        rows = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            assert conn.autocommit  # the statement is its own transaction: the lock ends with it
            curs.execute(self.append_statement, (rows,), prepare=True)
            return [row[self.append_column] for row in curs.fetchall()]
