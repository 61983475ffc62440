"""Properties that hold for any text at all: normalize() and the engine never fail, and stay bounded."""

from __future__ import annotations

import unicodedata

import pytest
from catalogue_factory import write_catalogue
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.catalogue.loader import Catalogue, load_catalogue
from bot.engine import Engine
from bot.matching.index import SCANNED_CHARS
from bot.matching.index import analyse
from bot.matching.ranking import rank
from bot.matching.normalize import normalize

# NFKC expands one character to at most 18 (U+FDFA); casefolding at most triples one.
GROWTH = 18
KINDS = {"answer", "followup", "safety", "emergency", "clarify", "fallback", "too_long", "rephrase", "stale_button",
         "no_such_number"}

# What citizens type: Chinese in both scripts, full-width forms, emoji, fillers, punctuation, zero-width.
_PIECES = [
    "法律援助", "法援", "公证", "公正", "调解", "人民调节", "申請", "媽", "網上辦", "怎么", "那要多久", "在哪里办",
    "他又在打我", "不想活", "打官司", "请问一下", "那个", "嗯", "啊", "吧", "？", "！", "，", "。", "…", "～",
    "　", " ", "\n", "\t", "ＡＢＣ", "１２３４８", "hello", "😀", "🙏", "❤️", "👍🏻", "\u200b", "\ufeff", "\u202e",
    "ß", "İ", "ﷺ", "ﬁ", "\x00", "\x7f", "_", "-", "%",
]
citizen_text = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)
any_text = st.one_of(st.text(max_size=300), citizen_text)
with_surrogates = st.text(
    st.one_of(st.characters(), st.characters(categories=["Cs"])), min_size=1, max_size=50
)

FAST = settings(max_examples=150, deadline=None)


@FAST
@given(any_text)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@FAST
@given(any_text)
def test_normalize_leaves_only_letters_and_digits(text: str) -> None:
    out = normalize(text)
    for ch in out:
        assert ch.isalnum(), (ch, unicodedata.name(ch, hex(ord(ch))))
        assert unicodedata.category(ch)[0] not in "PZSC", ch


@FAST
@given(any_text)
def test_normalize_output_is_bounded_by_its_input(text: str) -> None:
    assert len(normalize(text)) <= len(text) * GROWTH


@FAST
@given(with_surrogates)
def test_normalize_never_raises_even_on_lone_surrogates(text: str) -> None:
    # JSON bodies can carry "\ud800": json.loads gives Python a lone surrogate.
    out = normalize(text)
    assert isinstance(out, str)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    return load_catalogue(*write_catalogue(tmp_path_factory.mktemp("small")))


@pytest.fixture(scope="module")
def engine(small: Catalogue) -> Engine:
    return Engine(small)


def _check(reply_text: str, confidence: float, kind: str, intent: str | None, cat: Catalogue) -> None:
    assert reply_text.strip()
    assert 0.0 <= confidence <= 1.0
    assert kind in KINDS
    assert intent is None or intent in cat.intents


@FAST
@given(text=any_text, user=st.sampled_from(["a", "b", "c"]))
def test_engine_replies_to_any_text(engine: Engine, small: Catalogue, text: str, user: str) -> None:
    reply = engine.respond(user, text)
    _check(reply.text, reply.confidence, reply.kind, reply.intent, small)
    assert len(reply.suggestions) <= small.settings.max_suggestions
    assert all(s in small.intents for s in reply.suggestions)


@FAST
@given(text=with_surrogates)
def test_engine_replies_even_to_lone_surrogates(engine: Engine, small: Catalogue, text: str) -> None:
    reply = engine.respond("u", text)
    _check(reply.text, reply.confidence, reply.kind, reply.intent, small)


@settings(max_examples=60, deadline=None)
@given(piece=citizen_text.filter(bool), times=st.integers(min_value=1, max_value=20_000))
def test_analyse_reads_a_bounded_prefix(small: Catalogue, piece: str, times: int) -> None:
    text = (piece * times)[:120_000]
    query = analyse(text, small.settings)
    limit = small.settings.max_message_chars
    assert len(query.text) <= SCANNED_CHARS
    assert len(query.core) <= limit


@FAST
@given(any_text)
def test_rank_scores_stay_in_range_one_per_intent(small: Catalogue, text: str) -> None:
    ranking = rank(analyse(text, small.settings), small.index)
    ids = [s.intent for s in ranking.intents]
    assert len(ids) == len(set(ids))
    assert all(0.0 <= s.score <= 1.0 for s in ranking.intents)
    assert 0.0 <= ranking.out_of_scope <= 1.0
    assert 0.0 <= ranking.followup <= 1.0
