"""A doorbell that rings when a service stores new events, so whoever follows its outbox (the
relay, in-process delivery) wakes at once instead of polling.

- Writes in the same process: `ServiceApplication` calls its save listeners.
- Writes in another process (the distributed mode: the API process writes, the relay process
  reads): PostgreSQL `LISTEN` on the channel the native recorder `NOTIFY`s on every insert.
Followers still poll now and then as a safety net; the doorbell only makes them prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

import psycopg

from shared.eventstore import ServiceApplication

log = logging.getLogger(__name__)


class Doorbell:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._followed: list[ServiceApplication] = []

    def ring(self) -> None:
        """Safe from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()

    def follow(self, app: ServiceApplication) -> Doorbell:
        """Ring on the app's saves in this process, and on other processes' inserts."""
        app.save_listeners.append(self.ring)
        self._followed.append(app)
        recorder = app.recorder
        channel = getattr(recorder, "channel_name", None)
        datastore = getattr(recorder, "datastore", None)
        if channel and datastore is not None and hasattr(datastore, "get_connection"):
            thread = threading.Thread(
                target=self._listen, args=(datastore, channel), daemon=True, name="doorbell"
            )
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        self._stopping.set()
        for app in self._followed:
            with contextlib.suppress(ValueError):
                app.save_listeners.remove(self.ring)
        self._followed.clear()

    def _listen(self, datastore, channel: str) -> None:
        while not self._stopping.is_set():
            try:
                with datastore.get_connection() as connection:
                    connection.execute(
                        psycopg.sql.SQL("LISTEN {0}").format(psycopg.sql.Identifier(channel))
                    )
                    connection.commit()
                    while not self._stopping.is_set():
                        for _ in connection.notifies(timeout=0.5, stop_after=1):
                            self.ring()
            except Exception:  # database away: followers still poll; listen again later
                log.warning("doorbell on %s lost its connection; retrying", channel)
                self._stopping.wait(1.0)
