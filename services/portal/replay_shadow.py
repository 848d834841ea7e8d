"""The shadow copy of the portal's read models that `portal replay` rebuilds, compares and swaps.

The shadow holds the SAME table definitions (`ReadModel.metadata` plus the sink's tracking
tables) under another schema name, reached through SQLAlchemy's `schema_translate_map`, so
the unchanged projection code (`portal_sink`, the ORM classes) writes into it:

- PostgreSQL: a schema (`portal_rebuild`) in the portal's own database;
- SQLite: a database file next to the portal's (`portal_rebuild.sqlite`), ATTACHed under that
  name to every connection of the shadow engine.

The live tables keep answering queries while the shadow is filled. `swap` replaces them in ONE
transaction on the portal's database, holding the write lock (SQLite `BEGIN IMMEDIATE`;
PostgreSQL `LOCK TABLE … IN ACCESS EXCLUSIVE MODE`): on PostgreSQL the live tables are dropped
and the shadow's moved in (`ALTER TABLE … SET SCHEMA`, which is "rename live → old, shadow →
live, drop old" without index-name clashes); SQLite cannot move a table between database
files, so the live rows are replaced by the shadow's inside the same locked transaction.
Readers see the old tables or the new ones, never a half-rebuilt read model.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Table, delete, event, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import func

from services.portal import projections
from services.portal.readmodels import ReadModel
from shared.messaging.sql_sink import aggregate_watermarks, tracking_metadata
from shared.sqldb import make_engine

SHADOW_SCHEMA = "portal_rebuild"
LOCK_ATTEMPTS = 5
ALL = "all"


def read_models() -> dict[str, list[Table]]:
    """Read model name → the tables it owns: one read model per projection module (the
    module's projectors are the only writers of the ORM classes it imports)."""
    modules = {
        "certificates": projections.certificates,
        "billing": projections.billing_projections,
        "sessions": projections.sessions,
        "documents": projections.documents_projections,
        "claims": projections.claims_projections,
    }
    owned: dict[str, list[Table]] = {}
    for name, module in modules.items():
        classes = {
            v for v in vars(module).values() if isinstance(v, type) and issubclass(v, ReadModel)
        }
        tables = {c.__table__ for c in classes if c is not ReadModel}
        owned[name] = [t for t in ReadModel.metadata.sorted_tables if t in tables]
    claimed = {t for tables in owned.values() for t in tables}
    others = [t for t in ReadModel.metadata.sorted_tables if t not in claimed]
    if others:  # a table no projection module imports: rebuilt with "all" only
        owned["other"] = others
    return owned


def tables_of(read_model: str | None) -> list[Table]:
    if read_model in (None, ALL):
        return list(ReadModel.metadata.sorted_tables)
    models = read_models()
    if read_model not in models:
        raise KeyError(f"unknown read model {read_model!r}; one of: {', '.join(models)}")
    return models[read_model]


# Columns that may hold a person's name or contact details: differences show a digest only.
SENSITIVE = {
    "first_name",
    "last_name",
    "patient_first_name",
    "patient_last_name",
    "payor_name",
    "name",
    "contact",
    "emails",
    "email",
    "phone",
    "paid_to",
}


def shown(column: str, value: Any) -> str:
    """A value fit for a terminal: sealed values and names/contacts as a short digest."""
    if value is None:
        return "NULL"
    if column in SENSITIVE or column.endswith("_sealed"):
        return "sha256:" + hashlib.sha256(repr(value).encode()).hexdigest()[:12]
    return str(value)


class Shadow:
    """The shadow schema next to the live read models of one portal database."""

    def __init__(self, live_url: str, name: str = SHADOW_SCHEMA) -> None:
        self.name = name
        self.live_url = live_url
        # `raw` reaches the live tables (unqualified) and the shadow's (qualified by `name`).
        self.raw = make_engine(live_url)
        self.sqlite = self.raw.dialect.name == "sqlite"
        self.file: Path | None = None
        if self.sqlite:
            self.file = Path(self.raw.url.database or "").with_name(f"{name}.sqlite")

            @event.listens_for(self.raw, "connect")
            def _attach(dbapi_connection: Any, _: Any) -> None:
                dbapi_connection.execute(f"ATTACH DATABASE '{self.file}' AS {name}")

        # `engine`: every unqualified table is the shadow's (what the projections write).
        self.engine: Engine = self.raw.execution_options(schema_translate_map={None: name})

    def create(self) -> None:
        """A fresh, empty shadow (whatever an earlier run left is dropped first)."""
        self.drop()
        if not self.sqlite:
            with self.raw.begin() as connection:
                connection.exec_driver_sql(f'CREATE SCHEMA "{self.name}"')
        ReadModel.metadata.create_all(self.engine)
        tracking_metadata.create_all(self.engine)

    def drop(self) -> None:
        if self.sqlite:
            self.raw.dispose()
            assert self.file is not None
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.file}{suffix}").unlink(missing_ok=True)
        else:
            with self.raw.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')

    def close(self) -> None:
        self.drop()
        self.raw.dispose()

    @contextlib.contextmanager
    def live_snapshot(self) -> Iterator[Connection]:
        """A read transaction on the live tables: one consistent snapshot for a comparison."""
        with self.raw.connect() as connection:
            if self.sqlite:
                connection.exec_driver_sql("BEGIN")
            else:
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            try:
                yield connection
            finally:
                connection.rollback()

    def swap(
        self,
        tables: list[Table],
        catch_up: Callable[[Connection], None],
        adopt_watermarks: bool,
    ) -> None:
        """Replace the live `tables` by the shadow's in one locked transaction.

        `catch_up(connection)` runs first, under the lock, with the live connection (to read
        the live watermarks): it feeds the shadow what was appended since the rebuild. With
        `adopt_watermarks` the portal's per-aggregate watermarks are replaced by the shadow's
        too; the live consumer positions are always kept.
        """
        ordered = [t for t in ReadModel.metadata.sorted_tables if t in tables]
        with self.raw.connect() as connection:
            self._lock(connection, ordered)
            try:
                catch_up(connection)
                if self.sqlite:
                    self._copy_in(connection, ordered)
                else:
                    self._move_in(connection, ordered)
                if adopt_watermarks:
                    self._adopt_watermarks(connection)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise

    def _lock(self, connection: Connection, ordered: list[Table]) -> None:
        """Take the swap's locks. A reader already holding one of the tables while it waits
        for another can deadlock with the `LOCK TABLE`; PostgreSQL then aborts one side. If
        that is the swap, nothing has been done yet: roll back and take the locks again."""
        if self.sqlite:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        names = ", ".join(f'"{t.name}"' for t in [*ordered, aggregate_watermarks])
        for attempt in range(1, LOCK_ATTEMPTS + 1):
            try:
                connection.exec_driver_sql("SET LOCAL lock_timeout = '60s'")
                # First the consumers' entry point (no sink transaction can be half-way), then
                # the tables readers and the swap touch.
                connection.exec_driver_sql("LOCK TABLE consumer_positions IN EXCLUSIVE MODE")
                connection.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
                return
            except OperationalError as exc:
                connection.rollback()
                deadlock = isinstance(exc.orig, psycopg.errors.DeadlockDetected)
                if not deadlock or attempt == LOCK_ATTEMPTS:
                    raise
                time.sleep(0.05 * attempt)

    def _copy_in(self, connection: Connection, ordered: list[Table]) -> None:
        for table in reversed(ordered):
            connection.exec_driver_sql(f'DELETE FROM main."{table.name}"')
        for table in ordered:
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            connection.exec_driver_sql(
                f'INSERT INTO main."{table.name}" ({columns}) '
                f'SELECT {columns} FROM "{self.name}"."{table.name}"'
            )

    def _move_in(self, connection: Connection, ordered: list[Table]) -> None:
        live = connection.scalar(select(func.current_schema()))
        for table in reversed(ordered):
            connection.exec_driver_sql(f'DROP TABLE "{live}"."{table.name}"')
        for table in ordered:
            connection.exec_driver_sql(
                f'ALTER TABLE "{self.name}"."{table.name}" SET SCHEMA "{live}"'
            )

    def _adopt_watermarks(self, connection: Connection) -> None:
        table = aggregate_watermarks
        consumer = projections.CONSUMER_NAME
        connection.execute(delete(table).where(table.c.consumer == consumer))
        connection.execute(
            text(
                "INSERT INTO aggregate_watermarks (consumer, aggregate_id, version) "
                f'SELECT consumer, aggregate_id, version FROM "{self.name}".aggregate_watermarks '
                "WHERE consumer = :consumer"
            ),
            {"consumer": consumer},
        )


