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
import contextlib
import contextvars
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shared.sqldb import add_missing_columns, create_tables, make_engine, schema_setup_lock

PREFIX = "pii:v1:"
KEY_NAMESPACE = UUID("c3f1d0a4-5b7e-4c2a-9e61-0d8b7a2f4e93")

# Key classes: which of a person's keys a value is sealed under. A request to delete shreds
# `personal` at once; `servicing` (what an in-force certificate needs: name, address, date of
# birth, government ID) and `claims` (claims files, kept for the legal retention period) are
# kept, when an exemption applies, until the recorded date, then shredded by `sweep`.
PERSONAL, SERVICING, CLAIMS = "personal", "servicing", "claims"
KEY_CLASSES = (PERSONAL, SERVICING, CLAIMS)

_metadata = MetaData()
person_keys = Table(
    "person_keys",
    _metadata,
    Column("subject_id", String(36), primary_key=True),  # the key id (in sealed values)
    Column("key", LargeBinary, nullable=True),  # None once shredded
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("shredded_at", DateTime(timezone=True), nullable=True),
    Column("person_id", String(36), nullable=True, index=True),
    Column("key_class", String(20), nullable=True),
    Column("retain_until", DateTime(timezone=True), nullable=True),
    Column("exemption", String(400), nullable=True),
)


_SEALED_KEY_ID = re.compile(re.escape(PREFIX.encode()) + rb'([^:"\\\s]{1,64}):')


def sealed_key_ids(data: bytes) -> set[str]:
    """The key ids of the sealed values (`PREFIX<key id>:…`) inside serialized data."""
    return {kid.decode() for kid in _SEALED_KEY_ID.findall(data)}


def key_id(subject: UUID | str, key_class: str = PERSONAL) -> str:
    """The id of a person's key of one class: the person's own id for `personal` (so values
    sealed before key classes existed still open), a name-based UUID for the others."""
    if key_class not in KEY_CLASSES:
        raise ValueError(f"unknown key class {key_class!r}")
    if key_class == PERSONAL:
        return str(subject)
    return str(uuid5(KEY_NAMESPACE, f"{subject}/{key_class}"))


@dataclass(frozen=True)
class Retention:
    """An exemption from deletion: the key of `key_class` is kept until `until`."""

    key_class: str
    until: datetime
    reason: str


@dataclass(frozen=True)
class KeyState:
    key_id: str
    person_id: str
    key_class: str
    shredded: bool
    retain_until: datetime | None
    exemption: str | None


