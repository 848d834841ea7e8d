"""Writes a projector needs no answer from, sent to the database together.

A projector marked `@deferring` hands its statements to `defer(session, statement, params)`
instead of executing them. They wait in order in the session, and `send_deferred(session)`
sends them: on PostgreSQL (psycopg) in one pipeline, so a whole run of events costs one
network round trip instead of one per statement; elsewhere (SQLite) one by one. `SqlSink`
sends them before it calls a projector that is not deferring and before it writes its own
positions and watermarks, so statements reach the database in event order.

The rules that keep that order: the first `defer` of a batch flushes the session's pending
ORM changes (they came first), and a deferring projector only writes — it does not read the
session, where its own deferred writes are not visible yet. What is still deferred when the
session commits is sent first (a `before_commit` listener), so nothing deferred is lost.

Deferred statements are built once (module constants, with `bindparam`s for every value):
each is compiled once per schema translation and kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement

P = TypeVar("P", bound=Callable[..., Any])

_PENDING = "deferred_writes"
# (statement, schema translation) → its compiled form. Bounded: a statement built per call
# (against the rule above) is compiled every time rather than kept.
_compiled: dict[tuple[ClauseElement, tuple | None], Any] = {}
_KEPT = 256


def deferring(projector: P) -> P:
    """Mark `projector` as one that only `defer`s its statements."""
    projector.deferring = True  # type: ignore[attr-defined]
    return projector


def is_deferring(projector: Callable[..., Any]) -> bool:
    return getattr(projector, "deferring", False)


def defer(session: Session, statement: ClauseElement, parameters: Mapping[str, Any]) -> None:
    """Run `statement` with `parameters` at the session's next `send_deferred`."""
    pending = session.info.get(_PENDING)
    if pending is None:
        session.flush()  # pending ORM changes were made before these statements
        pending = session.info[_PENDING] = []
    pending.append((statement, parameters))


def send_deferred(session: Session) -> int:
    """Send the session's deferred statements, in order; answers how many."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return 0
    connection = session.connection()
    if connection.dialect.driver == "psycopg":
        _pipelined(connection, pending)
    else:
        for statement, parameters in pending:
            connection.execute(statement, parameters)
    return len(pending)


def _pipelined(connection: Connection, pending: list[tuple[ClauseElement, Mapping]]) -> None:
    translate = connection.get_execution_options().get("schema_translate_map")
    schema = tuple(sorted(translate.items(), key=str)) if translate else None
    driver = connection.connection.driver_connection
    with driver.pipeline(), driver.cursor() as cursor:  # type: ignore[union-attr]
        for statement, parameters in pending:
            key = (statement, schema)
            compiled = _compiled.get(key)
            if compiled is None:
                translating = {"schema_translate_map": translate, "render_schema_translate": True}
                compiled = statement.compile(
                    dialect=connection.dialect, **(translating if translate else {})
                )
                if len(_compiled) < _KEPT:
                    _compiled[key] = compiled
            values = compiled.construct_params(parameters)
            for name, process in compiled._bind_processors.items():
                if name in values:
                    values[name] = process(values[name])
            cursor.execute(compiled.string, values)


@event.listens_for(Session, "before_commit")
def _send_before_commit(session: Session) -> None:
    send_deferred(session)
