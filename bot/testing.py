"""pytest plugin: shared fixtures for the bot's tests (enabled by tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalogue import Catalogue, load_catalogue
from bot.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_INTENTS = ROOT / "intents"
SHIPPED_CONTENT = ROOT / "content"


@pytest.fixture(scope="session")
def shipped_catalogue() -> Catalogue:
    """The catalogue shipped in intents/ and content/, loaded once per test session."""
    return load_catalogue(SHIPPED_INTENTS, SHIPPED_CONTENT)


@pytest.fixture
def engine(shipped_catalogue: Catalogue) -> Engine:
    """A fresh engine (empty context) on the shipped catalogue."""
    return Engine(shipped_catalogue, SHIPPED_INTENTS, SHIPPED_CONTENT)
