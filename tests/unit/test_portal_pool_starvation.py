"""More owners at once than the portal has worker threads and pooled connections: every
request is answered, none waits for the pool's timeout.

The read routes used to keep their session (and its connection) until a yield dependency's
teardown, after FastAPI had validated the response on a worker thread. With every worker
thread taken by requests waiting for a pooled connection, the requests holding the
connections waited for a worker thread: all of them stalled until the pool timed out (50
owners at once under `make bench`'s figure 7, with uvicorn's faster HTTP parser). Here the
same shape is made small: 2 worker threads, 1 pooled connection, 12 requests at once."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import create_engine

from services.portal.api import create_portal_app
from shared.clock import Clock
from tests.portal_harness import PortalHarness

POOL_TIMEOUT_S = 3
PAGES = ("/api/certificates", "/api/certificates/0000100001", "/api/profile")


@pytest.fixture
def signed_in(tmp_path: Path) -> tuple[PortalHarness, str]:
    """A portal with one certificate and a paid premium, and its owner's bearer token."""
    harness = PortalHarness(tmp_path)
    harness.issue("0000100001")
    harness.pay("0000100001", "25.00", date(2024, 2, 1))
    return harness, harness.sign_in("avery", "0000100001")


async def test_more_requests_than_threads_and_connections_are_all_answered(
    signed_in: tuple[PortalHarness, str], tmp_path: Path
) -> None:
    harness, token = signed_in
    headers = {"Authorization": f"Bearer {token}"}
    tight = create_engine(
        f"sqlite:///{tmp_path}/portal.sqlite",
        pool_size=1,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_S,
    )
    app = create_portal_app(tight, None, harness.vault.open, clock=Clock(date(2024, 11, 16)))  # type: ignore[arg-type]
    anyio.to_thread.current_default_thread_limiter().total_tokens = 2
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
            answers = await asyncio.wait_for(
                asyncio.gather(
                    *(client.get(PAGES[n % len(PAGES)], headers=headers) for n in range(12)),
                    return_exceptions=True,
                ),
                timeout=4 * POOL_TIMEOUT_S,
            )
    finally:
        tight.dispose()
    failed = [a if isinstance(a, BaseException) else a.status_code for a in answers]
    assert failed == [200] * 12
    profile = next(a for a in answers if a.url.path == "/api/profile")  # type: ignore[union-attr]
    assert profile.json()["personal"]
    detail = next(a for a in answers if a.url.path.endswith("0000100001"))  # type: ignore[union-attr]
    assert detail.json()["certificate_number"] == "0000100001"
