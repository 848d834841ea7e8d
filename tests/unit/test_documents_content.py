"""The content store by hash: sealed with the owner's key at rest, files written atomically
(embedded), a table (distributed); unreadable once the key is shredded, deletable."""

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.documents.application import DocumentsApplication
from services.documents.content import (
    ContentMissing,
    FileContentStore,
    SqlContentStore,
    content_store_for,
    key_class_of,
    key_shredded,
)
from services.documents.tables import documents_engine
from services.documents.upgrade import seal_clear_contents
from shared import personal_data
from shared.personal_data import CLAIMS, SERVICING, Retention, Vault, key_id
from shared.sqldb import make_engine
from tests.unit.test_documents_support import AVERY, FakeClock, Upstream, documents

PDF = b"%PDF-1.3 a document for Quinella Marchetti\n%%EOF"
DIGEST = hashlib.sha256(PDF).hexdigest()
OWNER = uuid4()


@pytest.fixture(autouse=True)
def vault(tmp_path) -> Iterator[Vault]:
    own = Vault(make_engine(f"sqlite:///{tmp_path}/keys.sqlite"), cache_seconds=0)
    with personal_data.using(own):
        yield own


def test_files_are_stored_sealed_by_the_hash_of_the_clear_pdf_once(tmp_path) -> None:
    store = FileContentStore(tmp_path / "documents")
    assert store.put(PDF, OWNER, SERVICING) == DIGEST
    path = tmp_path / "documents" / DIGEST[:2] / f"{DIGEST}.pdf"
    stored = path.read_bytes()
    assert stored.startswith(f"pii:v1:{key_id(OWNER, SERVICING)}:".encode())
    assert b"Quinella" not in stored and b"%PDF" not in stored
    stamp = path.stat().st_mtime_ns
    # Idempotent: the same bytes again change nothing; no temporary file is left behind.
    assert store.put(PDF, OWNER, SERVICING) == DIGEST
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert store.get(DIGEST) == PDF


def test_a_missing_or_damaged_file_is_not_answered(tmp_path) -> None:
    store = FileContentStore(tmp_path)
    with pytest.raises(ContentMissing):
        store.get(DIGEST)
    with pytest.raises(ContentMissing):
        store.get("../../etc/passwd")
    store.put(PDF, OWNER, SERVICING)
    store.path_of(DIGEST).write_bytes(b"tampered")
    with pytest.raises(ContentMissing):
        store.get(DIGEST)


def test_a_clear_pdf_stored_before_sealing_is_still_read_then_sealed_on_put(tmp_path) -> None:
    store = FileContentStore(tmp_path)
    store.path_of(DIGEST).parent.mkdir(parents=True)
    store.path_of(DIGEST).write_bytes(PDF)
    assert store.get(DIGEST) == PDF
    store.put(PDF, OWNER, SERVICING)
    assert store.path_of(DIGEST).read_bytes().startswith(b"pii:v1:")
    assert store.get(DIGEST) == PDF


@pytest.mark.parametrize("kind", ["files", "table"])
def test_once_the_key_is_shredded_the_content_reads_none(tmp_path, vault, kind) -> None:
    store = FileContentStore(tmp_path) if kind == "files" else SqlContentStore(documents_engine())
    store.put(PDF, OWNER, CLAIMS)
    other = PDF + b" another"
    store.put(other, OWNER, SERVICING)
    assert not key_shredded(OWNER, CLAIMS)
    until = datetime.now(UTC) + timedelta(days=365)
    vault.erase([str(OWNER)], [Retention(SERVICING, until, "in force")])
    assert key_shredded(OWNER, CLAIMS) and not key_shredded(OWNER, SERVICING)
    assert store.get(DIGEST) is None
    assert store.get(hashlib.sha256(other).hexdigest()) == other  # retained: still readable
    # Deleting is idempotent; a deleted blob is missing.
    assert store.delete(DIGEST) is True
    assert store.delete(DIGEST) is False
    with pytest.raises(ContentMissing):
        store.get(DIGEST)


def test_the_table_stores_sealed_content_by_hash_once() -> None:
    engine = documents_engine()
    store = SqlContentStore(engine)
    assert store.put(PDF, OWNER, SERVICING) == DIGEST
    assert store.put(PDF, OWNER, SERVICING) == DIGEST
    assert store.get(DIGEST) == PDF
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM document_contents").scalar() == 1
        [stored] = connection.exec_driver_sql("SELECT content FROM document_contents").scalars()
    assert bytes(stored).startswith(b"pii:v1:") and b"Quinella" not in bytes(stored)
    with pytest.raises(ContentMissing):
        store.get("0" * 64)


def test_claims_documents_are_sealed_under_the_claims_key() -> None:
    assert key_class_of("eob") == key_class_of("denial_letter") == CLAIMS
    assert {key_class_of(t) for t in ("certificate", "bill", "notice", "letter")} == {SERVICING}


def test_the_store_is_chosen_by_the_database_url(tmp_path) -> None:
    files = content_store_for(f"sqlite:///{tmp_path}/documents.sqlite", tmp_path)
    assert isinstance(files, FileContentStore) and files.root == tmp_path / "documents"
    table = content_store_for("postgresql://u@h/documents", tmp_path, documents_engine())
    assert isinstance(table, SqlContentStore)


async def test_pdfs_stored_in_clear_by_an_older_version_are_sealed_at_start_up(tmp_path) -> None:
    store = FileContentStore(tmp_path)
    app = DocumentsApplication(clock=FakeClock(), content_store=store)
    await Upstream(app).issue(AVERY)
    [certificate] = documents(app)
    clear = store.get(certificate.content_hash)
    store.path_of(certificate.content_hash).write_bytes(clear)  # as an older version wrote it
    assert seal_clear_contents(app) == 1
    stored = store.path_of(certificate.content_hash).read_bytes()
    assert stored.startswith(f"pii:v1:{key_id(AVERY.party_id, SERVICING)}:".encode())
    assert store.get(certificate.content_hash) == clear
    assert seal_clear_contents(app) == 0  # once: the position is kept
