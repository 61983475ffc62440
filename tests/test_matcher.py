"""analyse(), rank() and decide(): what a message matches, as tables over a small catalogue and the shipped one."""

from __future__ import annotations

import pytest
from catalogue_factory import write_catalogue

from bot.catalogue.loader import Catalogue, load_catalogue
from bot.matching.decision import Match, Outcome, decide
from bot.matching.index import SCANNED_CHARS, analyse
from bot.matching.ranking import rank
from bot.matching.scoring import Ranking, Scored
from bot.catalogue.model import MatcherSettings


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    return load_catalogue(*write_catalogue(tmp_path_factory.mktemp("small")))


def match(text: str, cat: Catalogue) -> Match:
    return decide(rank(analyse(text, cat.settings), cat.index), cat.settings)


def ranking(text: str, cat: Catalogue) -> Ranking:
    return rank(analyse(text, cat.settings), cat.index)


LONG_STORY = (
    "我老公前年出车祸走了，婆家现在不让我们母子住老房子，还说房子跟我们没关系。"
    "我一个人带孩子打零工，实在没钱请律师，听人说政府可以帮忙，请问我能申请法律援助吗？"
)

# (message, intent) pairs every correct matcher answers on the small catalogue
ANSWERED = [
    # plain
    ("法律援助怎么申请", "legal_aid"),
    ("公证处在哪里", "notarization"),
    ("邻居纠纷能找人调解吗", "people_mediation"),
    # homophone and dropped-character typos from pinyin input
    ("法律缘助怎么申请", "legal_aid"),
    ("法律援住", "legal_aid"),
    ("法律援助怎么申", "legal_aid"),
    ("公正", "notarization"),
    ("遗嘱能公正吗", "notarization"),
    ("人民调节", "people_mediation"),
    # 繁體
    ("我媽想申請法律援助", "legal_aid"),
    ("鄰居糾紛能找人調解嗎", "people_mediation"),
    # full-width characters and spaces
    ("法律援助　怎么申请？", "legal_aid"),
    ("ｈｅｌｌｏ", "greeting"),
    # emoji and filler words
    ("请问一下法律援助😀😀", "legal_aid"),
    ("那个，嗯，法援", "legal_aid"),
    ("嗯嗯公证处在哪里呀🙏", "notarization"),
    # one-word queries
    ("法援", "legal_aid"),
    ("公证", "notarization"),
    ("调解", "people_mediation"),
    # a long story that ends in a question
    (LONG_STORY, "legal_aid"),
    (
        "我家楼上邻居天天半夜吵，吵得孩子睡不着，物业也不管，我上去说了好几次都没用，想问问能不能找人来调解一下",
        "people_mediation",
    ),
    # small talk
    ("你好", "greeting"),
    ("谢谢", "thanks"),
    ("拜拜", "goodbye"),
]


@pytest.mark.parametrize(("text", "intent"), ANSWERED)
def test_small_catalogue_answers(small: Catalogue, text: str, intent: str) -> None:
    m = match(text, small)
    assert (m.outcome, m.intent) == (Outcome.ANSWER, intent), m


@pytest.mark.parametrize(
    "text",
    [
        "今天天气怎么样啊",
        "后天会下雨吗",
        "红烧肉怎么做才好吃",
        "给我讲个笑话吧",
        "最近有什么好看的电影推荐",
    ],
)
def test_out_of_scope_falls_back(small: Catalogue, text: str) -> None:
    m = match(text, small)
    assert m.outcome is Outcome.FALLBACK, m
    assert m.intent is None


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "？？！！"])
def test_nothing_to_match_falls_back(small: Catalogue, text: str) -> None:
    m = match(text, small)
    assert (m.outcome, m.intent) == (Outcome.FALLBACK, None)


