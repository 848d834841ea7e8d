"""Personal data that must not travel or rest in clear: sealed fields and keyed hashes.

- `Vault.seal(subject, text)` encrypts a field with the subject's (the person's) own AES-256-GCM
  key, kept in a key store (`person_keys` table: `var/keystore.sqlite` embedded, the `keystore`
  database distributed). The sealed form is `pii:v1:<subject>:<base64(nonce‖ciphertext)>`;
  the subject id is the associated data, so a sealed value cannot be moved to another person.
  Deleting the key (`shred`) makes every copy unreadable — in event stores, snapshots, read
  models and Kafka topics alike (crypto-shredding; see the privacy issue).
- `KeyedHash.digest(kind, value)` is an HMAC-SHA256 under a system secret: what travels instead
  of a government ID or a date of birth when another service only needs to *match* it.

Who may open sealed values: services with access to the key store (the portal, for the owner's
own screens). Kafka, logs and traces only ever see sealed values or digests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shared.sqldb import create_tables, make_engine

PREFIX = "pii:v1:"

_metadata = MetaData()
person_keys = Table(
    "person_keys",
    _metadata,
    Column("subject_id", String(36), primary_key=True),
    Column("key", LargeBinary, nullable=True),  # None once shredded
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("shredded_at", DateTime(timezone=True), nullable=True),
)


class Vault:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(_metadata, engine)
        self._cache: dict[str, bytes | None] = {}

    def _key(self, subject: str, create: bool) -> bytes | None:
        if subject in self._cache:
            return self._cache[subject]
        with self.engine.begin() as connection:
            row = connection.execute(
                select(person_keys.c.key, person_keys.c.shredded_at).where(
                    person_keys.c.subject_id == subject
                )
            ).first()
            if row is None and create:
                key = AESGCM.generate_key(bit_length=256)
                try:
                    connection.execute(
                        person_keys.insert().values(
                            subject_id=subject, key=key, created_at=datetime.now(UTC)
                        )
                    )
                except IntegrityError:  # created concurrently: use that one
                    return self._key(subject, create=False)
                self._cache[subject] = key
                return key
        key = row.key if row is not None else None
        if row is not None:
            self._cache[subject] = key
        return key

    def seal(self, subject: UUID | str, text: str) -> str:
        subject = str(subject)
        key = self._key(subject, create=True)
        if key is None:
            raise PermissionError(f"personal data of {subject} has been deleted")
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, text.encode(), subject.encode())
        return f"{PREFIX}{subject}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, value: str | None) -> str | None:
        """The clear text, or None when the value is absent or its key has been shredded."""
        if not value:
            return None
        if not value.startswith(PREFIX):
            raise ValueError("not a sealed value")
        subject, _, payload = value.removeprefix(PREFIX).partition(":")
        key = self._key(subject, create=False)
        if key is None:
            return None
        raw = base64.b64decode(payload)
        return AESGCM(key).decrypt(raw[:12], raw[12:], subject.encode()).decode()

    def shred(self, subject: UUID | str) -> None:
        subject = str(subject)
        with self.engine.begin() as connection:
            connection.execute(
                update(person_keys)
                .where(person_keys.c.subject_id == subject)
                .values(key=None, shredded_at=datetime.now(UTC))
            )
        self._cache[subject] = None


class KeyedHash:
    """HMAC-SHA256 of normalised personal values under a system secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the keyed-hash secret must be at least 32 bytes")
        self._secret = secret

    def digest(self, kind: str, value: str) -> str:
        normalised = normalise(kind, value)
        message = f"{kind}:{normalised}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def matches(self, kind: str, value: str, digest: str) -> bool:
        return hmac.compare_digest(self.digest(kind, value), digest)


def normalise(kind: str, value: str) -> str:
    if kind == "government_id":
        return "".join(ch for ch in value if ch.isdigit())
    return value.strip().lower()


def load_or_create_secret(path: Path) -> bytes:
    """A local secret file (0600) for the embedded mode and development."""
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret.hex())
    try:
        os.link(partial, path)  # atomic: the first process to create it wins
    except FileExistsError:
        pass
    finally:
        partial.unlink()
    return bytes.fromhex(path.read_text().strip())


_vaults: dict[str, Vault] = {}


def vault_at(url: str) -> Vault:
    """One `Vault` per key-store URL in a process (its key cache is shared)."""

    if url not in _vaults:
        _vaults[url] = Vault(make_engine(url))
    return _vaults[url]
