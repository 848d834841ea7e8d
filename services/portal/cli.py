"""The `portal` command: `portal run` (what `make run` starts), `portal seed`, the
auditors' tools: `portal audit certificate|claim|owner` and `portal replay`, and the privacy
office's: `portal privacy export|log`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from services.portal.audit_cli import audit_app
from services.portal.privacy_cli import privacy_app
from services.portal.replay_cli import replay_command
from shared.settings import Settings

app = typer.Typer(
    help="Certificate Owner Portal (embedded default: one process, SQLite).", no_args_is_help=True
)


def _settings(**overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values)


@app.command()
def run(
    port: Annotated[int | None, typer.Option(help="HTTP port (default 8000)")] = None,
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    seed: Annotated[bool, typer.Option(help="load the demo data if it is not there")] = True,
) -> None:
    """Run every service and the portal in one process, with the demo data."""
    import uvicorn

    from services.portal.demo import DEMO_PASSWORD, DEMO_USERS
    from services.portal.demo_newcomer import NEWCOMER
    from services.portal.demo_newcomer import NUMBER as NEWCOMER_NUMBER
    from services.portal.embedded import build_embedded, create_embedded_app
    from shared.runtime import configure_logging
    from shared.telemetry import setup_telemetry

    settings = _settings(PORTAL_PORT=port, PORTAL_HOST=host)
    configure_logging(settings.log_level)
    setup_telemetry("portal-embedded")
    system = build_embedded(settings)
    web = create_embedded_app(system, seed=seed)
    url = f"http://{settings.host}:{settings.port}"
    typer.echo(f"Portal: {url}/   (open it in a browser; health: {url}/health)")
    typer.echo(f"Data: {settings.var_dir}")
    for user, number in DEMO_USERS.items():
        typer.echo(f"Demo login: {user} / {DEMO_PASSWORD}   certificate {number}")
    typer.echo(
        f"Register in the browser as {NEWCOMER['first_name']} {NEWCOMER['last_name']}, the owner "
        f"of {NEWCOMER_NUMBER} (what to type: README.md, 'In a browser')"
    )
    typer.echo(
        f"API: curl -X POST {url}/api/session -H 'content-type: application/json' "
        f"""-d '{{"user_id": "demo", "password": "{DEMO_PASSWORD}"}}'"""
    )
    typer.echo(f"     then curl -H 'Authorization: Bearer <token>' {url}/api/certificates")
    typer.echo(f"Mail sent by the portal lands in {settings.var_dir / 'mail'}")
    uvicorn.run(web, host=settings.host, port=settings.port, log_level="warning")


@app.command()
def seed() -> None:
    """Load the demo data into the embedded stores and exit."""
    from services.portal.demo import load_demo_data
    from services.portal.embedded import build_embedded

    system = build_embedded(_settings())

    async def go() -> bool:
        await system.settle()
        loaded = await load_demo_data(system, system.settle)
        await system.settle()
        return loaded

    try:
        loaded = asyncio.run(go())
    finally:
        system.close()
    typer.echo("demo data loaded" if loaded else "demo data already present")


app.add_typer(audit_app, name="audit")
app.add_typer(privacy_app, name="privacy")
app.command("replay")(replay_command)


if __name__ == "__main__":
    app()
