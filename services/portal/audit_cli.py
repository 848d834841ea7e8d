"""`portal audit certificate|claim|owner …`: a trail of events, as a table, JSON or CSV.

The lead registers this sub-app in `cli.py` (`app.add_typer(audit_app, name="audit")`). The
trail itself is `services/portal/audit.py`; this module only reads the settings, shows a
progress bar per event store when the output is a terminal, and renders the rows.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from services.portal import audit
from shared.contracts.types import pad_certificate_number
from shared.settings import Settings

audit_app = typer.Typer(
    help="Audit trails across every service's event store (read-only).", no_args_is_help=True
)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="table (default), json or csv")
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="write to this file instead of stdout")
]


@audit_app.command()
def certificate(
    number: Annotated[str, typer.Argument(help="certificate number (up to 10 digits)")],
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> None:
    """Every event about a certificate: policy, billing, claims, documents and identity."""
    try:
        number = pad_certificate_number(number)
    except ValueError as exc:
        _fail(str(exc))
    _run(
        "certificate",
        number,
        lambda records: audit.certificate_trail(records, number),
        format,
        output,
    )


@audit_app.command()
def claim(
    claim_number: Annotated[str, typer.Argument(help="claim number, e.g. C000000102")],
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> None:
    """A claim's events and those of its documents (EOB, denial letter)."""
    number = claim_number.strip().upper()
    _run("claim", number, lambda records: audit.claim_trail(records, number), format, output)


@audit_app.command()
def owner(
    who: Annotated[str, typer.Argument(help="the owner's user ID or party id")],
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> None:
    """An owner's user account, sessions, and everything about each certificate they own."""
    _run(
        "owner",
        who.strip(),
        lambda records: audit.owner_trail(records, who.strip()),
        format,
        output,
    )


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _run(
    kind: str,
    subject: str,
    select: Callable[[list[audit.StoredRecord]], list[audit.TrailRow]],
    format: Format,
    output: Path | None,
) -> None:
    settings = Settings()
    missing = audit.missing_stores(settings)
    if len(missing) == len(audit.SERVICES):
        _fail(f"no event store under {settings.var_dir} (run `portal seed` or `portal run`)")
    interactive = output is None and sys.stdout.isatty()
    if sys.stderr.isatty():  # a bar per store, on stderr, gone once read
        with _progress() as progress:
            records = audit.load_records(settings, _store_bars(progress))
    else:
        records = audit.load_records(settings)
    try:
        rows = select(records)
    except audit.NotFound as exc:
        _fail(f"{exc} (in {', '.join(s for s in audit.SERVICES if s not in missing)})")
    width = shutil.get_terminal_size((240, 24)).columns if interactive else 240
    text = render(rows, kind, subject, format, width, color=interactive)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"{len(rows)} events about {kind} {subject} written to {output}", err=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _store_bars(progress: Progress) -> audit.StoreProgress:
    def store(service: str, total: int) -> audit.PageProgress:
        task = progress.add_task(service, total=total or 1)
        if not total:
            progress.update(task, completed=1)
        return lambda position: progress.update(task, completed=position)

    return store


def render(
    rows: Iterable[audit.TrailRow],
    kind: str,
    subject: str,
    format: Format,
    width: int = 240,
    color: bool = False,
) -> str:
    """The trail as text: a rich table, a JSON object `{about, count, events}`, or CSV."""
    rows = list(rows)
    if format is Format.json:
        about = {"kind": kind, "id": subject}
        payload = {"about": about, "count": len(rows), "events": [r.as_dict() for r in rows]}
        return json.dumps(payload, indent=2) + "\n"
    if format is Format.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=audit.COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(r.as_dict() for r in rows)
        return buffer.getvalue()
    return _table(rows, kind, subject, width, color)


def _table(rows: list[audit.TrailRow], kind: str, subject: str, width: int, color: bool) -> str:
    table = Table(title=f"Audit trail of {kind} {subject}: {len(rows)} events", expand=False)
    for column in ("time", "service", "event", "ver", "event id", "cause", "trace id", "summary"):
        table.add_column(column, overflow="fold")
    for r in rows:
        event = f"{r.event}\n→ {r.event_type}" if r.event_type else r.event
        cause = " ".join(filter(None, (r.cause_kind, r.cause_name, r.cause_actor))) or "-"
        if r.cause_event:
            cause += f"\nafter {r.cause_event}"
        table.add_row(
            r.time,
            r.service,
            event,
            str(r.version),
            r.event_id,
            cause,
            r.trace_id or "-",
            r.summary,
        )
    console = Console(file=io.StringIO(), width=width, force_terminal=color, no_color=not color)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]
