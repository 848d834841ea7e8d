"""The embedded portal (with the demo data) served by uvicorn in a background thread, on a free
loopback port: for the tests that need a real HTTP server (the browser tests, the bench's
portal-query test)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import uvicorn

from services.portal.embedded import EmbeddedSystem, build_embedded, create_embedded_app
from shared.mail import MailSettings, free_port
from shared.settings import Settings

STARTUP_SECONDS = 120


@contextlib.contextmanager
def served_portal(settings: Settings) -> Iterator[tuple[str, EmbeddedSystem]]:
    """The base URL ("http://127.0.0.1:<port>") once /health answers, and the system behind
    it; the server is stopped on exit."""
    system = build_embedded(settings)
    app = create_embedded_app(system, seed=True, mail=MailSettings(SMTP_PORT=free_port()))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", loop="asyncio", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, thread)
        yield base_url, system
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive(), "uvicorn did not stop within 30s"


def _wait_healthy(base_url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"the portal server stopped while starting ({last})")
        try:
            answer = httpx.get(f"{base_url}/health", timeout=2)
            if answer.status_code == 200:
                return
            last = f"/health answered {answer.status_code}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"the portal at {base_url} was not healthy in {STARTUP_SECONDS}s ({last})")
