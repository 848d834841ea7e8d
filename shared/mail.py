"""Email that is never lost and never sent twice once recorded as sent: a mail outbox table,
a dispatcher that sends from it over SMTP with retries, and a demo mailbox for `make run`.

- A service writes the message to `mail_outbox` (in its own database) right after the
  command's events are stored, with a `dedup_key` (e.g. `<aggregate id>:<version>`), so a
  retried command does not queue the same mail twice.
- `MailDispatcher` claims due rows with a lease (so two dispatchers never send the same row at
  once), sends them with `smtplib` in a thread, and records each attempt: on success the sent
  time (the body is then erased: one-time codes do not rest in clear once delivered; on
  SQLite the old bytes are zeroed and the write-ahead log emptied, `_forget_blanked`), on
  failure the error class and a next attempt time with exponential backoff; after
  `max_attempts`, or a permanent 5xx refusal, it gives up and says so in the row.
  A crash between the SMTP server's acceptance and the recording of `sent_at` re-sends after
  the lease (at least once); the `Message-ID` is derived from the dedup key, so the copy is
  recognisable. A row recorded as sent is never selected again.
- `on_outcome` (optional): called with a `MailOutcome` once a row is final — sent, or given
  up — so the service that queued it can record the outcome on its own aggregates (the
  documents service records NotificationSent / NotificationFailed). A failing hook is logged
  and does not undo the send; `MailOutbox.finished_since` lets its owner catch up later.
- `MailOutbox.purge(keys)` blanks the recipient, subject and body of rows (a request to
  delete the recipient's personal data); rows not yet sent are given up, never sent.
- `DemoMailbox` is an aiosmtpd server that writes each message as an `.eml` file into a
  directory (`var/mail/` in the embedded demo).

Settings (environment): `SMTP_HOST` (127.0.0.1), `SMTP_PORT` (8025), `MAIL_FROM`
(no-reply@harborview.example), `SMTP_TIMEOUT` (seconds, 10).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path
from uuid import uuid4

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shared.sqldb import create_tables, truncate_wal

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ERASED = "erased"  # `last_error` of a row given up because its recipient's data was erased


def utc_now() -> datetime:
    return datetime.now(UTC)


class MailSettings(BaseSettings):
    """Where mail goes. Read by composition roots only (like `shared.settings.Settings`)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    smtp_host: str = Field("127.0.0.1", alias="SMTP_HOST")
    smtp_port: int = Field(8025, alias="SMTP_PORT")
    mail_from: str = Field("no-reply@harborview.example", alias="MAIL_FROM")
    smtp_timeout: float = Field(10.0, alias="SMTP_TIMEOUT")


mail_metadata = MetaData()
mail_outbox = Table(
    "mail_outbox",
    mail_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=True),  # erased once sent
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_attempt_at", DateTime(timezone=True), nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("gave_up_at", DateTime(timezone=True), nullable=True),
    Index("ix_mail_outbox_due", "sent_at", "gave_up_at", "next_attempt_at"),
)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class Mail:
    id: int
    dedup_key: str
    recipient: str
    subject: str
    body: str | None
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    gave_up_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, row) -> Mail:
        return cls(
            id=row.id,
            dedup_key=row.dedup_key,
            recipient=row.recipient,
            subject=row.subject,
            body=row.body,
            attempts=row.attempts,
            next_attempt_at=_aware(row.next_attempt_at),  # type: ignore[arg-type]
            sent_at=_aware(row.sent_at),
            gave_up_at=_aware(row.gave_up_at),
            last_error=row.last_error,
        )


@dataclass(frozen=True)
class MailOutcome:
    """What finally became of one queued mail: sent, or given up after its last attempt."""

    mail_id: int
    dedup_key: str
    sent: bool
    attempts: int
    at: datetime
    error: str | None = None


OutcomeHook = Callable[[MailOutcome], None]


