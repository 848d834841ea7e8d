"""The documents database's plain-SQL side, next to its event store: `mail_outbox`
(`shared.mail`'s, for notification emails) and, in the distributed mode, `document_contents`
(`content.py`). Tracking positions are `eventsourcing` tracking records."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import StaticPool

from shared.sqldb import make_engine


def documents_engine(url: str | None = None) -> Engine:
    """The engine of the documents database; None = a private in-memory SQLite database
    (unit tests)."""
    if url is None:
        return create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    return make_engine(url)
