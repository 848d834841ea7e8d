"""The content store: PDF bytes by their SHA-256, written once, read by hash.

- `FileContentStore` (embedded): `<root>/<hash[:2]>/<hash>.pdf`, written to a temporary file in
  the same directory and renamed into place, so a reader never sees half a file.
- `SqlContentStore` (distributed): a `document_contents(hash PK, content)` table (bytea on
  PostgreSQL) in the documents database, so every documents process sees the same content.

`put` is idempotent (the same bytes have the same hash: a second put changes nothing), and is
called before the events that name the hash are stored: a failed transaction leaves at worst
an unreferenced blob, never a document without content. `get` checks the hash.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy import Column, LargeBinary, MetaData, String, Table, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.documents.errors import ContentMissing
from shared.sqldb import create_tables, make_engine


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ContentStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data`; answers its SHA-256 (hex). Idempotent."""

    def get(self, digest: str) -> bytes:
        """The bytes stored under `digest`; `ContentMissing` if none."""


def _checked(digest: str, data: bytes) -> bytes:
    if content_hash(data) != digest:
        raise ContentMissing(f"content {digest[:12]}… does not match its hash")
    return data


def _valid(digest: str) -> bool:
    return len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)


class FileContentStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.pdf"

    def put(self, data: bytes) -> str:
        digest = content_hash(data)
        path = self.path_of(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        if not _valid(digest):
            raise ContentMissing("not a content hash")
        try:
            return _checked(digest, self.path_of(digest).read_bytes())
        except FileNotFoundError:
            raise ContentMissing(f"no content {digest[:12]}…") from None


content_metadata = MetaData()
document_contents = Table(
    "document_contents",
    content_metadata,
    Column("hash", String(64), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)


class SqlContentStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(content_metadata, engine)

    def put(self, data: bytes) -> str:
        digest = content_hash(data)
        with self.engine.connect() as connection:
            exists = connection.scalar(
                select(document_contents.c.hash).where(document_contents.c.hash == digest)
            )
        if exists:
            return digest
        try:
            with self.engine.begin() as connection:
                connection.execute(document_contents.insert().values(hash=digest, content=data))
        except IntegrityError:  # stored concurrently: the same bytes
            pass
        return digest

    def get(self, digest: str) -> bytes:
        with self.engine.connect() as connection:
            data = connection.scalar(
                select(document_contents.c.content).where(document_contents.c.hash == digest)
            )
        if data is None:
            raise ContentMissing(f"no content {digest[:12]}…")
        return _checked(digest, bytes(data))


def content_store_for(url: str, var_dir: Path, engine: Engine | None = None) -> ContentStore:
    """Files under `var_dir/documents` for a SQLite (embedded) database; the
    `document_contents` table for PostgreSQL (distributed)."""
    if url.startswith("sqlite"):
        return FileContentStore(Path(var_dir) / "documents")
    return SqlContentStore(engine or make_engine(url))