class MailOutbox:
    """The `mail_outbox` table of one service's database."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        create_tables(mail_metadata, engine)

    def enqueue(self, *, dedup_key: str, recipient: str, subject: str, body: str) -> bool:
        """Queue a message; False if a message with that key is already queued (or sent)."""
        now = self.clock()
        row = {
            "dedup_key": dedup_key,
            "recipient": recipient,
            "subject": subject,
            "body": body,
            "created_at": now,
            "attempts": 0,
            "next_attempt_at": now,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(mail_outbox.insert().values(**row))
        except IntegrityError:
            return False
        return True

    def all(self) -> list[Mail]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(mail_outbox).order_by(mail_outbox.c.id))
            return [Mail.of(row) for row in rows]

    def find(self, dedup_keys: list[str]) -> list[Mail]:
        """The rows queued under these keys (missing keys are left out)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(mail_outbox)
                .where(mail_outbox.c.dedup_key.in_(dedup_keys))
                .order_by(mail_outbox.c.id)
            )
            return [Mail.of(row) for row in rows]

    def finished_since(self, since: datetime, key_prefix: str = "") -> list[Mail]:
        """Rows sent or given up at or after `since` whose key starts with `key_prefix`."""
        t = mail_outbox
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(t)
                .where(
                    t.c.dedup_key.startswith(key_prefix, autoescape=True),
                    (t.c.sent_at >= since) | (t.c.gave_up_at >= since),
                )
                .order_by(t.c.id)
            )
            return [Mail.of(row) for row in rows]

    def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Mail]:
        """Due, unsent rows, each leased (its next attempt moved past the lease) to the caller."""
        t = mail_outbox
        claimed = []
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(t)
                .where(t.c.sent_at.is_(None), t.c.gave_up_at.is_(None), t.c.next_attempt_at <= now)
                .order_by(t.c.id)
                .limit(limit)
            ).all()
            for row in rows:
                result = connection.execute(
                    t.update()
                    .where(
                        t.c.id == row.id,
                        t.c.sent_at.is_(None),
                        t.c.next_attempt_at == row.next_attempt_at,
                    )
                    .values(next_attempt_at=now + lease)
                )
                if result.rowcount == 1:
                    claimed.append(Mail.of(row))
        return claimed

    def record_sent(self, mail_id: int, now: datetime) -> None:
        t = mail_outbox
        with self.engine.begin() as connection:
            connection.execute(
                t.update()
                .where(t.c.id == mail_id, t.c.sent_at.is_(None))
                .values(
                    sent_at=now,
                    body=None,
                    attempts=t.c.attempts + 1,
                    last_attempt_at=now,
                    last_error=None,
                )
            )
        self._forget_blanked()

    def purge(self, dedup_keys: list[str]) -> int:
        """Erase what these rows say of their recipient (a request to delete): the address,
        subject and body are blanked, and a row not yet sent is given up (it is never sent).
        The keys, counts and times stay (they name no one). Idempotent; answers how many
        rows still held something to erase."""
        if not dedup_keys:
            return 0
        t = mail_outbox
        now = self.clock()
        with self.engine.begin() as connection:
            connection.execute(
                t.update()
                .where(
                    t.c.dedup_key.in_(dedup_keys),
                    t.c.sent_at.is_(None),
                    t.c.gave_up_at.is_(None),
                )
                .values(gave_up_at=now, last_error=ERASED)
            )
            result = connection.execute(
                t.update()
                .where(
                    t.c.dedup_key.in_(dedup_keys),
                    (t.c.recipient != "") | (t.c.subject != "") | t.c.body.is_not(None),
                )
                .values(recipient="", subject="", body=None)
            )
        self._forget_blanked()
        return result.rowcount or 0

    def _forget_blanked(self) -> None:
        """A blanked body (and its one-time code) must not stay readable in the database
        file's free space or its write-ahead log: SQLite zeroes it (`secure_delete`, set on
        every connection by `make_engine`) and the log is emptied here."""
        if not truncate_wal(self.engine):
            log.info("mail outbox: the write-ahead log is busy; its old frames go later")

    def record_failure(
        self, mail_id: int, now: datetime, error: str, retry_at: datetime | None
    ) -> None:
        """One failed attempt; `retry_at` None means give up."""
        t = mail_outbox
        values: dict = {
            "attempts": t.c.attempts + 1,
            "last_attempt_at": now,
            "last_error": error[:200],
        }
        if retry_at is None:
            values["gave_up_at"] = now
        else:
            values["next_attempt_at"] = retry_at
        with self.engine.begin() as connection:
            connection.execute(
                t.update().where(t.c.id == mail_id, t.c.sent_at.is_(None)).values(**values)
            )


