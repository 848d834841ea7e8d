"""SQLAlchemy engines for read models and other plain-SQL state (SQLite or PostgreSQL by URL)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.orm import Session

T = TypeVar("T")


def sqlalchemy_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # A deleted or blanked row (a sent mail's one-time code, an erased person's
            # read-model rows) is overwritten with zeros instead of lingering in free pages.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def truncate_wal(engine: Engine, wait_ms: int = 1000) -> bool:
    """On SQLite, copy the write-ahead log into the database and empty the log file, so a
    value just blanked (with `secure_delete`, zeroed in the database) does not linger in old
    log frames. Waits at most `wait_ms` for readers and writers; answers False if it could
    not finish (the frames go at a later call, or when the last connection closes). On
    PostgreSQL there is no such file: answers True."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            (previous,) = cursor.execute("PRAGMA busy_timeout").fetchone()
            cursor.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
            try:
                (busy, _, _) = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                cursor.execute(f"PRAGMA busy_timeout={int(previous)}")
        finally:
            cursor.close()
    return busy == 0


SCHEMA_LOCK_KEY = 7_262_001  # any constant: one schema-setup lock per database


_held: dict[str, int] = {}
_held_guard = threading.Lock()


@contextmanager
def schema_setup_lock(url: str) -> Iterator[None]:
    """Serialise table creation between the processes of one service (its API, relay and
    consumer start together and would race each other's CREATE TABLE). PostgreSQL advisory
    lock, scoped to the database, re-entrant within a process; SQLite needs none."""
    url = sqlalchemy_url(url)
    if not url.startswith("postgresql"):
        yield
        return
    plain = "postgresql://" + url.split("://", 1)[1].split("?", 1)[0]
    with _held_guard:
        if _held.get(plain):
            _held[plain] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[plain] -= 1
        return
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        with _held_guard:
            _held[plain] = 1
        try:
            yield
        finally:
            with _held_guard:
                _held[plain] = 0
            connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


def create_tables(metadata: MetaData, engine: Engine) -> None:
    """`metadata.create_all`, safe when several processes start at once."""
    with schema_setup_lock(engine.url.render_as_string(hide_password=False)):
        metadata.create_all(engine)


def add_missing_columns(metadata: MetaData, engine: Engine) -> list[str]:
    """Columns added to `metadata`'s existing tables since they were created (`ALTER TABLE …
    ADD COLUMN`; new columns must be nullable). Answers the `table.column`s added; the caller
    holds the schema-setup lock when several processes may start at once."""
    added = []
    inspector = inspect(engine)
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                kind = column.type.compile(dialect=engine.dialect)
                connection.execute(
                    text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
                )
                added.append(f"{table.name}.{column.name}")
    return added


async def in_thread(engine: Engine, read: Callable[..., T], *args: Any) -> T:
    """`read(session, *args)` in a worker thread with a session of its own.

    Async handlers must never wait for a pooled connection on the event loop: with the pool
    exhausted, the loop would block, the sessions that hold the connections could not be
    closed (their clean-up runs through the loop) and every request would stall until the
    pool's timeout.
    """

    def run() -> T:
        with Session(engine) as s:
            return read(s, *args)

    return await asyncio.to_thread(run)
