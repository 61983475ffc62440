"""Background services that run beside a channel: catalogue hot reload and the event log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Settings
from bot.engine import Engine


@asynccontextmanager
async def services(engine: Engine, settings: Settings) -> AsyncIterator[None]:
    """Start the services for a running bot and stop them (flushing what they hold) on exit."""
    yield
