"""The embedded portal for the security tests: like `tests.web_client.web_portal`, but the
system stays reachable (its outboxes, its delivery, its var dir), delivery can be settled
from the test thread, and the demo mailbox can be read."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.portal.embedded import EmbeddedSystem, build_embedded, create_embedded_app
from shared import personal_data
from shared.mail import MailSettings, free_port
from shared.settings import Settings
from tests.security.relays import with_relays

MAIL_WAIT_SECONDS = 30.0  # an upper bound on waiting for the mail dispatcher, not a timing check


_LINKS = re.compile(r'(?:href|src|action)="([^"]*)"')


@dataclass
class SecuredPortal:
    system: EmbeddedSystem
    client: TestClient
    var_dir: Path
    vault: personal_data.Vault
    urls: list[str] = field(default_factory=list)  # every URL asked for, linked or redirected to

    @property
    def app(self) -> FastAPI:
        """The portal's FastAPI app (the client talks to it through `KeyStoreBound`)."""
        return self.client.app.app  # type: ignore[attr-defined]

    def watch(self, client: TestClient) -> TestClient:
        """Record the URLs `client` asks for and those its answers point at."""

        def request(request: httpx.Request) -> None:
            self.urls.append(str(request.url))

        def response(response: httpx.Response) -> None:
            if "location" in response.headers:
                self.urls.append(response.headers["location"])
            if response.headers.get("content-type", "").startswith("text/html"):
                response.read()
                self.urls += [html.unescape(u) for u in _LINKS.findall(response.text)]

        client.event_hooks = {"request": [request], "response": [response]}
        return client

    def settle(self) -> None:
        """Run in-process delivery until every consumer has caught up."""
        assert self.client.portal is not None, "use the portal inside its `with` block"

        async def settle() -> None:
            with personal_data.using(self.vault):
                await self.system.settle()

        self.client.portal.call(settle)

    def client_like(self, raise_server_exceptions: bool = True) -> TestClient:
        """Another browser on the same running app (its own cookies); with
        `raise_server_exceptions=False` an error in the app is answered 500, as a server would."""
        other = TestClient(
            self.client.app,
            base_url="https://testserver",
            follow_redirects=False,
            raise_server_exceptions=raise_server_exceptions,
        )
        other.portal = self.client.portal  # share the running lifespan's event loop
        return self.watch(other)

    def mail_containing(self, text: str) -> str:
        """The plain-text body of the newest demo-mailbox message containing `text`."""
        parser = BytesParser(policy=policy.default)
        deadline = time.monotonic() + MAIL_WAIT_SECONDS
        while True:
            for path in sorted((self.var_dir / "mail").glob("*.eml"), reverse=True):
                message = parser.parsebytes(path.read_bytes())
                body = message.get_body(("plain",))
                content = body.get_content().replace("\r\n", "\n") if body is not None else ""
                if text in content:
                    return content
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail containing {text!r}")
            time.sleep(0.1)

    def reset_code(self, first_name: str) -> str:
        body = self.mail_containing(f"Hello {first_name},\n\nYour one-time code")
        match = re.search(r"\b(\d{8})\b", body)
        assert match, "no code in the reset mail"
        return match.group(1)


class KeyStoreBound:
    """The app, sealing and opening with its own system's key store whatever the process has
    installed: several systems alive in one test process (shared portals) would otherwise
    all use the last one built. The lifespan runs inside too, so the background tasks it
    starts (delivery, mail) inherit the binding."""

    def __init__(self, app: FastAPI, vault: personal_data.Vault) -> None:
        self.app = app
        self.vault = vault

    async def __call__(self, scope, receive, send) -> None:
        with personal_data.using(self.vault):
            await self.app(scope, receive, send)


@contextmanager
def key_store_kept() -> Iterator[None]:
    """Put back the process's key store afterwards (a composition root installs its own)."""
    previous = personal_data._installed
    try:
        yield
    finally:
        personal_data._installed = previous


@contextmanager
def secured_portal(var_dir: Path, settings: Settings | None = None) -> Iterator[SecuredPortal]:
    """The embedded portal with the demo data, on https so the Secure cookies flow
    (`settings`: e.g. the stores on PostgreSQL; the var dir by default)."""
    with key_store_kept():
        system = build_embedded(settings or Settings(PORTAL_VAR_DIR=var_dir))
        vault = personal_data.installed()  # what its composition root installed
        app = create_embedded_app(system, seed=True, mail=MailSettings(SMTP_PORT=free_port()))
        if settings is not None and settings.mode == "distributed":
            with_relays(app, system.delivery.outboxes, settings.kafka_bootstrap_servers)
        bound = KeyStoreBound(app, vault)
        with TestClient(bound, base_url="https://testserver", follow_redirects=False) as client:
            portal = SecuredPortal(system, client, var_dir, vault)
            portal.watch(client)
            yield portal
