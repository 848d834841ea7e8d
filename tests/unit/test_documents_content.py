"""The content store by hash: files written atomically (embedded), a table (distributed)."""

import hashlib

import pytest

from services.documents.content import (
    ContentMissing,
    FileContentStore,
    SqlContentStore,
    content_store_for,
)
from services.documents.tables import documents_engine

PDF = b"%PDF-1.3 a document\n%%EOF"
DIGEST = hashlib.sha256(PDF).hexdigest()


def test_files_are_stored_by_hash_once(tmp_path) -> None:
    store = FileContentStore(tmp_path / "documents")
    assert store.put(PDF) == DIGEST
    path = tmp_path / "documents" / DIGEST[:2] / f"{DIGEST}.pdf"
    assert path.read_bytes() == PDF
    stamp = path.stat().st_mtime_ns
    # Idempotent: the same bytes again change nothing; no temporary file is left behind.
    assert store.put(PDF) == DIGEST
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert store.get(DIGEST) == PDF


def test_a_missing_or_damaged_file_is_not_answered(tmp_path) -> None:
    store = FileContentStore(tmp_path)
    with pytest.raises(ContentMissing):
        store.get(DIGEST)
    with pytest.raises(ContentMissing):
        store.get("../../etc/passwd")
    store.put(PDF)
    store.path_of(DIGEST).write_bytes(b"tampered")
    with pytest.raises(ContentMissing):
        store.get(DIGEST)


def test_the_table_stores_content_by_hash_once() -> None:
    engine = documents_engine()
    store = SqlContentStore(engine)
    assert store.put(PDF) == DIGEST
    assert store.put(PDF) == DIGEST
    assert store.get(DIGEST) == PDF
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM document_contents").scalar() == 1
    with pytest.raises(ContentMissing):
        store.get("0" * 64)


def test_the_store_is_chosen_by_the_database_url(tmp_path) -> None:
    files = content_store_for(f"sqlite:///{tmp_path}/documents.sqlite", tmp_path)
    assert isinstance(files, FileContentStore) and files.root == tmp_path / "documents"
    table = content_store_for("postgresql://u@h/documents", tmp_path, documents_engine())
    assert isinstance(table, SqlContentStore)
