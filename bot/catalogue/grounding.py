"""Checks that answers state only what the report states: figures, excerpts, no invented contacts."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# National, stable numbers that answers may give without the report (intent-catalogue.md).
ALLOWED_FIGURES = frozenset({"12348", "12345", "110", "120", "119"})  # national numbers (spec)

# Words that promise what only the report could promise: costs, eligibility, hours. An answer may
# use one only if the report does; otherwise it says where to ask (12348, 12345).
CLAIM_WORDS = ("免费", "无偿", "不收费", "不要钱", "收费标准", "办公时间", "上班时间", "营业时间",
               "工作时间", "经济困难", "低保")

_FIGURE = re.compile(r"第?\d+(?:\.\d+)?%?")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|cn|net|org|gov)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Corpus:
    """The source documents answers are grounded in (content/sources/*.txt)."""

    text: str

    def has_excerpt(self, excerpt: str) -> bool:
        """True when the excerpt appears verbatim in a source document."""
        return bool(excerpt.strip()) and excerpt.strip() in self.text

    def has_figure(self, figure: str) -> bool:
        """True when the figure stands in a source as a whole number (760 is not in 7600)."""
        pattern = rf"(?<![\d.]){re.escape(figure)}(?![\d]|\.\d)"
        return re.search(pattern, self.text) is not None


def figures(text: str) -> list[str]:
    """Every figure in a text: integers, decimals, percentages and ordinals (第7)."""
    return _FIGURE.findall(unicodedata.normalize("NFKC", text))


def ungrounded_figures(text: str, corpus: Corpus) -> list[str]:
    """Figures in the text that neither the corpus nor the allowlist states."""
    missing = []
    for figure in figures(text):
        if figure in ALLOWED_FIGURES or figure.lstrip("第") in ALLOWED_FIGURES:
            continue
        if not corpus.has_figure(figure):
            missing.append(figure)
    return missing


def unsupported_claims(text: str, corpus: Corpus) -> list[str]:
    """Claim words (free of charge, hours, eligibility) in the text that the corpus never uses."""
    return [w for w in CLAIM_WORDS if w in text and w not in corpus.text]


def web_addresses(text: str) -> list[str]:
    """Web addresses in a text (the report states none, so an answer may state none)."""
    return _URL.findall(unicodedata.normalize("NFKC", text))