class SmtpSender:
    """Sends one message per SMTP connection (blocking: call it in a thread)."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: MailSettings) -> SmtpSender:
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_timeout)

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


def _describe(exc: BaseException) -> tuple[str, bool]:
    """A description without the server's text (it may echo addresses), and whether final."""
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        return f"{type(exc).__name__} {codes}", all(c >= 500 for c in codes)
    if code is not None:
        return f"{type(exc).__name__} {code}", code >= 500
    return type(exc).__name__, False


class MailDispatcher:
    """Sends due mail from an outbox, with exponential backoff between attempts."""

    def __init__(
        self,
        outbox: MailOutbox,
        sender: SmtpSender,
        mail_from: str,
        *,
        clock: Clock = utc_now,
        max_attempts: int = 10,
        base_delay: timedelta = timedelta(seconds=10),
        max_delay: timedelta = timedelta(hours=1),
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 20,
        on_outcome: OutcomeHook | None = None,
    ) -> None:
        self.outbox = outbox
        self.sender = sender
        self.mail_from = mail_from
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = lease
        self.batch_size = batch_size
        self.on_outcome = on_outcome

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failure: 10 s, 20 s, 40 s, … up to `max_delay`."""
        return min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay)

    def compose(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = mail.recipient
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(self.clock())
        domain = self.mail_from.rpartition("@")[2] or "localhost"
        key = hashlib.sha256(mail.dedup_key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{key}@{domain}>"
        message.set_content(mail.body or "")
        return message

    async def run_once(self) -> int:
        """Send what is due; answers how many were sent."""
        mails = await asyncio.to_thread(
            self.outbox.claim_due, self.clock(), self.lease, self.batch_size
        )
        sent = 0
        for mail in mails:
            try:
                await asyncio.to_thread(self.sender.send, self.compose(mail))
            except (smtplib.SMTPException, OSError) as exc:
                await self._failed(mail, exc)
                continue
            now = self.clock()
            await asyncio.to_thread(self.outbox.record_sent, mail.id, now)
            log.info("mail %s sent", mail.id)
            sent += 1
            await self._report(MailOutcome(mail.id, mail.dedup_key, True, mail.attempts + 1, now))
        return sent

    async def _report(self, outcome: MailOutcome) -> None:
        if self.on_outcome is None:
            return
        try:
            await asyncio.to_thread(self.on_outcome, outcome)
        except Exception:  # the mail's own state is recorded; the hook's owner catches up
            log.exception("mail %s: the outcome hook failed", outcome.mail_id)

    async def _failed(self, mail: Mail, exc: BaseException) -> None:
        error, permanent = _describe(exc)
        attempts = mail.attempts + 1
        now = self.clock()
        retry_at = (
            None if permanent or attempts >= self.max_attempts else now + self.backoff(attempts)
        )
        await asyncio.to_thread(self.outbox.record_failure, mail.id, now, error, retry_at)
        if retry_at is None:
            log.error("mail %s: giving up after %s attempts (%s)", mail.id, attempts, error)
            await self._report(MailOutcome(mail.id, mail.dedup_key, False, attempts, now, error))
        else:
            log.warning(
                "mail %s: attempt %s failed (%s); next at %s", mail.id, attempts, error, retry_at
            )

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except Exception:  # the database is away: try again later
                log.exception("mail dispatcher: could not read the outbox; retrying")
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_seconds)


class _WriteToDirectory:
    """aiosmtpd handler: each accepted message becomes `<time>-<random>.eml`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server, session, envelope) -> str:
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid4().hex[:8]}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.replace(self.directory / name)  # readers never see half a message
        return "250 Message accepted for delivery"


class DemoMailbox:
    """A local SMTP server that keeps every message as an `.eml` file in `directory`."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self._controller = None

    @classmethod
    def from_settings(cls, settings: MailSettings, directory: Path) -> DemoMailbox:
        return cls(directory, settings.smtp_host, settings.smtp_port)

    def start(self) -> DemoMailbox:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per connection

        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(
            _WriteToDirectory(self.directory), hostname=self.host, port=self.port
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> DemoMailbox:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        """The messages received so far, oldest first."""
        parser = BytesParser(policy=policy.default)
        return [
            parser.parsebytes(path.read_bytes())  # type: ignore[misc]
            for path in sorted(self.directory.glob("*.eml"))
        ]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for test servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