SHIPPED_ANSWERED = [
    ("法律援助怎么申请", "legal_aid"),
    ("法律缘助", "legal_aid"),
    ("法律援住", "legal_aid"),
    ("我媽想申請法律援助", "legal_aid"),
    ("法援", "legal_aid"),
    ("请问一下法律援助😀", "legal_aid"),
    (LONG_STORY, "legal_aid"),
    ("公证", "notarization"),
    ("公正", "notarization"),
    ("遗嘱能公证吗", "notarization"),
    ("人民调节", "people_mediation"),
    ("邻居纠纷能找人调解吗", "people_mediation"),
    ("哪里可以免费咨询法律问题", "legal_consultation"),
    ("哪些事情可以在网上办", "online_gov_services"),
    ("你好", "greeting"),
    ("ｈｅｌｌｏ", "greeting"),
]


@pytest.mark.parametrize(("text", "intent"), SHIPPED_ANSWERED)
def test_shipped_catalogue_answers(shipped_catalogue: Catalogue, text: str, intent: str) -> None:
    m = match(text, shipped_catalogue)
    assert m.outcome is Outcome.ANSWER, m
    assert (m.intent or "").split(".")[0] == intent, m


@pytest.mark.parametrize("text", ["今天天气怎么样", "红烧肉怎么做", "帮我订一张去杭州的机票"])
def test_shipped_catalogue_does_not_answer_out_of_scope(shipped_catalogue: Catalogue, text: str) -> None:
    assert match(text, shipped_catalogue).intent is None


# --- decide(): thresholds applied to literal rankings -------------------------------------------------

SETTINGS = MatcherSettings(answer_threshold=0.7, clarify_threshold=0.5, ambiguity_gap=0.1, max_suggestions=3)


def scored(*pairs: tuple[str, float]) -> tuple[Scored, ...]:
    return tuple(Scored(i, s, i) for i, s in pairs)


@pytest.mark.parametrize(
    ("ranked", "oos", "outcome", "intent", "offered"),
    [
        # clear winner
        (scored(("a", 0.95), ("b", 0.4)), 0.0, Outcome.ANSWER, "a", None),
        (scored(("a", 0.95)), 0.0, Outcome.ANSWER, "a", None),
        # a finer intent of the same topic is no rival
        (scored(("a", 0.9), ("a.apply", 0.89), ("b", 0.3)), 0.0, Outcome.ANSWER, "a", None),
        # two topics too close: ask
        (scored(("a", 0.9), ("b", 0.85)), 0.0, Outcome.CLARIFY, None, ("a", "b")),
        # plausible but not sure, with a close rival: ask
        (scored(("a", 0.6), ("b", 0.56), ("c", 0.2)), 0.0, Outcome.CLARIFY, None, ("a", "b")),
        # nothing fits
        (scored(("a", 0.3), ("b", 0.2)), 0.0, Outcome.FALLBACK, None, None),
        ((), 0.0, Outcome.FALLBACK, None, None),
        # the message is closer to an out-of-scope example than to any intent
        (scored(("a", 0.8)), 0.95, Outcome.FALLBACK, None, None),
        # below the answer threshold but far ahead of every rival: answered
        (scored(("a", 0.65), ("b", 0.3)), 0.0, Outcome.ANSWER, "a", None),
    ],
)
def test_decide(
    ranked: tuple[Scored, ...], oos: float, outcome: Outcome, intent: str | None, offered: tuple[str, ...] | None
) -> None:
    m = decide(Ranking(ranked, out_of_scope=oos), SETTINGS)
    assert (m.outcome, m.intent) == (outcome, intent), m
    assert 0.0 <= m.score <= 1.0
    if offered is not None:
        assert tuple(s.intent for s in m.candidates) == offered


def test_a_faint_lead_is_asked_about_however_far_ahead() -> None:
    settings = MatcherSettings(clarify_threshold=0.4, answer_threshold=0.6, clear_margin=0.15)
    assert decide(Ranking(scored(("a", 0.55), ("b", 0.3))), settings).outcome is Outcome.ANSWER
    faint = decide(Ranking(scored(("a", 0.42), ("b", 0.1))), settings)
    assert (faint.outcome, [s.intent for s in faint.candidates]) == (Outcome.CLARIFY, ["a"])