class Vault:
    """The key store. Another process's shred is seen within `cache_seconds`, this process's
    own at once.

    A key never changes once created, except to be shredded. So a cached key stays until the
    shred log says otherwise: at most once every `cache_seconds`, one query asks which keys
    were shredded since the last look (`shredded_at`), and those are dropped from the cache.
    (Each key used to be fetched again every `cache_seconds`: a replay of 1M events spent 12 %
    of its time on the key store, re-reading the keys of owners it met again.) A key found
    missing is asked for again after `cache_seconds`."""

    # Clocks of the processes writing `shredded_at` may differ a little: the shred log is read
    # from this far before the last look (reading a shred twice is harmless).
    SHRED_LOG_OVERLAP = timedelta(seconds=60)

    def __init__(self, engine: Engine, cache_seconds: float | None = None) -> None:
        self.engine = engine
        create_tables(_metadata, engine)
        with schema_setup_lock(engine.url.render_as_string(hide_password=False)):
            add_missing_columns(_metadata, engine)  # key stores from before key classes
        if cache_seconds is None:
            cache_seconds = float(os.environ.get("KEY_CACHE_SECONDS", "5"))
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, bytes | None]] = {}
        self._looked_at = (time.monotonic(), datetime.now(UTC))  # the shred log, last read

    # -- keys -----------------------------------------------------------------------------

    def _cached(self, kid: str) -> tuple[bool, bytes | None]:
        self._drop_shredded_if_due()
        hit = self._cache.get(kid)
        if hit is None:
            return False, None
        at, key = hit
        if key is None and time.monotonic() - at > self.cache_seconds:
            return False, None
        return True, key

    def _drop_shredded_if_due(self) -> None:
        """Read the shred log once `cache_seconds` have passed since the last read."""
        last_mono, last_wall = self._looked_at
        if time.monotonic() - last_mono <= self.cache_seconds:
            return
        self._looked_at = (time.monotonic(), datetime.now(UTC))
        if not self._cache:
            return
        since = last_wall - self.SHRED_LOG_OVERLAP
        with self.engine.connect() as connection:
            shredded = connection.execute(
                select(person_keys.c.subject_id).where(person_keys.c.shredded_at >= since)
            ).scalars()
            now = time.monotonic()
            for kid in shredded:
                if kid in self._cache:
                    self._cache[kid] = (now, None)

    def _key(self, kid: str, create: tuple[str, str] | None) -> bytes | None:
        """The key `kid`; `create` = (person id, key class) creates it when missing."""
        found, key = self._cached(kid)
        if found:
            return key
        with self.engine.begin() as connection:
            row = connection.execute(
                select(person_keys.c.key).where(person_keys.c.subject_id == kid)
            ).first()
            if row is None and create is not None:
                key = AESGCM.generate_key(bit_length=256)
                try:
                    connection.execute(
                        person_keys.insert().values(
                            subject_id=kid,
                            key=key,
                            created_at=datetime.now(UTC),
                            person_id=create[0],
                            key_class=create[1],
                        )
                    )
                except IntegrityError:  # created concurrently: use that one
                    return self._key(kid, create=None)
                self._cache[kid] = (time.monotonic(), key)
                return key
        if row is None:
            return None
        self._cache[kid] = (time.monotonic(), row.key)
        return row.key

    def prefetch(self, kids: Iterable[str]) -> None:
        """Read the keys of `kids` not cached yet in one query (before opening a batch of
        values: one round trip instead of one per new key). Keys not in the store are left
        for `_key` to look up (or create)."""
        wanted = {kid for kid in kids if not self._cached(kid)[0]}
        if not wanted:
            return
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(person_keys.c.subject_id, person_keys.c.key).where(
                    person_keys.c.subject_id.in_(sorted(wanted))
                )
            ).all()
        now = time.monotonic()
        for kid, key in rows:
            self._cache[kid] = (now, key)

    # -- sealing --------------------------------------------------------------------------

    def _encrypt(self, subject: UUID | str, data: bytes, key_class: str) -> tuple[str, bytes]:
        """(key id, nonce‖ciphertext) of `data` under the subject's key of `key_class`,
        created on first use. After that key was shredded, under a throw-away key instead:
        whatever arrives about an erased person is unreadable from the moment it is written."""
        subject = str(subject)
        kid = key_id(subject, key_class)
        key = self._key(kid, create=(subject, key_class))
        if key is None:
            key = AESGCM.generate_key(bit_length=256)  # never stored
        nonce = os.urandom(12)
        return kid, nonce + AESGCM(key).encrypt(nonce, data, kid.encode())

    def _decrypt(self, kid: str, raw: bytes) -> bytes | None:
        """The clear bytes, or None when the key is gone (or was a throw-away one)."""
        key = self._key(kid, create=None)
        if key is None:
            return None
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], kid.encode())
        except InvalidTag:
            return None

    def seal(self, subject: UUID | str, text: str, key_class: str = PERSONAL) -> str:
        """`text` encrypted under the subject's key of `key_class` (see `_encrypt`)."""
        kid, sealed = self._encrypt(subject, text.encode(), key_class)
        return f"{PREFIX}{kid}:{base64.b64encode(sealed).decode()}"

    def open(self, value: str | None) -> str | None:
        """The clear text, or None when the value is absent or its key has been shredded."""
        if not value:
            return None
        if not value.startswith(PREFIX):
            raise ValueError("not a sealed value")
        kid, _, payload = value.removeprefix(PREFIX).partition(":")
        clear = self._decrypt(kid, base64.b64decode(payload))
        return None if clear is None else clear.decode()

    def seal_bytes(self, subject: UUID | str, data: bytes, key_class: str = PERSONAL) -> bytes:
        """Binary content (a PDF) sealed like `seal`: `PREFIX<key id>:` then nonce‖ciphertext."""
        kid, sealed = self._encrypt(subject, data, key_class)
        return f"{PREFIX}{kid}:".encode() + sealed

    def open_bytes(self, data: bytes) -> bytes | None:
        """The content, or None when its key has been shredded."""
        prefix = PREFIX.encode()
        if not data.startswith(prefix):
            raise ValueError("not sealed content")
        kid, _, raw = data[len(prefix) :].partition(b":")
        return self._decrypt(kid.decode(), raw)

    def seal_json(self, subject: UUID | str, value: Any, key_class: str = PERSONAL) -> str:
        return self.seal(subject, json.dumps(value, separators=(",", ":")), key_class)

    def open_json(self, value: str) -> tuple[bool, Any]:
        """(True, value) when it opens, (False, None) when its key is gone."""
        text = self.open(value)
        return (False, None) if text is None else (True, json.loads(text))

    # -- erasure --------------------------------------------------------------------------

    def keys_of(self, person_ids: list[str]) -> list[KeyState]:
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(person_keys).where(
                    person_keys.c.person_id.in_(person_ids)
                    | person_keys.c.subject_id.in_(person_ids)
                )
            ).all()
        return [
            KeyState(
                key_id=r.subject_id,
                person_id=r.person_id or r.subject_id,
                key_class=r.key_class or PERSONAL,
                shredded=r.key is None,
                retain_until=_aware(r.retain_until),
                exemption=r.exemption,
            )
            for r in rows
        ]

    def erase(self, person_ids: list[str], retentions: list[Retention]) -> list[KeyState]:
        """Shred every key of these people except the classes a retention exempts, which are
        kept until their date (`sweep` shreds them then). Returns the keys as they now are."""
        kept = {r.key_class: r for r in retentions}
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            for state in self.keys_of(person_ids):
                if state.shredded:
                    continue
                retention = kept.get(state.key_class)
                if retention is None:
                    values: dict[str, Any] = {"key": None, "shredded_at": now}
                else:
                    values = {"retain_until": retention.until, "exemption": retention.reason}
                connection.execute(
                    update(person_keys)
                    .where(person_keys.c.subject_id == state.key_id)
                    .values(**values)
                )
                if retention is None:
                    self._cache[state.key_id] = (time.monotonic(), None)
        return self.keys_of(person_ids)

    def sweep(self, now: datetime | None = None) -> list[str]:
        """Shred the retained keys whose retention has ended; their ids."""
        now = now or datetime.now(UTC)
        with self.engine.begin() as connection:
            due = (
                connection.execute(
                    select(person_keys.c.subject_id).where(
                        person_keys.c.key.is_not(None),
                        person_keys.c.retain_until.is_not(None),
                        person_keys.c.retain_until <= now,
                    )
                )
                .scalars()
                .all()
            )
            for kid in due:
                connection.execute(
                    update(person_keys)
                    .where(person_keys.c.subject_id == kid)
                    .values(key=None, shredded_at=now)
                )
                self._cache[kid] = (time.monotonic(), None)
        return list(due)

    def due_retentions(self, now: datetime | None = None) -> list[KeyState]:
        """The retained keys whose retention has ended (what `sweep` would shred now)."""
        now = now or datetime.now(UTC)
        with self.engine.begin() as connection:
            kids = (
                connection.execute(
                    select(person_keys.c.subject_id).where(
                        person_keys.c.key.is_not(None),
                        person_keys.c.retain_until.is_not(None),
                        person_keys.c.retain_until <= now,
                    )
                )
                .scalars()
                .all()
            )
        return [k for k in self.keys_of(list(kids)) if k.key_id in set(kids)]

    def extend_retention(self, kid: str, until: datetime, reason: str | None = None) -> None:
        """Keep a retained key (by key id) until `until` (a review found the exemption still
        applies); `reason` replaces the recorded exemption when given. A shredded key stays
        shredded."""
        values: dict[str, Any] = {"retain_until": until}
        if reason is not None:
            values["exemption"] = reason
        with self.engine.begin() as connection:
            connection.execute(
                update(person_keys)
                .where(person_keys.c.subject_id == kid, person_keys.c.key.is_not(None))
                .values(**values)
            )

    def shred(self, subject: UUID | str) -> None:
        """Shred one key (by key id) at once."""
        kid = str(subject)
        with self.engine.begin() as connection:
            connection.execute(
                update(person_keys)
                .where(person_keys.c.subject_id == kid)
                .values(key=None, shredded_at=datetime.now(UTC))
            )
        self._cache[kid] = (time.monotonic(), None)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


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


