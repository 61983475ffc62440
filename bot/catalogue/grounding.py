"""Checks that answers state only what the report states: figures, excerpts, no invented contacts."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from rapidfuzz import fuzz

from bot.catalogue.numerals import figures_in, values_in

# National, stable numbers that answers may give without the report (intent-catalogue.md).
ALLOWED_FIGURES = frozenset({"12348", "12345", "110", "120", "119"})  # national numbers (spec)
_ALLOWED_VALUES = frozenset(Decimal(n) for n in ALLOWED_FIGURES)
NEAR_EXCERPT = 75  # rapidfuzz partial alignment (0-100) of an excerpt to a passage worth showing as "the nearest"

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

    def has_value(self, value: Decimal, is_percent: bool) -> bool:
        """True when a source states the value, in Arabic digits or Chinese numerals (3491件, 三千四百九十一件)."""
        return (value.normalize(), is_percent) in _values(self.text)


def figures(text: str) -> list[str]:  # Arabic only; figures_in() also reads Chinese numerals
    """Every figure in a text: integers, decimals, percentages and ordinals (第7)."""
    return _FIGURE.findall(unicodedata.normalize("NFKC", text))


def ungrounded_figures(text: str, corpus: Corpus) -> list[str]:
    """Figures in the text (Arabic or Chinese) that neither the corpus nor the allowlist states, as written."""
    missing = []
    for figure in figures_in(text):
        if figure.is_ordinal and figure.written.lstrip("第") in ALLOWED_FIGURES:
            continue
        if not figure.is_percent and figure.value in _ALLOWED_VALUES:
            continue
        if figure.written[:1].isdigit() or figure.is_ordinal:
            if corpus.has_figure(figure.written):
                continue
            if figure.is_ordinal:  # 第7: an ordinal is grounded by the same ordinal, as written
                missing.append(figure.written)
                continue
        if not corpus.has_value(figure.value, figure.is_percent):
            missing.append(figure.written)
    return missing


@functools.lru_cache(maxsize=4)
def _values(text: str) -> frozenset[tuple[Decimal, bool]]:
    return values_in(text)


def _bare(text: str) -> tuple[str, list[int]]:
    """The text without punctuation or spaces (NFKC), and where each kept character stood."""
    kept, where = [], []
    for n, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch)
        if folded.isspace() or all(unicodedata.category(c)[0] in "PSZ" for c in folded):
            continue
        kept.append(folded)
        where.append(n)
    return "".join(kept), where


@functools.lru_cache(maxsize=4)
def _bare_corpus(text: str) -> tuple[str, list[int]]:
    return _bare(text)


def excerpt_hint(excerpt: str, corpus: Corpus) -> str:
    """Why an excerpt not in the report is close to it: "标点不同" with the passage, the nearest passage, or ""."""
    wanted, _ = _bare(excerpt.strip())
    if not wanted or not corpus.text:
        return ""
    bare, where = _bare_corpus(corpus.text)
    at = bare.find(wanted)
    if at >= 0:
        passage = corpus.text[where[at]:where[at + len(wanted) - 1] + 1]
        return f"；摘录和报告原文只是标点不同，报告原文是：“{passage}”，请照原文复制（包括标点）"
    found = fuzz.partial_ratio_alignment(excerpt.strip(), corpus.text, score_cutoff=NEAR_EXCERPT)
    if found is None:
        return ""
    passage = corpus.text[found.dest_start:found.dest_end]
    return f"；报告里最接近的一段是：“{passage}”，请对照原文改正"


def unsupported_claims(text: str, corpus: Corpus) -> list[str]:
    """Claim words (free of charge, hours, eligibility) in the text that the corpus never uses."""
    return [w for w in CLAIM_WORDS if w in text and w not in corpus.text]


def web_addresses(text: str) -> list[str]:
    """Web addresses in a text (the report states none, so an answer may state none)."""
    return _URL.findall(unicodedata.normalize("NFKC", text))
