"""pytest plugin: shared fixtures, and conversation YAML files collected as tests (enabled by tests/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.catalogue.loader import Catalogue, load_catalogue
from bot.checks.conversation_format import (
    Conversation,
    ConversationFileError,
    read_conversations,
    shown_path,
)
from bot.checks.conversation_runner import CHANNELS, ConversationResult, run_conversations
from bot.checks.conversations import format_failure
from bot.engine import Engine
from bot.errors import CatalogueError, Problem

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_INTENTS = ROOT / "intents"
SHIPPED_CONTENT = ROOT / "content"

_catalogue_key = pytest.StashKey[Catalogue | CatalogueError]()


@pytest.fixture(scope="session")
def shipped_catalogue() -> Catalogue:
    """The catalogue shipped in intents/ and content/, loaded once per test session."""
    return load_catalogue(SHIPPED_INTENTS, SHIPPED_CONTENT)


@pytest.fixture
def engine(shipped_catalogue: Catalogue) -> Engine:
    """A fresh engine (empty context) on the shipped catalogue."""
    return Engine(shipped_catalogue, SHIPPED_INTENTS, SHIPPED_CONTENT)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("legalbot", "conversation tests (tests/conversations/*.yaml)")
    group.addoption("--conversation-channel", choices=CHANNELS, default="engine",
                    help="run conversation files through the engine (default), the Telegram channel or the HTTP API")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> ConversationFile | None:
    """YAML files inside a `conversations` folder are conversation tests; other YAML is left alone."""
    if file_path.suffix in {".yaml", ".yml"} and "conversations" in file_path.parent.parts:
        return ConversationFile.from_parent(parent, path=file_path)
    return None


class ConversationFile(pytest.File):
    """One conversation file; a bad file fails collection with every problem at file:line."""

    def collect(self) -> Iterator[ConversationItem]:
        problems: list[Problem] = []
        conversations = read_conversations(self.path, shown_path(self.path), problems)
        if problems:
            raise ConversationFileError(problems)
        for conversation in conversations:
            yield ConversationItem.from_parent(self, name=conversation.name, conversation=conversation)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, ConversationFileError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class ConversationFailed(Exception):
    """A conversation did not go as written; carries the result for the transcript."""

    def __init__(self, result: ConversationResult) -> None:
        super().__init__(result.conversation.name)
        self.result = result


class ConversationItem(pytest.Item):
    """One conversation, played against the shipped catalogue on a fresh engine."""

    def __init__(self, *, conversation: Conversation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conversation = conversation

    def _catalogue(self) -> Catalogue:
        """Loaded once per session; a catalogue that does not load fails every item with its problems."""
        stash = self.config.stash
        if _catalogue_key not in stash:
            try:
                stash[_catalogue_key] = load_catalogue(SHIPPED_INTENTS, SHIPPED_CONTENT)
            except CatalogueError as exc:
                stash[_catalogue_key] = exc
        loaded = stash[_catalogue_key]
        if isinstance(loaded, CatalogueError):
            raise loaded
        return loaded

    def runtest(self) -> None:
        channel = self.config.getoption("conversation_channel")
        results = asyncio.run(run_conversations([self.conversation], self._catalogue(), channel))
        if not results[0].is_passed:
            raise ConversationFailed(results[0])

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ConversationFailed):
            return format_failure(excinfo.value.result)
        if isinstance(excinfo.value, CatalogueError):
            return f"{excinfo.value}\n意图或答案文件有错误，对话没有运行；请运行 legalbot validate 查看。"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.conversation.source.line - 1, f"conversation: {self.name}"
