"""The matcher's shortcuts give what the plain computation gives: the same places, scores and guesses."""

from __future__ import annotations

import pickle
import re
from dataclasses import replace

import numpy as np
from rapidfuzz import fuzz

from bot.catalogue.loader import Catalogue
from bot.catalogue.model import topic_of
from bot.matching.danger import danger_opinion
from bot.matching.learned import features, train
from bot.matching.decision import clear_answer
from bot.matching.ranking import _rank_afresh, _recently, examine, read_in_topic
from bot.matching.scoring import _likeness_many, unexplained
from bot.matching.triggers import Trigger, spans


def test_a_plain_triggers_places_are_those_a_regular_expression_finds() -> None:
    texts = ["哈哈哈哈哈", "他打过我，又打我，打打打", "没有", "打我\n打我"]
    for phrase in ("哈哈", "打我", "打", "没有人"):
        for text in texts:
            expected = [(m.start(), m.end()) for m in re.finditer(re.escape(phrase), text)]
            if "过" in text and len(phrase) >= 2:
                expected += [(m.start(), m.end()) for m in re.finditer(re.escape(phrase[0] + "过" + phrase[1:]), text)]
            assert spans(text, text, Trigger("emergency", phrase, "xx")) == expected


def _plain_likeness(query_key: str, key: str, whole_only: bool) -> float:
    """The likeness as first written: both ratios computed for every key."""
    whole, part = fuzz.ratio(query_key, key) / 100, fuzz.partial_ratio(query_key, key) / 100
    n, m = len(query_key), len(key)
    if whole_only:
        return whole
    if n > m >= 2:
        return max(whole, part * (0.5 + 0.5 * min(m, 10) / 10))
    if 2 <= n < m:
        return max(whole, part * (0.3 + 0.3 * n / m))
    return whole


def test_likeness_cut_short_by_a_floor_is_the_same_once_the_floor_is_taken() -> None:
    query = "我家住在乡下年纪大了不太会用手机孩子都在外地打工想问法律援助怎么申请"
    keys = ["法律援助怎么申请", "申请法律援助", "法律援助", "援助", "乡下", "怎么申请低保", "手机",
            query, query + "要带什么", "律师", "离婚怎么办"]
    for query_key in (query, "法律援助", "援助申请", "申"):
        for floor in (0.0, 0.2, 0.45, 0.5, 0.8, 1.0):
            for whole_only in (False, True):
                found = _likeness_many(query_key, keys, [whole_only] * len(keys), [floor] * len(keys))
                plain = [_plain_likeness(query_key, key, whole_only) for key in keys]
                assert [max(f, floor) for f in found] == [max(p, floor) for p in plain]
        assert _likeness_many(query_key, keys, [False] * len(keys)) == [
            _plain_likeness(query_key, key, False) for key in keys]


def _plain_guesses(model, core: str, key: str) -> tuple[tuple[str, str], float]:  # type: ignore[no-untyped-def]
    """The first two classes by a stable sort of every class's score, postings gathered one by one."""
    cols = [model.columns[f] for f in features(core, key) if f in model.columns]
    lifted = np.zeros(len(model.classes))
    for c in cols:
        for p in range(model.starts[c], model.starts[c + 1]):
            lifted[model.posted[p]] += model.lift[p]
    scores = model.prior + len(cols) * model.default + lifted
    first, second = np.argsort(-scores, kind="stable")[:2]
    return (model.classes[first], model.classes[second]), float(scores[first] - scores[second])


def test_the_models_guesses_are_those_of_a_full_sort_with_few_or_many_postings_a_gram() -> None:
    # 120 classes all holding 办 and 证 (many postings a gram), and a few grams of their own; two
    # classes with the same documents tie, and the earlier one comes first.
    docs = [(f"c{n:03d}", f"办证{chr(0x4E00 + n)}", f"ban zheng {n}") for n in range(120)]
    docs += [("c000", "办证一", "ban zheng 0"), ("twin", "办证一", "ban zheng 0"), ("", "天气", "tian qi")]
    model = train(docs)
    assert model is not None
    for core, key in (("办证一", "ban zheng 0"), ("办证", "ban zheng"), ("天气办证", "tian qi"), ("办", "ban"),
                      (chr(0x4E05), "x")):
        opinion = model.opinion(core, key)
        guesses, margin = _plain_guesses(model, core, key)
        assert opinion.guesses == guesses
        assert abs(opinion.margin - margin) < 1e-9


