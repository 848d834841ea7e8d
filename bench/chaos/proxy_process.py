"""The proxies in a process of their own, steered over a loopback control port.

Every byte between the services and Kafka/PostgreSQL passes through the proxies: in the
harness's own event loop they would compete with the workload and the load test for one core
and slow the whole topology down. Here they get their own interpreter.

    python -m bench.chaos.proxy_process --control-port P NAME:LISTEN:TARGET [...]

Control protocol: one JSON object per line, `{"proxy": NAME, "op": "drop" | "delay" |
"refuse" | "stats", "value": ...}`, answered by one JSON line `{"ok": true, "result": ...}`.
`RemoteProxy` is the harness's side, with the methods of `TcpProxy`, awaited.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from typing import Any

from bench.chaos.proxy import TcpProxy
from shared.settings import REPO_ROOT

log = logging.getLogger(__name__)


def apply(proxies: dict[str, TcpProxy], request: dict[str, Any]) -> Any:
    proxy = proxies[request["proxy"]]
    op = request["op"]
    if op == "drop":
        return proxy.drop_connections()
    if op == "delay":
        proxy.set_delay(float(request["value"]))
        return None
    if op == "refuse":
        proxy.set_refusing(bool(request["value"]))
        return None
    if op == "stats":
        return {**proxy.stats, "active": proxy.active}
    raise ValueError(f"unknown op {op!r}")


async def serve(control_port: int, specs: list[str]) -> None:
    proxies: dict[str, TcpProxy] = {}
    for spec in specs:
        name, listen, target = spec.split(":")
        proxies[name] = TcpProxy(name, int(listen), "127.0.0.1", int(target))
        await proxies[name].start()

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                try:
                    answer = {"ok": True, "result": apply(proxies, json.loads(line))}
                except Exception as exc:  # a bad request: say so, keep serving
                    answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(control, "127.0.0.1", control_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    for proxy in proxies.values():
        await proxy.stop()


class RemoteProxy:
    """One proxy of the proxy process, seen from the harness."""

    def __init__(self, name: str, listen_port: int, target_port: int, control: ProxyProcess):
        self.name = name
        self.listen_port = listen_port
        self.target_port = target_port
        self.control = control

    async def drop_connections(self) -> int:
        return await self.control.call(self.name, "drop")

    async def set_delay(self, seconds: float) -> None:
        await self.control.call(self.name, "delay", seconds)

    async def set_refusing(self, on: bool) -> None:
        await self.control.call(self.name, "refuse", on)

    async def stats(self) -> dict[str, int]:
        return await self.control.call(self.name, "stats")


class ProxyProcess:
    """Starts `python -m bench.chaos.proxy_process` and talks to its control port."""

    def __init__(self, control_port: int) -> None:
        self.control_port = control_port
        self.proxies: dict[str, RemoteProxy] = {}
        self.process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    def add(self, name: str, listen_port: int, target_port: int) -> RemoteProxy:
        self.proxies[name] = RemoteProxy(name, listen_port, target_port, self)
        return self.proxies[name]

    async def start(self, log_path: Any) -> None:
        specs = [f"{p.name}:{p.listen_port}:{p.target_port}" for p in self.proxies.values()]
        with open(log_path, "ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.chaos.proxy_process",
                "--control-port",
                str(self.control_port),
                *specs,
                cwd=REPO_ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=out,
            )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        if line.strip() != b"ready":
            raise RuntimeError(f"the proxy process did not start (see {log_path})")

    async def call(self, proxy: str, op: str, value: Any = None) -> Any:
        async with self._lock:
            if self._stream is None:
                self._stream = await asyncio.open_connection("127.0.0.1", self.control_port)
            reader, writer = self._stream
            writer.write(json.dumps({"proxy": proxy, "op": op, "value": value}).encode() + b"\n")
            await writer.drain()
            answer = json.loads(await reader.readline())
        if not answer["ok"]:
            raise RuntimeError(f"proxy {proxy} {op}: {answer['error']}")
        return answer["result"]

    async def stop(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
            self._stream = None
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("proxies", nargs="+", help="NAME:LISTEN_PORT:TARGET_PORT")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(serve(args.control_port, args.proxies))


if __name__ == "__main__":
    main()
