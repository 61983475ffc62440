"""The index's shortcuts: the n-gram prefilter and the topic-word lookup must not lose what a full scan finds."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.catalogue.loader import Catalogue
from bot.matching.clauses import split
from bot.matching.index import Index, RowKind, analyse, build_index, candidates, clause_breaks
from bot.catalogue.model import MatcherSettings
from bot.matching.normalize import prepare

SETTINGS = MatcherSettings()
COMMON = "我想问一下怎么办理"


def synthetic_index(shipped: Catalogue, n_intents: int = 60, per_intent: int = 20, seed: int = 3) -> Index:
    """Many intents whose examples share common words, each with two rare characters of its own."""
    rng = random.Random(seed)
    template = next(iter(shipped.intents.values()))
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    intents = []
    for n in range(n_intents):
        own = alphabet[2 * n] + alphabet[2 * n + 1]
        examples = tuple(
            "".join(rng.sample(COMMON, 4)) + own + "".join(rng.choices(alphabet[200:], k=3)) for _ in range(per_intent)
        )
        intents.append(replace(template, id=f"i{n}", examples=examples, keywords=(own,), triggers=()))
    return build_index(intents, (), (), SETTINGS)


@pytest.fixture(scope="module")
def big(shipped_catalogue: Catalogue) -> Index:
    return synthetic_index(shipped_catalogue)


def test_prefilter_keeps_the_examples_sharing_the_rare_grams(big: Index) -> None:
    own = big.texts[big.by_owner["i17"][0]][4:6]
    rows = candidates(analyse(f"请问{own}怎么弄", SETTINGS).key, big)
    assert 0 < len(rows) <= 60
    assert not any(big.is_keyword[i] for i in rows)  # topic words are looked up apart
    # Every example of the intent holds the rare pair, so they all rank above the others.
    example_rows = [i for i in big.by_owner["i17"] if not big.is_keyword[i]]
    assert set(rows[: len(example_rows)]) == set(example_rows)


def test_prefilter_is_best_first_and_deterministic(big: Index) -> None:
    key = analyse("我想问一下" + big.texts[big.by_owner["i5"][0]][4:8], SETTINGS).key
    first = candidates(key, big)
    assert first == candidates(key, big)
    assert len(set(first)) == len(first)


def test_stories_get_fewer_candidates(big: Index) -> None:
    story = "".join(big.texts[big.by_owner[f"i{n}"][0]] for n in range(8))
    assert len(candidates(analyse(story, SETTINGS).key, big)) <= 40


def test_longer_stories_get_proportionally_fewer_candidates(big: Index) -> None:
    w = SETTINGS.weights
    texts = [big.texts[big.by_owner[f"i{n}"][0]] for n in range(40)]
    keys = [analyse("".join(texts[:k]), SETTINGS).key for k in range(4, 40)]
    at_most = [key for key in keys if w.story_length < len(key) <= w.aligned_length]
    longer = [key for key in keys if len(key) > 2 * w.aligned_length]
    assert at_most and longer
    assert all(len(candidates(key, big)) == w.story_candidates for key in at_most)
    for key in longer:  # twice as long or more: half the candidates or fewer, never below a quarter
        assert w.story_candidates // 4 <= len(candidates(key, big)) <= w.story_candidates // 2


def test_small_catalogues_score_every_example(shipped_catalogue: Catalogue) -> None:
    index = synthetic_index(shipped_catalogue, n_intents=3, per_intent=5)
    assert sorted(candidates(analyse("随便说点什么", SETTINGS).key, index)) == [
        i for i in range(len(index)) if not index.is_keyword[i]
    ]


def test_nothing_shared_gives_no_candidates(big: Index) -> None:
    assert candidates(analyse("ｘｙｚ", SETTINGS).key, big) == []


def _keyword_rows(index: Index) -> list[int]:
    return [i for i, is_keyword in enumerate(index.is_keyword) if is_keyword]


def _contained(index: Index, text: str) -> set[int]:
    """Topic words the message holds by characters or sound, or (short messages) that hold the message: a full scan."""
    query = analyse(text, SETTINGS)
    short = len(query.core) <= 4
    return {i for i in _keyword_rows(index)
            if index.texts[i] in query.core or index.keys[i] in query.key
            or (short and bool(query.core) and query.core in index.texts[i])}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_topic_word_lookup_finds_every_contained_word(shipped_catalogue: Catalogue, data: st.DataObject) -> None:
    index = shipped_catalogue.index
    words = [index.texts[i] for i in _keyword_rows(index)]
    pieces = data.draw(st.lists(st.sampled_from(words) | st.text("的了我想问他在吗江山", max_size=3), max_size=4))
    text = "".join(pieces)
    query = analyse(text, SETTINGS)
    near = set(index.keywords_near(query, within=len(query.core) <= 4))
    assert _contained(index, text) <= near


def test_follow_up_and_out_of_scope_phrases_are_always_among_the_candidates(shipped_catalogue: Catalogue) -> None:
    # Common words (多少, 一共) are in many examples; the follow-up phrase must still be scored.
    template = next(iter(shipped_catalogue.intents.values()))
    intents = [replace(template, id=f"i{n}", keywords=(), triggers=(),
                       examples=tuple(f"第{n}项服务一共办了多少件{'甲乙丙丁戊'[k]}" for k in range(5)))
               for n in range(40)]
    index = build_index(intents, ("明天天气怎么样",), ("一共多少",), SETTINGS)
    found = candidates(analyse("那一共办了多少件", SETTINGS).key, index)
    assert RowKind.FOLLOWUP in {index.kinds[i] for i in found}


def test_story_examples_lend_no_words_to_the_vocabulary(shipped_catalogue: Catalogue) -> None:
    template = next(iter(shipped_catalogue.intents.values()))
    story = "我在小区门口想开个奶茶店，听说要先办执照再办各种证，搞不清楚顺序，现在是怎么办的"
    index = build_index([replace(template, id="a", keywords=(), triggers=(), examples=("营业执照怎么办", story))],
                        (), (), SETTINGS)
    奶茶 = analyse("奶茶", SETTINGS).key
    执照 = analyse("执照", SETTINGS).key
    assert 执照 in index.vocabulary
    assert 奶茶 not in index.vocabulary


def test_clause_breaks_locate_each_clause_in_the_core() -> None:
    settings = MatcherSettings(fillers=("嗯",))
    text = "嗯，房东不退押金。我不想打官司，能调解吗"
    query = analyse(text, settings)
    breaks = clause_breaks(query.core, [c.text for c in split(prepare(text), settings.words.question_words)], settings)
    assert [query.core[b:b + 2] for b in breaks] == ["房东", "我不", "能调"]
    query = replace(query, breaks=breaks)
    assert query.clause_start(query.core.find("打官司")) == query.core.find("我不")
    assert analyse(text, settings).clause_start(3) is None  # clauses unknown


def test_lengths_are_syllables_and_a_story_tail_keeps_its_story_length() -> None:
    from bot.matching.ranking import tail

    typed = analyse("gongzheng要多少钱", SETTINGS)  # pinyin typed in letters: one syllable each
    assert typed.length == 6 and len(typed.core) > typed.length
    assert typed.syllables_from(typed.core.index("要")) == 4
    story = analyse("我家隔壁邻居天天晚上在楼道里堆放杂物，我们说了好多次都没有用，物业也不管，现在该去哪里申请人民调解呢", SETTINGS)
    end = tail(story, SETTINGS)
    assert story.length > SETTINGS.weights.story_length
    assert end is not None and len(end.key) < story.length and end.length == story.length


def test_candidates_do_not_depend_on_the_hash_seed() -> None:
    """Equally rare n-grams are taken in one order in every process, so a message scores the same
    whichever hash seed the process drew (a set's order follows it)."""
    root = Path(__file__).resolve().parent.parent
    messages = "\n".join(["打完疫苗能喝酒吗", "公证处周末上班吗", "我想问问村里调解委员会管不管邻居吵架"]) + "\n"
    seen = set()
    for seed in ("1", "4", "6"):
        done = subprocess.run([sys.executable, "-m", "bot", "ask", "--jsonl"], input=messages, cwd=root,
                              capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        seen.add(tuple(json.loads(line)["confidence"] for line in done.stdout.splitlines()))
    assert len(seen) == 1, seen