def test_clarify_offers_at_most_the_limit_of_distinct_topics() -> None:
    ranked = scored(("a", 0.8), ("a.apply", 0.79), ("b", 0.78), ("c", 0.77), ("d", 0.76), ("e", 0.75))
    m = decide(Ranking(ranked), SETTINGS)
    assert m.outcome is Outcome.CLARIFY
    topics = [s.intent.split(".")[0] for s in m.candidates]
    assert 2 <= len(topics) <= 3
    assert len(set(topics)) == len(topics), topics
    assert topics[0] == "a"


def test_clarify_respects_max_suggestions() -> None:
    ranked = scored(("a", 0.8), ("b", 0.79), ("c", 0.78))
    m = decide(Ranking(ranked), MatcherSettings(answer_threshold=0.7, clarify_threshold=0.5, ambiguity_gap=0.1,
                                                max_suggestions=2))
    assert m.outcome is Outcome.CLARIFY
    assert [s.intent for s in m.candidates] == ["a", "b"]


def test_runner_up_is_another_topic() -> None:
    m = decide(Ranking(scored(("a", 0.95), ("a.apply", 0.9), ("b", 0.5))), SETTINGS)
    assert m.runner_up is not None
    assert m.runner_up.intent == "b"


# --- rank(): the best score per intent ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["法律援助怎么申请", "公证", "我媽想申請法律援助", LONG_STORY, "红烧肉怎么做", "嗯"])
def test_rank_gives_one_score_per_intent_best_first(small: Catalogue, text: str) -> None:
    r = ranking(text, small)
    ids = [s.intent for s in r.intents]
    assert len(ids) == len(set(ids)), ids
    assert set(ids) <= set(small.intents)
    scores = [s.score for s in r.intents]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert 0.0 <= r.out_of_scope <= 1.0
    assert 0.0 <= r.followup <= 1.0


def test_runner_up_of_a_real_message_is_another_intent(small: Catalogue) -> None:
    # legal_aid has several examples close to this message; the runner-up must still be another intent
    m = match("什么人可以申请法律援助", small)
    assert m.intent == "legal_aid"
    assert m.runner_up is None or m.runner_up.intent.split(".")[0] != "legal_aid"


def test_scores_are_calibrated(small: Catalogue) -> None:
    exact = match("法律援助怎么申请", small)
    typo = match("法律缘助怎么申请", small)
    unrelated = next((s.score for s in ranking("红烧肉怎么做", small).intents if s.intent == "legal_aid"), 0.0)
    assert exact.score == pytest.approx(1.0)
    assert 0.0 <= unrelated < typo.score <= exact.score <= 1.0
    assert exact.score >= small.settings.answer_threshold


@pytest.mark.parametrize("text", ["公证和调解", "调解和公证哪个好", "公证跟调解有什么区别"])
def test_a_message_naming_two_topics_is_clarified_with_both(small: Catalogue, text: str) -> None:
    m = match(text, small)
    assert m.outcome is Outcome.CLARIFY, m
    offered = {s.intent for s in m.candidates}
    assert {"people_mediation", "notarization"} <= offered
    assert len(m.candidates) <= small.settings.max_suggestions


def test_analyse_reads_at_most_max_message_chars(small: Catalogue) -> None:
    q = analyse("法律援助" * 25_000, small.settings)
    limit = small.settings.max_message_chars
    assert len(q.core) <= limit  # what is matched
    assert len(q.text) <= SCANNED_CHARS  # what emergency triggers are looked for in


def test_analyse_strips_fillers_but_keeps_a_filler_only_message(small: Catalogue) -> None:
    assert analyse("请问一下，法援", small.settings).core == "法援"
    assert analyse("嗯嗯", small.settings).core != ""
