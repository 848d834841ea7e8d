"""What a caller can set is only what the API means to take: no route exposes a private
parameter, and nothing a caller sends chooses where the portal forwards a command.

Found by the schemathesis run: routes registered in a loop with the loop value as a default
argument (`_step: str = step`, `_path: str = path`) made that value a query parameter, so
`POST /api/recovery/user-id?_path=/sessions` reached any identity command through the portal
(and a malformed value answered 500).
"""

from __future__ import annotations

import pytest

from services.portal.demo import DEMO_PASSWORD
from tests.security.routes import endpoints
from tests.security.system import SecuredPortal

pytestmark = pytest.mark.embedded


@pytest.fixture
def portal(defended: SecuredPortal) -> SecuredPortal:
    return defended


def test_no_route_takes_a_private_parameter(portal: SecuredPortal) -> None:
    private = [
        f"{endpoint} ?{name}"
        for endpoint in endpoints(portal.app)
        for name in endpoint.query
        if name.startswith("_")
    ]
    assert not private, f"parameters a caller should not set: {private}"


@pytest.mark.parametrize(
    "route",
    [
        "/api/registration/personal",
        "/api/registration/credentials",
        "/api/registration/preferences",
        "/api/recovery/user-id",
        "/api/recovery/password",
        "/api/recovery/password/reset",
    ],
)
def test_a_caller_cannot_choose_where_a_command_is_forwarded(
    portal: SecuredPortal, route: str
) -> None:
    client = portal.client_like(raise_server_exceptions=False)
    log_in = {"user_id": "demo", "password": DEMO_PASSWORD}
    plain = client.post(route, json=log_in)
    for steer in ("/sessions", "../sessions", "/../../sessions", "\r\n"):
        steered = client.post(route, params={"_path": steer, "_step": steer}, json=log_in)
        assert steered.status_code < 500, f"{route} steered to {steer!r}: {steered.status_code}"
        assert "token" not in steered.text, f"{route} steered to {steer!r} started a session"
        assert steered.status_code == plain.status_code, f"{route} steered to {steer!r}"