def live_watermarks(connection: Connection) -> dict[str, int]:
    """The portal's per-aggregate version watermarks as the live read models have them."""
    table = aggregate_watermarks
    rows = connection.execute(
        select(table.c.aggregate_id, table.c.version).where(
            table.c.consumer == projections.CONSUMER_NAME
        )
    )
    return {aggregate_id: version for aggregate_id, version in rows}


Same = Callable[[str, Any, Any], bool]


def sealed_aware(open_sealed: Callable[[str], str | None] | None) -> Same:
    """Equality of two column values. A sealed value is re-sealed (with a fresh nonce) each
    time an outbox is read, so two sealed values are the same when they open to the same
    text — compared in memory, never shown; without a key store they are not compared."""

    def same(column: str, live: Any, rebuilt: Any) -> bool:
        if live == rebuilt:
            return True
        if not column.endswith("_sealed") or not live or not rebuilt:
            return False
        if open_sealed is None:
            return True
        try:
            return open_sealed(live) == open_sealed(rebuilt)
        except Exception:  # not a sealed value, or a broken one: they differ
            return False

    return same


def differences(
    live: Connection, shadow: Engine, tables: list[Table], same: Same | None = None
) -> Iterator[tuple[str, str, str, str, str]]:
    """Every (table, key, column, live value, rebuilt value) that differs, values as `shown`.

    A row only on one side is reported with column `(row)`."""
    same = same or sealed_aware(None)
    with shadow.connect() as rebuilt_connection:
        for table in tables:
            key_columns = list(table.primary_key.columns)
            live_rows = _keyed(live, table, key_columns)
            rebuilt_rows = _keyed(rebuilt_connection, table, key_columns)
            for key in sorted(live_rows.keys() | rebuilt_rows.keys(), key=repr):
                label = ",".join(
                    f"{c.name}={shown(c.name, v)}" for c, v in zip(key_columns, key, strict=True)
                )
                before, after = live_rows.get(key), rebuilt_rows.get(key)
                if before is None or after is None:
                    yield (
                        table.name,
                        label,
                        "(row)",
                        "missing" if before is None else "present",
                        "missing" if after is None else "present",
                    )
                    continue
                for column in table.columns:
                    if not same(column.name, before[column.name], after[column.name]):
                        yield (
                            table.name,
                            label,
                            column.name,
                            shown(column.name, before[column.name]),
                            shown(column.name, after[column.name]),
                        )


def _keyed(connection: Connection, table: Table, key_columns: list) -> dict[tuple, dict]:
    rows = connection.execute(select(table))
    keyed = {}
    for row in rows:
        values = dict(row._mapping)
        keyed[tuple(values[c.name] for c in key_columns)] = values
    return keyed
