"""Process settings, read from the environment (prefix-free, twelve-factor style).

One `Settings` object is built by each composition root and passed down; nothing else reads
the environment.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything a process needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    mode: Literal["embedded", "distributed"] = Field("embedded", alias="PORTAL_MODE")
    var_dir: Path = Field(REPO_ROOT / "var", alias="PORTAL_VAR_DIR")
    # Base URL of the PostgreSQL cluster; each service uses its own database on it.
    database_url: str | None = Field(None, alias="DATABASE_URL")
    kafka_bootstrap_servers: str = Field("127.0.0.1:19092", alias="KAFKA_BOOTSTRAP_SERVERS")
    # "native" = eventsourcing.postgres (faster: `make bench` measured 1.0-1.6x over
    # eventsourcing-sqlalchemy on this machine; the tables of the two are not compatible);
    # "sqlalchemy" = eventsourcing-sqlalchemy.
    eventstore_recorder: Literal["native", "sqlalchemy"] = Field(
        "native", alias="EVENTSTORE_RECORDER"
    )
    # Run "as of" a date (demo, tests). None = today.
    as_of: date | None = Field(None, alias="PORTAL_AS_OF")
    host: str = Field("127.0.0.1", alias="PORTAL_HOST")
    port: int = Field(8000, alias="PORTAL_PORT")
    # The HTTP port of one service process in the distributed mode (deploy/up.sh sets it).
    service_port: int | None = Field(None, alias="SERVICE_PORT")
    # Topic-name prefix, so tests can run isolated on one broker.
    topic_prefix: str = Field("", alias="TOPIC_PREFIX")
    # Appended to every service's database name, so tests can run isolated on one cluster.
    database_suffix: str = Field("", alias="DATABASE_SUFFIX")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    # Where the portal sends owner commands in the distributed mode.
    policy_url: str = Field("http://127.0.0.1:8101", alias="POLICY_URL")
    identity_url: str = Field("http://127.0.0.1:8103", alias="IDENTITY_URL")
    documents_url: str = Field("http://127.0.0.1:8104", alias="DOCUMENTS_URL")
    # HMAC secret (hex, >= 32 bytes) for matching personal values across services; when unset,
    # a per-installation secret is created under var/secrets (embedded mode, development).
    pii_hmac_secret: str | None = Field(None, alias="PII_HMAC_SECRET")

    def sqlite_path(self, name: str) -> Path:
        return self.var_dir / f"{name}.sqlite"

    def database_url_for(self, name: str) -> str:
        """The SQLAlchemy-style URL of one service's own database."""
        if self.mode == "embedded" or not self.database_url:
            return f"sqlite:///{self.sqlite_path(name)}"
        base, _, _ = self.database_url.rpartition("/")
        return f"{base}/{name}{self.database_suffix}"

    def keyed_hash_secret(self) -> bytes:
        from shared.personal_data import load_or_create_secret

        if self.pii_hmac_secret:
            return bytes.fromhex(self.pii_hmac_secret)
        return load_or_create_secret(self.var_dir / "secrets" / "pii-hmac.key")

    def derived_secret(self, purpose: str) -> bytes:
        """A secret for one purpose (e.g. the portal's CSRF tokens), derived from the
        installation's HMAC secret so every process of the installation agrees on it."""
        import hashlib
        import hmac

        return hmac.new(self.keyed_hash_secret(), purpose.encode(), hashlib.sha256).digest()

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
