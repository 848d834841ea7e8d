"""Loopback TCP proxy for fault injection (`make chaos`), run inside the harness's event loop.

The service processes reach Kafka and PostgreSQL only through one of these proxies, so the
harness can cut their connections (`drop_connections`), slow them down (`set_delay`) or make the
dependency unreachable for new connections (`set_refusing`) without touching the broker or the
database themselves.

Each accepted client connection is paired with one new connection to the target. Each direction
of a pair is a small FIFO delay line: one task reads chunks from the source into a buffer, a
second task writes them to the destination once they are old enough. A single writer per
direction keeps the byte order whatever the delay does; the buffer is bounded in bytes, so a slow
destination pushes back on the source instead of growing the buffer. A half-close (EOF) is
forwarded as a half-close; an error on either side aborts both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections import deque

log = logging.getLogger(__name__)

LISTEN_HOST = "127.0.0.1"
CHUNK_BYTES = 64 * 1024
# Bytes read from one side but not yet written to the other, per direction, before reading pauses.
MAX_BUFFERED_BYTES = 4 * 1024 * 1024
CONNECT_TIMEOUT = 10.0
_LINGER_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, not FIN


def _abort(writer: asyncio.StreamWriter | None) -> None:
    """Abort a connection now, with a TCP RST where the socket allows it."""
    if writer is None:
        return
    transport = writer.transport
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    transport.abort()


def _close(writer: asyncio.StreamWriter | None) -> None:
    """Close a connection gracefully (pending writes are flushed, then FIN)."""
    if writer is not None and not writer.transport.is_closing():
        writer.close()


class _Direction:
    """One direction of a connection pair: src → FIFO buffer → dst after the proxy's delay."""

    def __init__(
        self,
        proxy: TcpProxy,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        counter: str,
    ) -> None:
        self._proxy = proxy
        self._src = src
        self._dst = dst
        self._counter = counter
        self._items: deque[tuple[float, bytes]] = deque()  # (time read, data); b"" is EOF
        self._has_items = asyncio.Event()
        self._has_room = asyncio.Event()
        self._has_room.set()
        self.pending = 0  # bytes read, not yet written

    async def read_side(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self.pending >= MAX_BUFFERED_BYTES:
                self._has_room.clear()
                await self._has_room.wait()
            data = await self._src.read(CHUNK_BYTES)
            self._items.append((loop.time(), data))
            self.pending += len(data)
            self._has_items.set()
            if not data:
                return

    async def write_side(self) -> None:
        while True:
            while not self._items:
                self._has_items.clear()
                await self._has_items.wait()
            read_at, data = self._items[0]
            await self._proxy._hold(read_at)
            self._items.popleft()
            if not data:
                if self._dst.can_write_eof():
                    self._dst.write_eof()
                return
            self._dst.write(data)
            self.pending -= len(data)
            self._proxy._stats[self._counter] += len(data)
            if self.pending < MAX_BUFFERED_BYTES:
                self._has_room.set()
            await self._dst.drain()


class _Pair:
    """A client connection and its connection to the target (None while connecting)."""

    def __init__(self, client: asyncio.StreamWriter, task: asyncio.Task[None]) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.task = task
        self.directions: list[_Direction] = []

    def abort(self) -> None:
        _abort(self.client)
        _abort(self.upstream)
        self.task.cancel()


class TcpProxy:
    """Forwards connections accepted on 127.0.0.1:`listen_port` to `target_host`:`target_port`.

    `listen_port` 0 picks a free port (read it from `port` after `start`). All methods must be
    called from the event loop the proxy runs in.

    `stats`: `connections_total` (every accepted client connection, refused ones included),
    `dropped_total` (pairs aborted by `drop_connections`), `bytes_up` (client → target),
    `bytes_down` (target → client), plus `refused_total` (closed because refusing was on) and
    `connect_failures_total` (the target could not be reached; the client connection is closed).
    """

    def __init__(self, name: str, listen_port: int, target_host: str, target_port: int) -> None:
        self.name = name
        self.listen_port = listen_port
        self.target_host = target_host
        self.target_port = target_port
        self._server: asyncio.Server | None = None
        self._pairs: set[_Pair] = set()
        self._refused: set[asyncio.StreamWriter] = set()
        self._delay = 0.0
        self._delay_waiters: set[asyncio.Future[None]] = set()
        self._refusing = False
        self._stats: dict[str, int] = {
            "connections_total": 0,
            "dropped_total": 0,
            "bytes_up": 0,
            "bytes_down": 0,
            "refused_total": 0,
            "connect_failures_total": 0,
        }

    def __repr__(self) -> str:
        return (
            f"TcpProxy({self.name!r}, {LISTEN_HOST}:{self.listen_port} -> "
            f"{self.target_host}:{self.target_port})"
        )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1:`listen_port` (with SO_REUSEADDR, so a restart can rebind)."""
        if self._server is not None:
            raise RuntimeError(f"{self!r} is already started")
        self._server = await asyncio.start_server(
            self._handle, LISTEN_HOST, self.listen_port, reuse_address=True
        )
        self.listen_port = self._server.sockets[0].getsockname()[1]
        log.info("%r listening", self)

    async def stop(self) -> None:
        """Stop listening and close every connection (both sides, with RST)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = [pair.task for pair in self._pairs]
        for pair in list(self._pairs):
            pair.abort()
        self._pairs.clear()
        for writer in list(self._refused):
            _abort(writer)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
        log.info("%r stopped", self)

    # ------------------------------------------------------------------ faults

    def drop_connections(self) -> int:
        """Abort every live connection pair on both sides (RST); returns how many pairs."""
        pairs = list(self._pairs)
        self._pairs.clear()
        for pair in pairs:
            pair.abort()
        self._stats["dropped_total"] += len(pairs)
        if pairs:
            log.info("%r dropped %d connection(s)", self, len(pairs))
        return len(pairs)

    def set_delay(self, seconds: float) -> None:
        """Hold every chunk until `seconds` after it was read, in both directions; 0 = none.

        Applies to data already buffered too: lowering the delay releases held chunks at once,
        raising it holds them longer. Order within a direction is always kept.
        """
        if seconds < 0:
            raise ValueError(f"delay must be >= 0, got {seconds}")
        self._delay = float(seconds)
        waiters, self._delay_waiters = self._delay_waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def set_refusing(self, on: bool) -> None:
        """While on, new connections are accepted and closed at once; live ones keep working."""
        self._refusing = on

    # ------------------------------------------------------------------ observation

    @property
    def port(self) -> int:
        """The port the proxy listens on (the bound one when `listen_port` was 0)."""
        return self.listen_port

    @property
    def active(self) -> int:
        """Live connection pairs (including ones still connecting to the target)."""
        return len(self._pairs)

    @property
    def pending(self) -> int:
        """Bytes read from one side and not yet written to the other, all pairs together."""
        return sum(d.pending for pair in self._pairs for d in pair.directions)

    @property
    def stats(self) -> dict[str, int]:
        """A snapshot of the counters (see the class docstring)."""
        return dict(self._stats)

    # ------------------------------------------------------------------ internals

    async def _hold(self, read_at: float) -> None:
        """Return once `read_at` + the current delay has passed (re-evaluated on set_delay)."""
        loop = asyncio.get_running_loop()
        while True:
            wait = read_at + self._delay - loop.time()
            if wait <= 0:
                return
            waiter: asyncio.Future[None] = loop.create_future()
            timer = loop.call_later(wait, _resolve, waiter)
            self._delay_waiters.add(waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._delay_waiters.discard(waiter)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A root task of asyncio.start_server: it must not end cancelled (Python 3.11's stream
        # protocol calls task.exception() on it) and is only cancelled by this proxy anyway.
        with contextlib.suppress(asyncio.CancelledError):
            await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._stats["connections_total"] += 1
        if self._refusing or self._server is None:
            self._stats["refused_total"] += 1
            self._refused.add(writer)
            try:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            finally:
                self._refused.discard(writer)
            return

        task = asyncio.current_task()
        assert task is not None
        pair = _Pair(writer, task)
        self._pairs.add(pair)
        failed = True
        try:
            try:
                up_reader, pair.upstream = await asyncio.wait_for(
                    asyncio.open_connection(self.target_host, self.target_port),
                    CONNECT_TIMEOUT,
                )
            except (OSError, TimeoutError) as exc:
                self._stats["connect_failures_total"] += 1
                log.debug("%r: target unreachable: %r", self, exc)
                return
            up = _Direction(self, reader, pair.upstream, "bytes_up")
            down = _Direction(self, up_reader, writer, "bytes_down")
            pair.directions = [up, down]
            try:
                async with asyncio.TaskGroup() as group:
                    for direction in pair.directions:
                        group.create_task(direction.read_side())
                        group.create_task(direction.write_side())
                failed = False
            except* OSError as errors:  # a reset or broken pipe on either side
                log.debug("%r: connection ended by %r", self, errors.exceptions[0])
        finally:
            self._pairs.discard(pair)
            if failed:
                _abort(writer)
                _abort(pair.upstream)
            else:
                _close(writer)
                _close(pair.upstream)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
