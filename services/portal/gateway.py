"""Owner commands go to the service that owns them, over its own HTTP API.

The portal reads only its read models, but an owner also *does* things (registers, signs in,
updates contact information). Those are commands of identity and policy, forwarded here: over
loopback HTTP in the distributed mode, or to the same ASGI apps in-process in the embedded
mode — one code path either way. After a command the portal waits (briefly) until its own read
model shows the effect, so an owner reads what they just wrote.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx


class ServiceUnavailable(Exception):
    """The owning service did not answer: 503."""


class CommandGateway:
    def __init__(self, clients: dict[str, httpx.AsyncClient]) -> None:
        self.clients = clients

    @classmethod
    def over_http(cls, base_urls: dict[str, str]) -> CommandGateway:
        return cls(
            {
                name: httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(10.0))
                for name, url in base_urls.items()
            }
        )

    @classmethod
    def in_process(cls, apps: dict[str, Any]) -> CommandGateway:
        return cls(
            {
                name: httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=f"http://{name}"
                )
                for name, app in apps.items()
            }
        )

    async def send(
        self, service: str, method: str, path: str, body: Any = None, headers: dict | None = None
    ) -> httpx.Response:
        try:
            return await self.clients[service].request(method, path, json=body, headers=headers)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"the {service} service is not answering") from exc

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()


async def read_your_write(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Wait until the read model shows a command's effect; False if it did not in time."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if await asyncio.to_thread(check):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)
