"""The exceptions the bot raises; all descend from BotError."""

from __future__ import annotations

from dataclasses import dataclass


class BotError(Exception):
    """Root of every error the bot raises on purpose."""


@dataclass(frozen=True, slots=True, order=True)
class Source:
    """Where something was read from: a file and a 1-based line (0 when unknown)."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong (or suspicious) in an operator's file."""

    source: Source
    message: str
    is_warning: bool = False

    def __str__(self) -> str:
        kind = "警告" if self.is_warning else "错误"
        return f"{self.source}: {kind}: {self.message}"


class CatalogueError(BotError):
    """The intent or content files cannot be loaded; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(sorted(p for p in problems if not p.is_warning))
        self.warnings = tuple(sorted(p for p in problems if p.is_warning))  # shown beside the errors
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(BotError):
    """A setting from the environment or the command line is missing or malformed."""
