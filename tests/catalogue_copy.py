"""A copy of the shipped intents/ and content/ in a temporary folder, edited the way operators edit it."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.checks.pytest_plugin import SHIPPED_CONTENT, SHIPPED_INTENTS

NEW_EXAMPLE = "兜里没几个钱也想找人帮我打这场官司"
MISSPELT = "people_mediaton"


class CatalogueCopy:
    """intents/ and content/ copied under root; add_example(), break_suggestion() and restore() edit them."""

    def __init__(self, root: Path) -> None:
        self.intents = root / "intents"
        self.content = root / "content"
        shutil.copytree(SHIPPED_INTENTS, self.intents)
        shutil.copytree(SHIPPED_CONTENT, self.content)
        self.legal = self.intents / "public_legal_services.yaml"
        self.original = self.legal.read_text(encoding="utf-8")

    def _line_of(self, key: str) -> int:
        """Index of the `key:` line inside the legal_aid intent."""
        lines = self.original.splitlines()
        start = lines.index("  - id: legal_aid")
        return next(n for n in range(start + 1, len(lines)) if lines[n].strip().startswith(f"{key}:"))

    def add_example(self, example: str = NEW_EXAMPLE) -> None:
        """Add an example phrase to legal_aid."""
        lines = self.original.splitlines(keepends=True)
        at = self._line_of("examples") + 1
        self.legal.write_text("".join([*lines[:at], f"      - {example}\n", *lines[at:]]), encoding="utf-8")

    def break_suggestion(self) -> int:
        """Misspell an intent id in legal_aid's suggestions, as an operator might; returns the 1-based line."""
        lines = self.original.splitlines(keepends=True)
        at = self._line_of("suggest")
        lines[at] = f"    suggest: [legal_consultation, {MISSPELT}]\n"
        self.legal.write_text("".join(lines), encoding="utf-8")
        return at + 1

    def restore(self) -> None:
        """Put the file back as shipped."""
        self.legal.write_text(self.original, encoding="utf-8")
