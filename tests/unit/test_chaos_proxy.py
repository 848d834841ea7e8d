"""The chaos harness's loopback TCP proxy (bench/chaos/proxy.py) against a local echo server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bench.chaos.proxy import TcpProxy

STEP = 5.0  # bound on every single wait in these tests (never a timing assertion)


@dataclass
class EchoServer:
    """Echoes every byte back (closes on a lone b"quit"); records what it received and its
    open connections."""

    server: asyncio.Server | None = None
    port: int = 0
    received: bytearray = field(default_factory=bytearray)
    open_connections: int = 0

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(
            self._handle, "127.0.0.1", port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        try:
            while (data := await reader.read(65536)) and data != b"quit":
                self.received += data
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self.open_connections -= 1
            writer.close()


async def eventually(condition, what: str) -> None:
    """Poll `condition` until true (bounded); for states reached asynchronously."""
    for _ in range(int(STEP / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def connect(proxy: TcpProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", proxy.port), STEP)


async def roundtrip(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes
) -> None:
    writer.write(data)
    await writer.drain()
    assert await asyncio.wait_for(reader.readexactly(len(data)), STEP) == data


async def assert_closed(reader: asyncio.StreamReader) -> None:
    """The connection was closed by the other end: EOF or a reset, never data."""
    try:
        data = await asyncio.wait_for(reader.read(1024), STEP)
    except (ConnectionResetError, BrokenPipeError):
        return
    assert data == b""


def close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        writer.close()


@pytest.fixture
async def echo() -> AsyncIterator[EchoServer]:
    server = EchoServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def proxy(echo: EchoServer) -> AsyncIterator[TcpProxy]:
    tcp_proxy = TcpProxy("echo", 0, "127.0.0.1", echo.port)
    await tcp_proxy.start()
    yield tcp_proxy
    await tcp_proxy.stop()


async def test_bytes_pass_both_ways(proxy: TcpProxy, echo: EchoServer) -> None:
    reader, writer = await connect(proxy)
    big = bytes(range(256)) * 4096  # 1 MiB: several chunks, back-pressure on the way
    await roundtrip(reader, writer, b"hello")
    await roundtrip(reader, writer, big)
    assert bytes(echo.received) == b"hello" + big
    assert proxy.active == 1
    stats = proxy.stats
    assert stats["connections_total"] == 1
    assert stats["bytes_up"] == stats["bytes_down"] == 5 + len(big)
    close(writer)
    await eventually(lambda: proxy.active == 0, "the pair to close after the client left")
    await eventually(lambda: echo.open_connections == 0, "the target side to close")


async def test_half_close_is_forwarded(proxy: TcpProxy) -> None:
    reader, writer = await connect(proxy)
    writer.write(b"last words")
    writer.write_eof()
    # The echo server answers, sees EOF, closes; the client reads the answer, then EOF.
    assert await asyncio.wait_for(reader.read(), STEP) == b"last words"
    close(writer)


async def test_drop_connections_closes_both_sides_and_new_ones_work(
    proxy: TcpProxy, echo: EchoServer
) -> None:
    connections = [await connect(proxy) for _ in range(3)]
    for reader, writer in connections:
        await roundtrip(reader, writer, b"ping")
    assert proxy.active == 3

    assert proxy.drop_connections() == 3
    assert proxy.active == 0
    for reader, writer in connections:
        await assert_closed(reader)
        close(writer)
    await eventually(lambda: echo.open_connections == 0, "the target side to be dropped")
    assert proxy.stats["dropped_total"] == 3

    reader, writer = await connect(proxy)
    await roundtrip(reader, writer, b"again")
    assert proxy.active == 1
    assert proxy.drop_connections() == 1
    assert proxy.drop_connections() == 0
    close(writer)


async def test_delay_holds_data_and_keeps_order(proxy: TcpProxy, echo: EchoServer) -> None:
    reader, writer = await connect(proxy)
    await roundtrip(reader, writer, b"warm-up")
    echo.received.clear()

    proxy.set_delay(3600)  # nothing can be released by time during this test
    writer.write(b"first ")
    await writer.drain()
    await eventually(lambda: proxy.pending == 6, "the proxy to buffer the first chunk")
    writer.write(b"second ")
    await writer.drain()
    await eventually(lambda: proxy.pending == 13, "the proxy to buffer the second chunk")
    assert echo.received == b""  # held, not forwarded
    assert proxy.stats["bytes_up"] == len(b"warm-up")

    proxy.set_delay(0)  # releases what is held, in order
    expected = b"first second "
    assert await asyncio.wait_for(reader.readexactly(len(expected)), STEP) == expected
    assert proxy.pending == 0
    close(writer)


async def test_small_delay_keeps_order_of_many_chunks(proxy: TcpProxy) -> None:
    reader, writer = await connect(proxy)
    proxy.set_delay(0.02)
    pieces = [f"<{i:04d}>".encode() for i in range(300)]
    for i, piece in enumerate(pieces):
        writer.write(piece)
        await writer.drain()
        if i % 50 == 0:
            await asyncio.sleep(0.005)  # spread the writes over several reads of the proxy
        if i == 150:
            proxy.set_delay(0)  # the delay going down must not let later data overtake
    expected = b"".join(pieces)
    assert await asyncio.wait_for(reader.readexactly(len(expected)), STEP) == expected
    close(writer)


async def test_refusing_closes_new_connections_only(proxy: TcpProxy) -> None:
    live_reader, live_writer = await connect(proxy)
    await roundtrip(live_reader, live_writer, b"before")

    proxy.set_refusing(True)
    reader, writer = await connect(proxy)
    await assert_closed(reader)
    close(writer)
    await roundtrip(live_reader, live_writer, b"still works")
    assert proxy.stats["refused_total"] == 1
    assert proxy.active == 1

    proxy.set_refusing(False)
    reader, writer = await connect(proxy)
    await roundtrip(reader, writer, b"accepted again")
    close(writer)
    close(live_writer)


async def test_stop_closes_everything(echo: EchoServer) -> None:
    proxy = TcpProxy("echo", 0, "127.0.0.1", echo.port)
    await proxy.start()
    reader, writer = await connect(proxy)
    await roundtrip(reader, writer, b"x")

    await asyncio.wait_for(proxy.stop(), STEP)
    assert proxy.active == 0
    await assert_closed(reader)
    close(writer)
    await eventually(lambda: echo.open_connections == 0, "the target side to be closed")
    with pytest.raises(OSError):
        await connect(proxy)
    await proxy.stop()  # idempotent


async def test_target_down_then_back(echo: EchoServer) -> None:
    port = echo.port
    await echo.stop()  # nothing listens on `port` now
    proxy = TcpProxy("echo", 0, "127.0.0.1", port)
    await proxy.start()
    try:
        for _ in range(2):
            reader, writer = await connect(proxy)
            await assert_closed(reader)
            close(writer)
        await eventually(lambda: proxy.active == 0, "the failed pairs to go away")
        assert proxy.stats["connect_failures_total"] == 2

        await echo.start(port)  # the target is back on the same port
        reader, writer = await connect(proxy)
        await roundtrip(reader, writer, b"back")
        close(writer)
    finally:
        await proxy.stop()


async def test_target_closing_closes_client(proxy: TcpProxy, echo: EchoServer) -> None:
    reader, writer = await connect(proxy)
    await roundtrip(reader, writer, b"x")
    writer.write(b"quit")  # the echo server closes the connection on this
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), STEP) == b""  # the target's EOF, forwarded
    close(writer)  # as any client does on EOF; the pair then unwinds
    await eventually(lambda: proxy.active == 0, "the pair to close")
