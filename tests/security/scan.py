"""Where personal data could leak, collected as text, and the search for the needles.

Sources: every log record (formatted with its arguments, exception and extra attributes),
every finished span (name, attributes, events, links, status, resource), every integration
event as it would be sent to Kafka (the outboxes' records: value, key and headers), the
dead-letter table, and every file under the var dir — SQLite databases dumped (`iterdump`,
plus each BLOB decoded as text: the event stores keep their state as JSON blobs), PDFs with
their text extracted, anything else as bytes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan

from tests.security.needles import Needle, spellings

_STANDARD_RECORD_KEYS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


@dataclass(frozen=True)
class Text:
    """One piece of scanned text and where it came from."""

    where: str
    text: str


@dataclass(frozen=True)
class Hit:
    needle: Needle
    where: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.needle.label} in {self.where}: …{self.excerpt}…"


class RecordEverything(logging.Handler):
    """Keeps every record, formatted the way a log line would be (arguments, exception,
    stack and any `extra` attributes)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []  # (logger name, line)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception as exc:  # a broken format string is a finding too, not a crash
            line = f"{record.name} {record.msg!r} {record.args!r} (unformattable: {exc})"
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_RECORD_KEYS}
        if extras:
            line += f" extra={extras!r}"
        if record.args:
            line += f" args={record.args!r}"
        self.lines.append((record.name, line))


@dataclass
class CapturedLogs:
    """The root logger at DEBUG with `RecordEverything` on it; every logger a library pinned
    higher (SQLAlchemy pins `sqlalchemy` to WARNING, so SQL and its parameters) is opened to
    DEBUG as well while the block runs."""

    handler: RecordEverything = field(default_factory=RecordEverything)
    _levels: dict[str, int] = field(default_factory=dict)

    def __enter__(self) -> CapturedLogs:
        root = logging.getLogger()
        self._levels = {"": root.level}
        for name, logger in list(logging.root.manager.loggerDict.items()):
            if isinstance(logger, logging.Logger) and logger.level > logging.DEBUG:
                self._levels[name] = logger.level
                logger.setLevel(logging.DEBUG)
        root.addHandler(self.handler)
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *_: object) -> None:
        logging.getLogger().removeHandler(self.handler)
        for name, level in self._levels.items():
            logging.getLogger(name or None).setLevel(level)

    def texts(self, leave_out: tuple[str, ...] = ()) -> Iterator[Text]:
        """The lines, but those of loggers named in `leave_out` (and their children)."""
        for n, (name, line) in enumerate(self.handler.lines):
            if not any(name == x or name.startswith(x + ".") for x in leave_out):
                yield Text(f"log line {n} ({name})", line)


def span_texts(spans: Iterable[ReadableSpan]) -> Iterator[Text]:
    for span in spans:
        where = f"span {span.name!r}"
        parts = [span.name, repr(dict(span.attributes or {}))]
        parts += [f"{e.name} {dict(e.attributes or {})!r}" for e in span.events]
        parts += [repr(dict(link.attributes or {})) for link in span.links]
        if span.status.description:
            parts.append(span.status.description)
        parts.append(repr(dict(span.resource.attributes)))
        yield Text(where, "\n".join(parts))


def outbox_texts(outboxes: dict) -> Iterator[Text]:
    """Every record each outbox would publish, from the start of its log."""
    for topic, outbox in outboxes.items():
        after = 0
        while True:
            records, last = outbox.read(after)
            for record in records:
                headers = " ".join(f"{k}={v!r}" for k, v in record.headers)
                yield Text(
                    f"Kafka message {topic}@{record.position}",
                    f"{record.key}\n{headers}\n{record.value.decode('utf-8', 'replace')}",
                )
            if last <= after:
                break
            after = last


def blob_text(data: bytes) -> str:
    """Bytes as text: PDFs by their extracted text (and raw), zlib data inflated."""
    texts = [data.decode("utf-8", "replace")]
    if data.startswith(b"%PDF"):
        texts.append(pdf_text(data))
    elif data[:1] == b"\x78":
        with contextlib.suppress(zlib.error):
            texts.append(zlib.decompress(data).decode("utf-8", "replace"))
    return "\n".join(texts)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as exc:  # not readable as a PDF: the raw bytes were scanned anyway
        return f"(unreadable PDF: {type(exc).__name__})"


def sqlite_texts(path: Path) -> Iterator[Text]:
    """The database as `iterdump` writes it, then each BLOB cell decoded."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield Text(f"dump of {path.name}", "\n".join(connection.iterdump()))
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            for n, row in enumerate(connection.execute(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes):
                        yield Text(f"{path.name} table {table} row {n}", blob_text(value))
    finally:
        connection.close()


def var_dir_texts(var_dir: Path) -> Iterator[Text]:
    """Every file under the var dir: SQLite databases dumped (and their BLOBs decoded), any
    other file as text (PDFs by their text too)."""
    for path in sorted(var_dir.rglob("*")):
        if not path.is_file() or path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        data = path.read_bytes()
        if data.startswith(b"SQLite format 3"):
            yield from sqlite_texts(path)
        else:
            yield Text(f"file {path.relative_to(var_dir)}", blob_text(data))


def raw_database_texts(var_dir: Path) -> Iterator[Text]:
    """The SQLite files byte for byte, write-ahead logs included: what a row deleted or
    blanked leaves behind in free pages and old log frames, which no dump shows."""
    for path in sorted(var_dir.rglob("*")):
        if path.is_file() and (
            path.name.endswith(("-wal", "-journal")) or path.read_bytes()[:15] == b"SQLite format 3"
        ):
            yield Text(
                f"raw bytes of {path.relative_to(var_dir)}", path.read_bytes().decode("latin-1")
            )


def find(needles: Iterable[Needle], texts: Iterable[Text]) -> list[Hit]:
    """Every occurrence (case-insensitive, any spelling) of a needle in the texts."""
    wanted = [(needle, spellings(needle.value)) for needle in needles]
    hits: list[Hit] = []
    for text in texts:
        lowered = text.text.lower()
        for needle, forms in wanted:
            if text.where.startswith(needle.allowed_in or ("\0",)):
                continue
            for form in forms:
                at = lowered.find(form)
                if at >= 0:
                    excerpt = text.text[max(0, at - 60) : at + len(form) + 60]
                    hits.append(Hit(needle, text.where, " ".join(excerpt.split())))
                    break
    return hits


def report(hits: list[Hit], limit: int = 60) -> str:
    lines = [str(hit) for hit in hits[:limit]]
    if len(hits) > limit:
        lines.append(f"… and {len(hits) - limit} more")
    return "\n".join(lines)
