"""`portal replay` (registered in `services/portal/cli.py`): see `services/portal/replay.py`.

portal replay [--read-model NAME]          rebuild aside, then swap in
portal replay --verify [--read-model NAME] rebuild aside, list differences, exit 1 if any
portal replay --as-of 2024-06-30T00:00:00Z [--owner USER_OR_PARTY] --output FILE.json
portal replay --from-kafka [...]           the topics from offset 0 instead of the outboxes
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from services.portal.replay import ReplayReport
from services.portal.replay_sources import NoProgress, OutboxSource, Progress
from shared.settings import Settings


@contextlib.contextmanager
def outbox_source(settings: Settings) -> Iterator[OutboxSource]:
    """The outboxes of the portal's subscribed topics, from the services' own stores, opened
    to read (as each service's `main.py` composes them; no consumer, relay or mailer)."""
    from services.billing.main import billing_outbox, build_billing
    from services.claims.main import build_claims, claims_outbox
    from services.documents.main import build_documents, documents_outbox
    from services.identity.main import build_identity, identity_outbox
    from services.policy.main import build_policy, policy_outbox
    from services.portal.projections import SUBSCRIBED_TOPICS

    builders = [
        (build_policy, policy_outbox),
        (build_billing, billing_outbox),
        (build_identity, identity_outbox),
        (build_documents, documents_outbox),
        (build_claims, claims_outbox),
    ]
    apps: list[Any] = []
    try:
        outboxes = {}
        for build, outbox_of in builders:
            app = build(settings)
            apps.append(app)
            outbox = outbox_of(app, settings)
            outboxes[outbox.topic] = outbox
        wanted = [settings.topic(t) for t in SUBSCRIBED_TOPICS]
        yield OutboxSource({t: outboxes[t] for t in wanted if t in outboxes})
    finally:
        for app in apps:
            app.close()


class RichProgress:
    """One bar per topic (positions: notification ids, or offsets summed over partitions)."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def start(self, topic: str, total: int) -> None:
        self.tasks[topic] = self.progress.add_task(topic, total=total or None)

    def update(self, topic: str, position: int) -> None:
        if topic in self.tasks:
            self.progress.update(self.tasks[topic], completed=position)


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    from rich.console import Console

    console = Console(stderr=True)
    if not (enabled and console.is_terminal):
        yield NoProgress()
        return
    from rich.progress import Progress as Bars

    with Bars(console=console, transient=True) as bars:
        yield RichProgress(bars)


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 instant: {text}") from exc
    if instant.tzinfo is None:
        raise typer.BadParameter("the instant needs a time zone (e.g. 2024-06-30T00:00:00Z)")
    return instant


def replay_command(
    read_model: Annotated[
        str | None,
        typer.Option(
            help="rebuild one read model: certificates, billing, sessions, documents, "
            "claims (default: all)"
        ),
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="rebuild aside, report differences, do not swap")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option(help="export the read models as of this instant (ISO 8601)")
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="with --as-of: one owner (user id or party id)")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="with --as-of: the JSON file")] = None,
    from_kafka: Annotated[
        bool, typer.Option("--from-kafka", help="read the topics from offset 0 (distributed)")
    ] = False,
    progress: Annotated[bool, typer.Option(help="progress bars on a terminal")] = True,
) -> None:
    """Rebuild the portal's read models from the event stores (aside, then swapped in)."""
    from services.portal import replay as replaying
    from shared.personal_data import install, vault_at

    settings = Settings()
    install(vault_at(settings.database_url_for("keystore")))  # replay opens sealed fields
    if as_of is not None and output is None:
        raise typer.BadParameter("--as-of needs --output FILE.json")
    if owner is not None and as_of is None:
        raise typer.BadParameter("--owner goes with --as-of")
    if from_kafka and read_model not in (None, "all") and not verify:
        raise typer.BadParameter("--from-kafka rebuilds every read model (no --read-model)")
    live_url = settings.database_url_for("portal")
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    _ensure_live(live_url)
    with _source(settings, from_kafka) as source, _progress(progress) as bars:
        try:
            if as_of is not None:
                assert output is not None
                report = replaying.as_of(
                    live_url, source, _instant(as_of), output, owner=owner, progress=bars
                )
            elif verify:
                report = replaying.verify(
                    live_url,
                    source,
                    read_model=read_model,
                    cut=not from_kafka,
                    progress=bars,
                    open_sealed=vault_at(settings.database_url_for("keystore")).open,
                )
            else:
                report = replaying.replay(
                    live_url, source, read_model=read_model, cut=not from_kafka, progress=bars
                )
        except KeyError as exc:
            raise typer.BadParameter(str(exc.args[0])) from exc
    _print(report, verify, output if as_of else None)
    if verify and report.differences:
        raise typer.Exit(1)


def _ensure_live(live_url: str) -> None:
    """The live read models exist (a lost database is recreated empty, as the portal would)."""
    from services.portal.readmodels import ReadModel
    from shared.messaging.sql_sink import tracking_metadata
    from shared.sqldb import create_tables, make_engine

    engine = make_engine(live_url)
    try:
        create_tables(ReadModel.metadata, engine)
        create_tables(tracking_metadata, engine)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _source(settings: Settings, from_kafka: bool) -> Iterator[Any]:
    if not from_kafka:
        with outbox_source(settings) as source:
            yield source
        return
    from services.portal.projections import SUBSCRIBED_TOPICS
    from services.portal.replay_kafka import KafkaSource

    topics = [settings.topic(t) for t in SUBSCRIBED_TOPICS]
    yield KafkaSource(settings.kafka_bootstrap_servers, topics)


def _print(report: ReplayReport, verify: bool, output: Path | None) -> None:
    if verify:
        for table, key, column, live, rebuilt in report.differences:
            typer.echo(f"{table} [{key}] {column}: live={live} rebuilt={rebuilt}")
        typer.echo(f"{len(report.differences)} differences")
    elif output is not None:
        typer.echo(f"written to {output}")
    else:
        typer.echo("swapped in")
    typer.echo(report.summary())
    sys.stdout.flush()