class Blindfold:
    """A stand-in for the key store that opens nothing and creates no key: sealing gives a
    fixed placeholder. For readers that must not see personal data (the audit)."""

    def seal(self, subject: UUID | str, text: str, key_class: str = PERSONAL) -> str:
        return f"{PREFIX}{key_id(subject, key_class)}:c2VhbGVk"

    def open(self, value: str | None) -> str | None:
        return None

    def prefetch(self, kids: Iterable[str]) -> None:
        return None  # it reads no key

    def seal_bytes(self, subject: UUID | str, data: bytes, key_class: str = PERSONAL) -> bytes:
        return self.seal(subject, "", key_class).encode()

    def open_bytes(self, data: bytes) -> bytes | None:
        return None

    def seal_json(self, subject: UUID | str, value: Any, key_class: str = PERSONAL) -> str:
        return self.seal(subject, "", key_class)

    def open_json(self, value: str) -> tuple[bool, Any]:
        return False, None


_vaults: dict[str, Vault] = {}
_installed: Vault | None = None
_override: contextvars.ContextVar[Vault | Blindfold | None] = contextvars.ContextVar(
    "key_store_override", default=None
)


@contextlib.contextmanager
def using(vault: Vault | Blindfold) -> Iterator[None]:
    """Seal and open with `vault` instead of the installed key store, in this context."""
    token = _override.set(vault)
    try:
        yield
    finally:
        _override.reset(token)


def install(vault: Vault) -> Vault:
    """Make `vault` this process's key store for sealing contracts on the wire and events at
    rest (called once by the process's composition root)."""
    global _installed
    _installed = vault
    return vault


def installed() -> Vault:
    override = _override.get()
    if override is not None:
        return override  # type: ignore[return-value]
    if _installed is None:
        raise RuntimeError(
            "no key store installed in this process: its composition root must call "
            "shared.personal_data.install(vault_at(settings.database_url_for('keystore')))"
        )
    return _installed


def prefetch_keys_of(serialized: Iterable[bytes]) -> None:
    """Read, in one query, the keys of the sealed values in these serialized messages (a
    consumer's fetch, before parsing it), from the process's key store if it has one."""
    kids = {kid for data in serialized for kid in sealed_key_ids(data)}
    vault = _override.get() or _installed
    if kids and vault is not None:
        vault.prefetch(kids)


def vault_at(url: str) -> Vault:
    """One `Vault` per key-store URL in a process (its key cache is shared)."""

    if url not in _vaults:
        _vaults[url] = Vault(make_engine(url))
    return _vaults[url]
