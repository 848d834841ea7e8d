"""What the page modules are built with (the same objects the JSON API uses)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from services.portal.gateway import CommandGateway
from shared.clock import Clock


@dataclass(frozen=True)
class WebContext:
    engine: Engine
    gateway: CommandGateway
    open_sealed: Callable[[str], str | None]
    clock: Clock
