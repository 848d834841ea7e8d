"""The proxies' own process, steered over its control port from the harness (RemoteProxy)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from bench.chaos.proxy_process import ProxyProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):  # the proxy resets dropped connections
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    writer.close()


async def closed(reader: asyncio.StreamReader) -> bool:
    """The other side ended the connection (an end of stream or a reset)."""
    try:
        return await reader.read(10) == b""
    except ConnectionResetError:
        return True


async def test_bytes_pass_and_faults_are_steered_from_the_harness(tmp_path) -> None:
    target = await asyncio.start_server(echo, "127.0.0.1", 0)
    target_port = target.sockets[0].getsockname()[1]
    proxies = ProxyProcess(free_port())
    proxy = proxies.add("echo", free_port(), target_port)
    await proxies.start(tmp_path / "proxies.log")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"ping"
        assert (await proxy.stats())["active"] == 1
        assert await proxy.drop_connections() == 1
        assert await closed(reader)  # dropped
        writer.close()

        await proxy.set_refusing(True)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
        assert await closed(reader)  # accepted and closed at once
        writer.close()
        await proxy.set_refusing(False)
        await proxy.set_delay(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
        writer.write(b"again")
        assert await reader.readexactly(5) == b"again"
        writer.close()
        stats = await proxy.stats()
        assert stats["dropped_total"] == 1 and stats["refused_total"] == 1
        try:
            await proxies.call("nope", "drop")
        except RuntimeError as exc:
            assert "KeyError" in str(exc)  # a bad request is answered, not fatal
        else:
            raise AssertionError("an unknown proxy must be refused")
        assert (await proxy.stats())["connections_total"] == 3
    finally:
        await proxies.stop()
        target.close()
