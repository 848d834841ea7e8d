"""Kafka relays alongside the embedded composition, for the distributed leak scan: every
outbox is published to its topic exactly as the distributed mode's relay processes do."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from shared.runtime import run_relay

RELAYED_WITHIN_SECONDS = 60.0  # an upper bound on waiting for the relays, not a timing check


def with_relays(app: FastAPI, outboxes: dict, bootstrap: str) -> None:
    """Run a Kafka relay per outbox for as long as the app runs."""
    original = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with original(application):
            stop = asyncio.Event()
            relays = [
                asyncio.create_task(run_relay(outbox, bootstrap, stop))
                for outbox in outboxes.values()
            ]
            try:
                yield
            finally:
                stop.set()
                await asyncio.gather(*relays, return_exceptions=True)

    app.router.lifespan_context = lifespan


async def relayed(outboxes: dict) -> None:
    """Until every outbox's relay has published up to the last stored event."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RELAYED_WITHIN_SECONDS
    while True:
        behind = []
        for topic, outbox in outboxes.items():
            latest = await asyncio.to_thread(outbox.app.process_recorder.max_notification_id)
            if (latest or 0) > await asyncio.to_thread(outbox.position, "kafka"):
                behind.append(topic)
        if not behind:
            return
        assert loop.time() < deadline, f"not relayed: {behind}"
        await asyncio.sleep(0.2)
