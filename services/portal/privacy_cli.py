"""`portal privacy export|log`: the privacy office's back-office tools.

- `portal privacy export --party PARTY_ID --output f.json`: the answer to a request to know for
  one person (`privacy_export.py`), built from the portal's read models and identity's record
  of the account — what is mailed when a request was verified for the specific pieces.
- `portal privacy log [--since YYYY-MM-DD]`: the record of privacy requests (the 24-month log
  the regulations ask for), as identity's privacy office keeps it, read through identity's
  API (`GET /privacy/log`): requests from anyone, matched or not.

Identity is reached the way the portal reaches it: over HTTP (`IDENTITY_URL`) in the
distributed mode, in-process over the embedded stores under `var/` otherwise.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from services.portal.gateway import CommandGateway, ServiceUnavailable
from shared.clock import Clock
from shared.settings import Settings

privacy_app = typer.Typer(
    help="Privacy (CCPA) requests: a person's export and the request record.",
    no_args_is_help=True,
)
T = TypeVar("T")
LOG_COLUMNS = (
    "received_at",
    "request_id",
    "kind",
    "detail",
    "channel",
    "status",
    "level",
    "matched_points",
    "by_agent",
    "due_by",
    "completed_at",
    "answered_in_time",
    "outcome",
)


class Format(StrEnum):
    table = "table"
    json = "json"


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def identity_gateway(settings: Settings) -> CommandGateway:
    """Identity's API: its HTTP address when distributed, its app in-process when embedded."""
    if settings.mode == "distributed":
        return CommandGateway.over_http({"identity": settings.identity_url})
    from services.identity.api import create_identity_api
    from services.identity.main import build_identity

    return CommandGateway.in_process({"identity": create_identity_api(build_identity(settings))})


def _with_identity(settings: Settings, work: Callable[[CommandGateway], Awaitable[T]]) -> T:
    from shared.personal_data import install, vault_at

    install(vault_at(settings.database_url_for("keystore")))

    async def go() -> T:
        gateway = identity_gateway(settings)
        try:
            return await work(gateway)
        finally:
            await gateway.close()

    try:
        return asyncio.run(go())
    except ServiceUnavailable as exc:
        _fail(f"{exc} (is it running? IDENTITY_URL={settings.identity_url})")


@privacy_app.command()
def export(
    party: Annotated[str, typer.Option("--party", help="the person's party id")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to this file (default: stdout)")
    ] = None,
) -> None:
    """A person's personal information (categories and specific pieces) as JSON."""
    from services.portal.privacy_export import PersonNotFound, build_export
    from services.portal.readmodels import ReadModel
    from shared.personal_data import vault_at
    from shared.sqldb import create_tables, make_engine

    try:
        party_id = str(UUID(party.strip()))
    except ValueError:
        _fail(f"not a party id: {party!r}")
    settings = Settings()
    engine = make_engine(settings.database_url_for("portal"))
    create_tables(ReadModel.metadata, engine)  # a store not yet made answers "nothing held"
    vault = vault_at(settings.database_url_for("keystore"))
    clock = Clock(settings.as_of)

    async def work(gateway: CommandGateway) -> dict[str, Any]:
        return await build_export(
            engine,
            gateway,
            party_id,
            vault.open,
            today=clock.today(),
            now=clock.now(),
            require_person=True,
        )

    try:
        answer = _with_identity(settings, work)
    except PersonNotFound as exc:
        _fail(str(exc))
    text = json.dumps(answer, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    output.chmod(0o600)  # personal information: readable by its writer only
    typer.echo(f"personal information of party {party_id} written to {output}", err=True)


@privacy_app.command()
def log(
    since: Annotated[
        str | None, typer.Option(help="only requests received on or after YYYY-MM-DD")
    ] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table or json")] = Format.table,
) -> None:
    """Every privacy request received, with its outcome (identity's record)."""
    if since:
        try:
            since = date.fromisoformat(since.strip()).isoformat()
        except ValueError:
            _fail(f"--since: not a date YYYY-MM-DD: {since!r}")
    settings = Settings()
    path = f"/privacy/log?since={since}" if since else "/privacy/log"

    async def work(gateway: CommandGateway) -> Any:
        answer = await gateway.send("identity", "GET", path)
        if answer.status_code != 200:
            raise ServiceUnavailable(f"the identity service answered {answer.status_code}")
        return answer.json()

    rows = log_rows(_with_identity(settings, work))
    if format is Format.json:
        typer.echo(json.dumps({"count": len(rows), "requests": rows}, indent=2))
        return
    typer.echo(render_log(rows), nl=False)


def log_rows(body: Any) -> list[dict[str, Any]]:
    """The requests of identity's answer: a list, or an object holding one."""
    if isinstance(body, dict):
        body = body.get("requests", body.get("items", []))
    return [row for row in body or [] if isinstance(row, dict)]


def render_log(rows: list[dict[str, Any]], width: int = 200) -> str:
    columns = [c for c in LOG_COLUMNS if any(c in row for row in rows)] or list(LOG_COLUMNS[:5])
    table = Table(title=f"Privacy requests: {len(rows)}", expand=False)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console = Console(file=io.StringIO(), width=width, no_color=True)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]