def test_the_danger_model_reading_the_learned_models_n_grams_reads_as_it_would_alone(
        shipped_catalogue: Catalogue) -> None:
    index, danger, settings = shipped_catalogue.index, shipped_catalogue.danger, shipped_catalogue.settings
    for text in ("我老公又打我了", "家暴了怎么申请法律援助", "救命", "法律援助怎么申请",
                 "我家住在乡下，孩子都在外地打工，这件事拖了好久，邻居天天上门吵还说要弄死我，人民调解管不管"):
        examined = examine(text, index)
        assert examined.grams == features(examined.query.core, examined.query.key)
        # The whole message's reading; `at_end` (a long story's end read alone) is added beside it.
        assert replace(examined.learned, at_end=None) == index.learned.opinion(examined.query.core, examined.query.key)
        assert danger_opinion(examined.query, danger, settings, examined.grams) == danger_opinion(
            examined.query, danger, settings)
        # A match worker sends no n-grams back; the serving process builds them again.
        assert pickle.loads(pickle.dumps(examined)).grams is None


def _plain_read_in_topic(text: str, topic: str, name: str, alone, index, asking):  # type: ignore[no-untyped-def]
    """read_in_topic() as first written: the whole reading examined, then every check."""
    w = index.settings.weights
    if unexplained(alone.query, index) > w.unexplained_free:
        return None
    read = examine(f"{name} {text}", index)
    found = clear_answer(read.ranking, index.settings, index.whole_message)
    if found is None or read.learned.guesses[:1] != (topic_of(found.intent),):
        return None
    lead, guesses = (alone.ranking.intents or (None,))[0], alone.learned.guesses
    if (lead is not None and topic_of(lead.intent) != topic_of(found.intent) and guesses[:1] == (topic_of(lead.intent),)
            and (clear_answer(alone.ranking, index.settings, index.whole_message) is not None
                 or alone.learned.margin >= w.model_disagrees)):
        return None
    if topic_of(found.intent) != topic_of(topic) and any(word in alone.query.core for word in asking):
        return None
    return found


def test_a_follow_up_read_in_its_topic_settles_on_what_the_whole_reading_would(shipped_catalogue: Catalogue) -> None:
    cat = shipped_catalogue
    texts = ["招人吗", "那去年办了多少件", "要带什么材料", "能在网上办吗", "律师收了钱不办事", "那公证呢",
             "邻居纠纷能找调解吗", "多久能有结果", "去哪投诉", "天气怎么样", "我想离婚", "要钱吗", "?"]
    settled = 0
    for topic in sorted(cat.intents)[::3]:
        for text in texts:
            alone = examine(text, cat.index)
            found = read_in_topic(text, topic, cat.title(topic), alone, cat.index, cat.facets.words)
            assert found == _plain_read_in_topic(text, topic, cat.title(topic), alone, cat.index, cat.facets.words)
            settled += found is not None
    assert settled  # some readings settle, so both branches are compared


def test_a_kept_ranking_is_the_ranking_afresh_and_clause_starts_count_only_in_a_story(
        shipped_catalogue: Catalogue) -> None:
    index = shipped_catalogue.index
    stories = 0
    for text in ("法律援助怎么申请", "房东不退押金，人民调解管不管", "手机上能续执照吗？？烦死了",
                 "我家住在乡下，年纪大了不太会用手机，孩子都在外地打工，这件事拖了好久，不想打官司，人民调解管不管"):
        query = examine(text, index).query
        plain = replace(query, breaks=())
        for q in (query, plain, query):  # the second and third are kept rankings when they may be
            assert _recently(q, index) == _rank_afresh(q, index, None)
        if query.length <= index.settings.weights.story_length:
            assert _rank_afresh(plain, index, None) == _rank_afresh(query, index, None)
        else:
            stories += 1
    assert stories == 1
