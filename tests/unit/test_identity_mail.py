"""The mail outbox and its dispatcher against real in-process SMTP servers (aiosmtpd): retried
with backoff while the server refuses, sent once, never again once recorded as sent."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from services.identity.tables import identity_engine
from shared.mail import DemoMailbox, MailDispatcher, MailOutbox, SmtpSender, free_port
from tests.unit.test_identity_support import FakeClock


class FlakyServer:
    """Answers 451 (try again later) to the first `failures` messages, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.attempts += 1
        if self.attempts <= self.failures:
            return "451 4.3.0 Try again later"
        self.accepted.append(envelope.content)
        return "250 OK"


class RefusingServer:
    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        return "550 5.1.1 No such mailbox"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(clock: FakeClock) -> MailOutbox:
    return MailOutbox(identity_engine(), clock)


@contextmanager
def serve(handler) -> Iterator[Controller]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def dispatcher_for(outbox: MailOutbox, port: int, clock: FakeClock, **kw) -> MailDispatcher:
    sender = SmtpSender("127.0.0.1", port, timeout=5)
    return MailDispatcher(outbox, sender, "no-reply@harborview.example", clock=clock, **kw)


def queue(outbox: MailOutbox, key: str = "k1") -> bool:
    return outbox.enqueue(
        dedup_key=key, recipient="avery@example.com", subject="Hello", body="Your code: 12345678"
    )


async def test_a_refused_mail_is_retried_later_and_sent_once(outbox, clock) -> None:
    flaky = FlakyServer(failures=2)
    with serve(flaky) as controller:
        dispatch = dispatcher_for(outbox, controller.port, clock)
        queue(outbox)

        # First attempt: the server says "try again later".
        assert await dispatch.run_once() == 0
        [mail] = outbox.all()
        assert (mail.attempts, mail.sent_at) == (1, None)
        assert mail.last_error == "SMTPDataError 451"
        assert mail.next_attempt_at == clock.now + timedelta(seconds=10)

        # Not due yet: the server is not even contacted.
        assert await dispatch.run_once() == 0
        assert flaky.attempts == 1

        # Backoff doubles: 10 s, then 20 s.
        clock.advance(seconds=10)
        assert await dispatch.run_once() == 0
        assert outbox.all()[0].next_attempt_at == clock.now + timedelta(seconds=20)
        clock.advance(seconds=20)
        assert await dispatch.run_once() == 1

        # Sent once, recorded as sent, and never again.
        clock.advance(hours=2)
        assert await dispatch.run_once() == 0
        assert len(flaky.accepted) == 1 and flaky.attempts == 3
        [mail] = outbox.all()
        assert mail.sent_at is not None and mail.attempts == 3 and mail.last_error is None
        assert mail.body is None  # the code no longer rests in the table


async def test_a_server_that_is_down_is_waited_for(outbox, clock, tmp_path) -> None:
    port = free_port()
    dispatch = dispatcher_for(outbox, port, clock)
    queue(outbox)
    assert await dispatch.run_once() == 0
    assert outbox.all()[0].last_error == "ConnectionRefusedError"
    # The server comes up; at the next due time the mail goes.
    with DemoMailbox(tmp_path, port=port) as box:
        clock.advance(seconds=10)
        assert await dispatch.run_once() == 1
        assert len(box.messages()) == 1


async def test_a_permanent_refusal_is_given_up_at_once(outbox, clock) -> None:
    with serve(RefusingServer()) as controller:
        queue(outbox)
        assert await dispatcher_for(outbox, controller.port, clock).run_once() == 0
    [mail] = outbox.all()
    assert mail.gave_up_at is not None and mail.sent_at is None
    assert "550" in (mail.last_error or "") and "avery" not in (mail.last_error or "")


async def test_after_max_attempts_the_dispatcher_gives_up(outbox, clock) -> None:
    with serve(FlakyServer(failures=99)) as controller:
        dispatch = dispatcher_for(outbox, controller.port, clock, max_attempts=3)
        queue(outbox)
        for _ in range(5):
            await dispatch.run_once()
            clock.advance(hours=1)
    [mail] = outbox.all()
    assert mail.attempts == 3 and mail.gave_up_at is not None


def test_a_mail_is_queued_once_per_key(outbox) -> None:
    assert queue(outbox, "account:7")
    assert not queue(outbox, "account:7")
    assert len(outbox.all()) == 1


def test_a_due_mail_is_leased_to_one_dispatcher_at_a_time(outbox, clock) -> None:
    queue(outbox)
    lease = timedelta(minutes=5)
    assert len(outbox.claim_due(clock.now, lease, 10)) == 1
    assert outbox.claim_due(clock.now, lease, 10) == []  # another dispatcher finds nothing
    # A dispatcher that died holding it: after the lease, it is due again.
    assert len(outbox.claim_due(clock.now + lease, lease, 10)) == 1


async def test_the_demo_mailbox_keeps_each_message_as_an_eml_file(tmp_path) -> None:
    outbox = MailOutbox(identity_engine())
    queue(outbox, "a")
    queue(outbox, "b")
    with DemoMailbox(tmp_path / "var" / "mail", port=free_port()) as box:
        sender = SmtpSender(box.host, box.port)
        sent = await MailDispatcher(outbox, sender, "no-reply@harborview.example").run_once()
        assert sent == 2
        messages = box.messages()
    assert [m["Subject"] for m in messages] == ["Hello", "Hello"]
    assert messages[0]["From"] == "no-reply@harborview.example"
    assert messages[0]["Message-ID"] != messages[1]["Message-ID"]
    assert len(list((tmp_path / "var" / "mail").glob("*.eml"))) == 2


async def test_the_dispatcher_loop_sends_what_is_queued_until_stopped(tmp_path) -> None:
    outbox = MailOutbox(identity_engine())
    with DemoMailbox(tmp_path, port=free_port()) as box:
        dispatch = MailDispatcher(outbox, SmtpSender(box.host, box.port), "no-reply@x.example")
        stop = asyncio.Event()
        loop = asyncio.create_task(dispatch.run_forever(stop, idle_seconds=0.01))
        queue(outbox)
        for _ in range(500):
            if box.messages():
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(loop, timeout=5)
        assert len(box.messages()) == 1


@pytest.mark.parametrize("blank", ["sent", "purged"])
def test_a_blanked_body_leaves_no_bytes_in_the_sqlite_files(tmp_path, clock, blank) -> None:
    """Blanking a row in SQLite leaves the old bytes in the page's free space and in the
    write-ahead log, both of which a copy of the files would show: they are zeroed
    (`secure_delete`) and emptied (`truncate_wal`), while another connection stays open."""
    from shared.sqldb import make_engine

    path = tmp_path / "identity.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    outbox = MailOutbox(engine, clock)
    code = "code-73019266"
    for n in range(3):
        outbox.enqueue(
            dedup_key=f"reset:{n}", recipient="a@example.com", subject="s", body=f"{code}-{n}"
        )
    with engine.connect():  # a reader elsewhere keeps the database (and its log) open
        mail = outbox.all()[0]
        if blank == "sent":
            outbox.record_sent(mail.id, clock())
        else:
            outbox.purge([mail.dedup_key])
        raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert f"{code}-0".encode() not in raw
    assert f"{code}-1".encode() in raw  # the rows not blanked are still there
    engine.dispose()
