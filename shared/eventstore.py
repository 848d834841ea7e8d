"""Event stores: one `eventsourcing` Application per service, persisted by URL.

- `sqlite:///path` → the library's SQLite recorder (embedded default);
- `postgresql://…/db` → the native `eventsourcing.postgres` recorder (default: `make bench`
  measures it 1.0-1.2x faster than eventsourcing-sqlalchemy with one writer, 1.6x with eight,
  1.3x at 100 events a transaction), or `eventsourcing_sqlalchemy` with
  `EVENTSTORE_RECORDER=sqlalchemy` (one code path for both databases). The two create
  different tables: choose one per database and keep it.

Every service application uses a *process recorder*, so it can record tracking positions
atomically with new events: the relay's position in its own notification log, and a
consumer's position per Kafka topic-partition.

Events carry metadata (`_meta`: W3C trace context and what caused them) that the mapper adds
when they are stored; aggregates never see it, the outbox relay copies it to Kafka headers.

Personal fields are sealed at rest: an application lists `personal_fields` (event class name,
or `Snapshot:<aggregate class name>`, → `shared.sealing.Rule`s) and the mapper seals those
values with each person's key before storing and opens them after reading (`sealing.py`).
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urlsplit

from eventsourcing.application import Application
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    ProcessRecorder,
    StoredEvent,
    Transcoding,
)

from shared import personal_data
from shared.sealing import Rule, open_state, seal_state
from shared.tracing import current_traceparent, tracer

_cause: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "event_cause", default=None
)


@contextmanager
def caused_by(kind: str, name: str, actor: str | None = None):
    """Label the events stored inside this block: `kind` is command / batch / reaction."""
    cause = {"kind": kind, "name": name}
    if actor:
        cause["actor"] = actor
    token = _cause.set(cause)
    try:
        yield
    finally:
        _cause.reset(token)


def event_metadata(domain_event: Any) -> dict[str, Any]:
    """The metadata stored with an event ({} for events stored before metadata existed)."""
    return dict(getattr(domain_event, "_meta", None) or {})


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class MetadataMapper(Mapper):
    """Adds `_meta` (trace context, cause) to the stored state of every event."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if getattr(domain_event, "_meta", None) is None:
            meta: dict[str, Any] = {}
            traceparent = current_traceparent()
            if traceparent:
                meta["traceparent"] = traceparent
            cause = _cause.get()
            if cause:
                meta["cause"] = cause
            object.__setattr__(domain_event, "_meta", meta)
        return super().to_stored_event(domain_event)


PersonalFields = dict[str, tuple[Rule, ...]]


def rules_key(domain_event: Any) -> str:
    """`Certificate.Issued` for an event, `Snapshot:Certificate` for a snapshot."""
    if isinstance(domain_event, Snapshot):
        return "Snapshot:" + str(domain_event.topic).rpartition(":")[2]
    return type(domain_event).__qualname__


class SealingMapper(MetadataMapper):
    """Seals the personal fields of events and snapshots at rest (see the module docstring)."""

    def __init__(self, transcoder: JSONTranscoder, personal_fields: PersonalFields) -> None:
        super().__init__(transcoder=transcoder)
        self.personal_fields = personal_fields

    def _seal(self, subject: Any, value: Any, key_class: str) -> str:
        text = self.transcoder.encode(value).decode()
        return personal_data.installed().seal(str(subject), text, key_class)

    def _open(self, sealed: str) -> tuple[bool, Any]:
        text = personal_data.installed().open(sealed)
        return (False, None) if text is None else (True, self.transcoder.decode(text.encode()))

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        rules = self.personal_fields.get(rules_key(domain_event), ())
        if not rules:
            return super().to_stored_event(domain_event)
        clear = vars(domain_event)
        sealed = seal_state(dict(clear), rules, self._seal)
        # The mapper reads the event's own attributes: store the sealed ones, then put the
        # clear ones back (the aggregate and the rest of the command keep using them).
        object.__setattr__(domain_event, "__dict__", sealed)
        try:
            return super().to_stored_event(domain_event)
        finally:
            meta = sealed.get("_meta")
            object.__setattr__(domain_event, "__dict__", clear)
            if meta is not None:
                clear["_meta"] = meta

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        rules = self.personal_fields.get(rules_key(domain_event), ())
        if rules:
            opened = open_state(vars(domain_event), rules, self._open)
            object.__setattr__(domain_event, "__dict__", opened)
        return domain_event


class ServiceApplication(Application):
    """Base class of every service's write-side application."""

    snapshotting_intervals: ClassVar[dict] = {}
    # Personal fields sealed at rest (see `SealingMapper`); {} for an application without any.
    personal_fields: ClassVar[PersonalFields] = {}

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # Called after every save in this process (see `messaging/doorbell.py`).
        self.save_listeners: list = []

    def _notify(self, recordings: list) -> None:
        super()._notify(recordings)
        if recordings:
            for listener in self.save_listeners:
                listener()

    def _record(self, processing_event: Any) -> list:
        # An `eventstore.append` span around the transaction: the mapper stores its context
        # with each event, so whatever consumes them continues this trace.
        events = processing_event.events
        attributes = {
            "eventstore.application": type(self).__name__,
            "eventstore.event_count": len(events),
            "event_type": sorted({type(e).__qualname__ for e in events}),
            "aggregate_version": [int(getattr(e, "originator_version", 0)) for e in events],
        }
        with tracer.start_as_current_span("eventstore.append", attributes=attributes):
            return super()._record(processing_event)

    def construct_mapper(self) -> Mapper:
        if self.personal_fields:
            return SealingMapper(self.construct_transcoder(), self.personal_fields)
        return MetadataMapper(transcoder=self.construct_transcoder())

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    @property
    def process_recorder(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder


ONE_TRIP_RECORDER = "shared.pg_recorder:OneTripProcessRecorder"


def eventstore_env(url: str, recorder: str = "native", **extra: str) -> dict[str, str]:
    """The `eventsourcing` environment for an event store at `url`."""
    parts = urlsplit(url)
    env: dict[str, str] = {}
    if parts.scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=path)
        env["SQLITE_LOCK_TIMEOUT"] = "10"
    elif parts.scheme.startswith("postgres"):
        if recorder == "sqlalchemy":
            sa_url = f"postgresql+psycopg://{parts.netloc}{parts.path}"
            env.update(PERSISTENCE_MODULE="eventsourcing_sqlalchemy", SQLALCHEMY_URL=sa_url)
        else:
            env.update(
                PERSISTENCE_MODULE="eventsourcing.postgres",
                POSTGRES_DBNAME=parts.path.lstrip("/"),
                POSTGRES_HOST=parts.hostname or "127.0.0.1",
                POSTGRES_PORT=str(parts.port or 5432),
                POSTGRES_USER=parts.username or "postgres",
                POSTGRES_PASSWORD=parts.password or "",
                # Opened eagerly by the pool: keep it small (a service runs several
                # processes; 19 of them share one PostgreSQL), growing on demand.
                POSTGRES_POOL_SIZE="2",
                POSTGRES_MAX_OVERFLOW="8",
                POSTGRES_LOCK_TIMEOUT="10",
                # A save in one round trip, the table lock ending on the server.
                PROCESS_RECORDER_TOPIC=ONE_TRIP_RECORDER,
            )
    else:
        raise ValueError(f"unsupported event-store URL scheme: {parts.scheme!r}")
    env.update(CREATE_TABLE="y", IS_SNAPSHOTTING_ENABLED="y")
    env.update(extra)
    return env
