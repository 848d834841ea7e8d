"""The content store: PDF bytes by the SHA-256 of the clear PDF, sealed at rest, read by hash.

Every PDF is sealed (`Vault.seal_bytes`) with its owner's key before it is written: the key of
class `claims` for claims' documents (EOB, denial letter), `servicing` for the others
(`key_class_of`). What rests — a file or a table row — is `pii:v1:<key id>:` then the
ciphertext, so neither the owner's name nor anything else of the PDF can be read from it, and
shredding the owner's key of that class (a request to delete) makes it unreadable: `get`
answers None then. The hash stays the clear PDF's (the `content_hash` of DocumentGenerated),
so a document's content is still found, and checked, by it.

- `FileContentStore` (embedded): `<root>/<hash[:2]>/<hash>.pdf`, written to a temporary file in
  the same directory and renamed into place, so a reader never sees half a file.
- `SqlContentStore` (distributed): a `document_contents(hash PK, content)` table (bytea on
  PostgreSQL) in the documents database, so every documents process sees the same content.

`put` is idempotent (the same bytes have the same hash: a second put changes nothing while
the stored copy still opens), and is called before the events that name the hash are stored:
a failed transaction leaves at worst an unreferenced blob, never a document without content.
`get` checks the hash of what it opened; content stored before sealing existed (a clear PDF)
is still answered, and sealed by `seal_clear` (`upgrade.py`, at start-up). `delete` removes a
blob (the erasure of its owner's data).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol
from uuid import UUID

from sqlalchemy import Column, LargeBinary, MetaData, String, Table, delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.documents.errors import ContentMissing
from shared import personal_data
from shared.personal_data import CLAIMS, SERVICING
from shared.sqldb import create_tables, make_engine

CLAIMS_DOCUMENTS = frozenset({"eob", "denial_letter"})


def key_class_of(document_type: str) -> str:
    """The owner's key class a document's PDF is sealed under."""
    return CLAIMS if document_type in CLAIMS_DOCUMENTS else SERVICING


def key_shredded(owner: UUID | str, key_class: str) -> bool:
    """Whether `owner`'s key of `key_class` has been shredded (their content is erased)."""
    keys_of = getattr(personal_data.installed(), "keys_of", None)
    if keys_of is None:
        return False
    return any(k.shredded and k.key_class == key_class for k in keys_of([str(owner)]))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ContentStore(Protocol):
    def put(self, data: bytes, owner: UUID | str, key_class: str) -> str:
        """Store `data` sealed with `owner`'s key of `key_class`; answers the SHA-256 (hex)
        of the clear `data`. Idempotent."""

    def get(self, digest: str) -> bytes | None:
        """The clear bytes stored under `digest`; None once the key they were sealed with is
        shredded; `ContentMissing` if nothing is stored under it."""

    def delete(self, digest: str) -> bool:
        """Remove what is stored under `digest`; True if something was."""

    def seal_clear(self, digest: str, owner: UUID | str, key_class: str) -> bool:
        """Seal the content under `digest` if it was stored in clear (before sealing
        existed); True if it was."""


def _sealed(data: bytes) -> bool:
    return data.startswith(personal_data.PREFIX.encode())


def _opened(digest: str, stored: bytes) -> bytes | None:
    """The clear content of a stored blob (None: its key is shredded), checked by its hash."""
    if _sealed(stored):
        clear = personal_data.installed().open_bytes(stored)
        if clear is None:
            return None
    else:  # stored before PDFs were sealed
        clear = stored
    if content_hash(clear) != digest:
        raise ContentMissing(f"content {digest[:12]}… does not match its hash")
    return clear


def _still_readable(digest: str, stored: bytes) -> bool:
    """Whether a blob already stored can stay: sealed, and still opens to these bytes."""
    if not _sealed(stored):
        return False  # a clear copy from before sealing: replaced by a sealed one
    try:
        return _opened(digest, stored) is not None
    except ContentMissing:
        return False


def _seal(data: bytes, owner: UUID | str, key_class: str) -> bytes:
    return personal_data.installed().seal_bytes(str(owner), data, key_class)


def _valid(digest: str) -> bool:
    return len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)


class FileContentStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.pdf"

    def put(self, data: bytes, owner: UUID | str, key_class: str) -> str:
        digest = content_hash(data)
        path = self.path_of(digest)
        if path.exists() and _still_readable(digest, path.read_bytes()):
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(_seal(data, owner, key_class))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes | None:
        if not _valid(digest):
            raise ContentMissing("not a content hash")
        try:
            stored = self.path_of(digest).read_bytes()
        except FileNotFoundError:
            raise ContentMissing(f"no content {digest[:12]}…") from None
        return _opened(digest, stored)

    def delete(self, digest: str) -> bool:
        if not _valid(digest):
            return False
        path = self.path_of(digest)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def seal_clear(self, digest: str, owner: UUID | str, key_class: str) -> bool:
        path = self.path_of(digest)
        if not _valid(digest) or not path.exists():
            return False
        stored = path.read_bytes()
        if _sealed(stored) or content_hash(stored) != digest:
            return False
        self.put(stored, owner, key_class)
        return True


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

    def _stored(self, digest: str) -> bytes | None:
        with self.engine.connect() as connection:
            data = connection.scalar(
                select(document_contents.c.content).where(document_contents.c.hash == digest)
            )
        return None if data is None else bytes(data)

    def put(self, data: bytes, owner: UUID | str, key_class: str) -> str:
        digest = content_hash(data)
        stored = self._stored(digest)
        if stored is not None and _still_readable(digest, stored):
            return digest
        sealed = _seal(data, owner, key_class)
        table = document_contents
        if stored is not None:
            with self.engine.begin() as connection:
                connection.execute(
                    update(table).where(table.c.hash == digest).values(content=sealed)
                )
            return digest
        try:
            with self.engine.begin() as connection:
                connection.execute(table.insert().values(hash=digest, content=sealed))
        except IntegrityError:  # stored concurrently: the same bytes
            pass
        return digest

    def get(self, digest: str) -> bytes | None:
        stored = self._stored(digest)
        if stored is None:
            raise ContentMissing(f"no content {digest[:12]}…")
        return _opened(digest, stored)

    def delete(self, digest: str) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(document_contents).where(document_contents.c.hash == digest)
            )
        return bool(result.rowcount)

    def seal_clear(self, digest: str, owner: UUID | str, key_class: str) -> bool:
        stored = self._stored(digest)
        if stored is None or _sealed(stored) or content_hash(stored) != digest:
            return False
        self.put(stored, owner, key_class)
        return True


def content_store_for(url: str, var_dir: Path, engine: Engine | None = None) -> ContentStore:
    """Files under `var_dir/documents` for a SQLite (embedded) database; the
    `document_contents` table for PostgreSQL (distributed)."""
    if url.startswith("sqlite"):
        return FileContentStore(Path(var_dir) / "documents")
    return SqlContentStore(engine or make_engine(url))
