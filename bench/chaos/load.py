"""Load on the portal's read API: `concurrency` virtual users, each cycling over the logged-in
owners, read a mix of pages (My Insurance, a certificate, its billing, claims, documents,
profile) as fast as the portal answers — closed loop, over loopback only, and bounded both in
requests (`max_requests` in all) and in time (no request starts after `max_seconds`).

Latency is taken per request from a monotonic clock (`time.perf_counter`), for every answer
including errors; a timeout or a dropped connection has no status and counts as a server error.

One exception, as browsers and HTTP libraries do for an idempotent request (RFC 9110 §9.2.2):
a GET sent on a pooled keep-alive connection the server had just closed as idle, so that no
response came back — `RemoteProtocolError` ("disconnected without sending a response"), or
`ReadError` when the closed socket answered the request with a reset — is sent once more on a
fresh connection; such retries are counted (`stale_connection_retries`) and the latency
includes both attempts. A second failure is an error like any other: a server that died
mid-request refuses the retry's connection.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import httpx

from bench.chaos.owners import OwnerLogin
from bench.common import percentile

# (page, weight): what an owner mostly looks at.
PAGES = {
    "certificates": 3,
    "certificate": 2,
    "billing": 3,
    "claims": 2,
    "documents": 3,
    "profile": 2,
}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class LoadReport:
    requests: int
    seconds: float
    throughput_rps: float
    p50_ms: float
    p99_ms: float
    errors_by_status: dict[str, int]  # every non-2xx: HTTP status, "timeout" or "connection"
    server_errors: int  # 5xx + timeouts + connection errors
    concurrency: int
    by_page: dict[str, dict]  # page → {count, p50_ms, p99_ms, errors}
    stale_connection_retries: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def page_path(page: str, owner: OwnerLogin) -> str:
    number = owner.certificate_number
    return {
        "certificates": "/api/certificates",
        "certificate": f"/api/certificates/{number}",
        "billing": f"/api/certificates/{number}/billing",
        "claims": "/api/claims",
        "documents": "/api/documents",
        "profile": "/api/profile",
    }[page]


async def run_load(
    portal: str,
    owners: list[OwnerLogin],
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    timeout: float = 10.0,
    seed: int = 0,
) -> LoadReport:
    if not owners:
        raise ValueError("the load test needs at least one logged-in owner")
    if concurrency < 1 or max_requests < 1 or max_seconds <= 0:
        raise ValueError("concurrency, max_requests and max_seconds must be positive")
    if urlsplit(portal).hostname not in LOOPBACK:
        raise ValueError(f"the load test drives a loopback portal only, not {portal}")

    latencies: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    retries: Counter[str] = Counter()
    page_errors: Counter[str] = Counter()
    issued = 0
    started = time.monotonic()
    deadline = started + max_seconds
    pages, weights = list(PAGES), list(PAGES.values())

    async def virtual_user(index: int, client: httpx.AsyncClient) -> None:
        nonlocal issued
        rng = random.Random(seed * 1_000 + index)
        turn = index
        while issued < max_requests and time.monotonic() < deadline:
            issued += 1
            owner = owners[turn % len(owners)]
            turn += concurrency
            page = rng.choices(pages, weights=weights)[0]
            status: str | None = None
            began = time.perf_counter()
            try:
                try:
                    answer = await client.get(page_path(page, owner), headers=owner.headers)
                except (httpx.RemoteProtocolError, httpx.ReadError):
                    retries["stale_connection"] += 1
                    answer = await client.get(page_path(page, owner), headers=owner.headers)
                if not 200 <= answer.status_code < 300:
                    status = str(answer.status_code)
            except httpx.TimeoutException:
                status = "timeout"
            except httpx.TransportError as exc:
                status = f"connection ({type(exc).__name__})"
            latencies[page].append((time.perf_counter() - began) * 1000)
            if status is not None:
                errors[status] += 1
                page_errors[page] += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=portal, timeout=timeout, limits=limits) as client:
        await asyncio.gather(*(virtual_user(i, client) for i in range(concurrency)))
    seconds = time.monotonic() - started

    every = [ms for values in latencies.values() for ms in values]
    server_errors = sum(
        n for status, n in errors.items() if not status.isdigit() or int(status) >= 500
    )
    return LoadReport(
        requests=len(every),
        seconds=round(seconds, 3),
        throughput_rps=round(len(every) / seconds, 1) if seconds else 0.0,
        p50_ms=round(percentile(every, 50), 1),
        p99_ms=round(percentile(every, 99), 1),
        errors_by_status=dict(errors),
        server_errors=server_errors,
        concurrency=concurrency,
        by_page={
            page: {
                "count": len(values),
                "p50_ms": round(percentile(values, 50), 1),
                "p99_ms": round(percentile(values, 99), 1),
                "errors": page_errors[page],
            }
            for page, values in sorted(latencies.items())
        },
        stale_connection_retries=retries["stale_connection"],
    )
