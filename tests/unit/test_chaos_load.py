"""The load test's one retry: a GET on a keep-alive connection the server just closed as idle
is sent once more (as browsers do); any other failure, or a second one, is an error."""

from __future__ import annotations

import httpx
import pytest

from bench.chaos.load import run_load
from bench.chaos.owners import OwnerLogin

OWNER = OwnerLogin("u", "p", "0000000001", "token")


@pytest.fixture
def answers(monkeypatch):
    script: list[object] = []

    async def get(self, url, **kwargs):
        outcome = script.pop(0) if script else 200
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx.AsyncClient, "get", get)
    return script


async def test_a_stale_keep_alive_connection_is_retried_once(answers) -> None:
    answers += [httpx.RemoteProtocolError("Server disconnected without sending a response.")]
    report = await run_load(
        "http://127.0.0.1:9", [OWNER], concurrency=1, max_requests=3, max_seconds=5
    )
    assert (report.requests, report.server_errors, report.stale_connection_retries) == (3, 0, 1)


async def test_a_reset_instead_of_a_response_is_retried_once_too(answers) -> None:
    answers += [httpx.ReadError("[Errno 104] Connection reset by peer")]
    report = await run_load(
        "http://127.0.0.1:9", [OWNER], concurrency=1, max_requests=3, max_seconds=5
    )
    assert (report.requests, report.server_errors, report.stale_connection_retries) == (3, 0, 1)


async def test_a_second_failure_or_another_transport_error_counts(answers) -> None:
    stale = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    reset = httpx.ReadError("[Errno 104] Connection reset by peer")
    answers += [stale, stale, httpx.ConnectError("refused"), reset, reset, 503]
    report = await run_load(
        "http://127.0.0.1:9", [OWNER], concurrency=1, max_requests=5, max_seconds=5
    )
    assert report.server_errors == 4
    assert report.errors_by_status == {
        "connection (RemoteProtocolError)": 1,
        "connection (ConnectError)": 1,
        "connection (ReadError)": 1,
        "503": 1,
    }
