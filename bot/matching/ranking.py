"""Pure matching: rank() intents by their evidence, clause by clause and by a story's end; examine() a message."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Collection, Set as AbstractSet
from dataclasses import dataclass, field, replace

from bot.catalogue.model import MatcherSettings, topic_of
from bot.matching.clauses import Clause, split
from bot.matching.decision import clear_answer, is_answered
from bot.matching.index import (
    SCANNED_CHARS,
    Index,
    Query,
    RowKind,
    analyse,
    analyse_prepared,
    candidates,
    clause_breaks,
)
from bot.matching.learned import Opinion, features
from bot.matching.normalize import prepare
from bot.matching.places import Place, elsewhere
from bot.matching.scoring import (
    Ranking,
    Scored,
    coverage,
    coverage_weight,
    example_scores,
    shadowed_keywords,
    spread,
    topic_word_score,
    unexplained,
)
from bot.matching.triggers import Trigger, find_trigger


def tail(query: Query, settings: MatcherSettings) -> Query | None:
    """The end of a story, where its question usually is; None for messages that are not stories."""
    if len(query.key) <= settings.weights.story_length or len(query.key) != len(query.core):
        return None
    cut = len(query.core) - len(query.core) // settings.weights.tail_share
    breaks = (0, *(b - cut for b in query.breaks if b > cut)) if query.breaks else ()
    return Query(query.text, query.core[cut:], query.key[cut:], query.exact_key[cut:], breaks, query.length)


# What examine() finds whatever the thresholds (ranking._observe).
Observed = tuple[Query, Trigger | None, tuple[Clause, ...], Place | None, Opinion, AbstractSet[str] | None]


@dataclass(slots=True)
class Memo:
    """Work on messages that no threshold changes, kept for the next call: `legalbot tune`
    (bot.checks.tune) decides the same messages under many thresholds, and only the decisions
    differ. Valid for one catalogue's rows, words and weights; catalogues that differ in their
    thresholds alone may share it."""

    observed: dict[str, Observed] = field(default_factory=dict)
    ranked: dict[tuple[Query, tuple[int, ...] | None], tuple[Ranking, list[int]]] = field(default_factory=dict)


def _by_clauses(ranking: Ranking, query: Query, clauses: tuple[Clause, ...], index: Index,
                memo: Memo | None = None) -> Ranking:
    """Lift the intents that single clauses would be answered with on their own.

    A question next to background or a remark ("房东不退押金，人民调解管不管", "手机上能续执照吗？？
    烦死了") is diluted by the rest when matched whole. A clause that alone would be answered
    speaks for the message: fully when it asks, a little less otherwise. Clauses that name no
    topic ("怎么申请", "去哪里办") are never answered alone, so they lift nothing.
    """
    w = index.settings.weights
    if len(clauses) > w.story_clauses:
        clauses = tuple(c for c in clauses if c.asks)  # in a story, what is not asked is background
    lifted = {s.intent: s for s in ranking.intents}
    changed = False
    asked: set[str] = set()
    for clause in clauses:
        part = analyse(clause.text, index.settings)
        if len(part.key) < 2 or part.key == query.key:
            continue
        found, _ = _rank(part, index, memo=memo)
        top = clear_answer(found, index.settings, index.whole_message)
        if top is None:
            continue
        if len(part.key) <= w.fragment_length and top.example not in part.core:
            continue  # "有用吗" is part of "打了差评有用吗", but says nothing of 差评
        score = round(top.score * (1.0 if clause.asks else w.background), 4)
        if clause.asks:
            asked.add(top.intent)
        if top.intent not in lifted or score > lifted[top.intent].score:
            lifted[top.intent] = top.rescored(score)
            changed = True
    if len(asked) == 1:
        # One question, clearly about one intent: the others are the story around it.
        (question,) = asked
        lifted = {i: s if i == question else s.rescored(round(s.score * w.background, 4)) for i, s in lifted.items()}
        changed = True
    if not changed:
        return ranking
    ranked = sorted(lifted.values(), key=lambda s: (-s.score, s.intent))
    return Ranking(tuple(ranked), ranking.out_of_scope, ranking.followup, ranking.followup_coverage)


def rank(query: Query, index: Index, clauses: tuple[Clause, ...] = (), memo: Memo | None = None) -> Ranking:
    """Score every intent against the message; when that leaves it unclear, also by its clauses
    (bot.matching.clauses.split); stories also by their last part. Best first."""
    return _off_topic(_ranked(query, index, clauses, memo), query, index)


def _off_topic(ranking: Ranking, query: Query, index: Index) -> Ranking:
    """Out of scope when the message holds a word of `out_of_scope_words` (考试, 高考, 招生…) that
    the leading intent's examples never use: 公证员考试 is about an exam, not about notarization,
    while the examples of 司法助理员 recruitment speak of its exam."""
    present = [word for word in index.settings.out_of_scope_words if word in query.core]
    if not present or not ranking.intents or len(query.key) > index.settings.weights.story_length:
        return ranking
    top = ranking.intents[0]
    own = [index.texts[i] for i in index.by_owner.get(top.intent, ())]
    if any(not any(word in text for text in own) for word in present):
        return replace(ranking, out_of_scope=max(ranking.out_of_scope, top.score))
    return ranking


def _ranked(query: Query, index: Index, clauses: tuple[Clause, ...], memo: Memo | None) -> Ranking:
    w = index.settings.weights
    ranking, pool = _rank(query, index, memo=memo)
    if 2 <= len(clauses) <= w.max_clauses and not is_answered(ranking, index.settings):
        ranking = _by_clauses(ranking, query, clauses, index, memo)
    end = tail(query, index.settings)
    if end is None or not ranking.intents:
        return ranking
    # A story's intent is the one its question (at the end) agrees with. A tail that names no
    # topic ("去哪申请?") says nothing, and leaves the story's own scores. The tail is scored
    # only against the leading intents' candidate examples: the others cannot catch up.
    leading = {s.intent for s in ranking.intents[:w.rescored]}
    among = [i for i in pool if index.owners[i] in leading]
    at_end = {s.intent: s.score for s in _rank(end, index, among, memo)[0].intents}
    if max(at_end.values(), default=0.0) < index.settings.clarify_threshold:
        return ranking
    scored = [s.rescored(round((1 - w.tail_weight) * s.score + w.tail_weight * at_end.get(s.intent, 0.0), 4))
              for s in ranking.intents]
    ranked = sorted(scored, key=lambda s: (-s.score, s.intent))
    return Ranking(tuple(ranked), ranking.out_of_scope, ranking.followup, ranking.followup_coverage)


def _rank(query: Query, index: Index, among: list[int] | None = None,
          memo: Memo | None = None) -> tuple[Ranking, list[int]]:
    """The ranking, and the example and topic word rows it considered (`among`, when given)."""
    if memo is None:
        return _recently(query, index) if among is None else _rank_afresh(query, index, among)
    key = (query, None if among is None else tuple(among))
    if key not in memo.ranked:
        memo.ranked[key] = _rank_afresh(query, index, among)
    return memo.ranked[key]


_RECENT = 1024  # queries whose rankings are kept: a message's clauses, a topic's name (read_in_topic)
_recent: tuple[weakref.ReferenceType[Index] | None, OrderedDict[tuple[object, ...], tuple[Ranking, list[int]]]] = (
    None, OrderedDict())
_recent_lock = threading.Lock()


def _recently(query: Query, index: Index) -> tuple[Ranking, list[int]]:
    """_rank_afresh() of the whole index, kept for the queries ranked last with the last index: a
    follow-up is ranked alone, then read after its topic's name, whose clauses (the name, the
    message) are ranked again. Pure, so a kept ranking is what ranking again would give. Where a
    message's clauses start counts only in a story (scoring.negation_discount), so a clause ranked
    alone and the same words as a whole message share one entry."""
    global _recent
    key = (query.text, query.core, query.key, query.exact_key, query.whole,
           query.breaks if query.length > index.settings.weights.story_length else None)
    with _recent_lock:
        held, kept = _recent
        if held is None or held() is not index:
            kept = OrderedDict()
            _recent = (weakref.ref(index), kept)
        ranked = kept.get(key)
        if ranked is not None:
            kept.move_to_end(key)
            return ranked
    ranked = _rank_afresh(query, index, None)
    with _recent_lock:
        kept[key] = ranked
        if len(kept) > _RECENT:
            kept.popitem(last=False)
    return ranked


def _rank_afresh(query: Query, index: Index, among: list[int] | None) -> tuple[Ranking, list[int]]:
    if not query.key:
        return Ranking(()), []
    w = index.settings.weights
    best: dict[str, tuple[float, str]] = {}
    # Topic words are few and looked up directly; examples go through the n-gram prefilter.
    # A short message may also be part of topic words ("律师" in 投诉律师, 免费律师).
    is_word = len(query.key) <= w.short_length
    core, texts, keys = query.core, index.texts, index.keys
    found_words = [i for i in index.keywords_near(query, within=is_word)
                   if texts[i] in core or keys[i] in query.key or (is_word and core in texts[i])
                   or (len(texts[i]) >= 4 and texts[i][:2] in core and spread(texts[i], core, w))]
    shadowed = shadowed_keywords(query, index, found_words)
    words = [i for i in found_words if i not in shadowed]
    examples = [i for i in (candidates(query.key, index) if among is None else among) if not index.is_keyword[i]]
    pool = examples + words
    scores = list(zip(examples, example_scores(query, index, examples), strict=True))
    scores += [(i, topic_word_score(query, index, i)) for i in words]
    phrases = {RowKind.OUT_OF_SCOPE: 0.0, RowKind.FOLLOWUP: 0.0}
    for i, score in scores:
        kind, owner = index.kinds[i], index.owners[i]
        if kind is not RowKind.INTENT:
            phrases[kind] = max(phrases[kind], score)
        elif score > best.get(owner, (0.0, ""))[0]:
            best[owner] = (score, index.texts[i])
    weight = coverage_weight(len(query.key), w)
    # Out-of-scope and follow-up phrases are weighed like intents, so their scores compare.
    by_owner: dict[str, list[int]] = defaultdict(list)
    by_kind: dict[RowKind, list[int]] = defaultdict(list)
    for i in pool:
        if index.kinds[i] is RowKind.INTENT:
            by_owner[index.owners[i]].append(i)
        else:
            by_kind[index.kinds[i]].append(i)
    oos_coverage, followup_coverage = (coverage(query, by_kind[kind], index)
                                       for kind in (RowKind.OUT_OF_SCOPE, RowKind.FOLLOWUP))
    oos = phrases[RowKind.OUT_OF_SCOPE] * (1 - weight + weight * oos_coverage)
    followup = phrases[RowKind.FOLLOWUP] * (1 - weight + weight * followup_coverage)
    # A short message made mostly of words no example uses is probably about something else,
    # even when it contains a topic word (公证处旁边的奶茶店). Long stories are exempt: they
    # always carry unrelated detail around the question.
    factor = 1.0
    if len(query.key) <= w.story_length:
        factor = 1.0 - w.unexplained_weight * max(0.0, unexplained(query, index) - w.unexplained_free)
    first = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))
    # Coverage moves a story's scores little (weight 0.1), and aligning it costs most there.
    rescored = w.rescored_story if len(query.key) > w.story_length else w.rescored
    scored = []
    for n, (owner, (score, example)) in enumerate(first):
        covered = coverage(query, by_owner[owner], index) if n < rescored else 0.0
        score *= 1 - weight + weight * covered
        scored.append(Scored(owner, round(score * factor, 4), example, round(covered, 4)))
    ranked = sorted(scored, key=lambda s: (-s.score, s.intent))
    return Ranking(tuple(ranked), round(oos, 4), round(followup, 4), round(followup_coverage, 4)), pool


def names_another_topic(query: Query, index: Index, topic: str, asking: Collection[str]) -> bool:
    """Whether a message going on from `topic` ("那我还能去法院告吗") asks about another topic on its
    own: with its opening word (那, 也) and the words asking for a part of an answer (`asking`:
    网上, 多久, 要钱) taken out, what is left is clearly answered with another topic. A weak word of
    another topic (那能在网上弄吗, 那一般多久有结果) leaves nothing that clear. Clear means both
    matchers agree: the fuzzy matcher answers it outright, and the learned model is sure of it."""
    rest = query.core
    for word in sorted(asking, key=len, reverse=True):
        rest = rest.replace(word, "")
    rest = rest.removeprefix(next((w for w in index.settings.words.going_on_words if rest.startswith(w)), ""))
    part = analyse(rest, index.settings)
    if len(part.key) < 2:
        return False
    top = clear_answer(_rank(part, index)[0], index.settings, index.whole_message)
    if top is None or topic_of(top.intent) == topic or index.learned is None:
        return False
    opinion = index.learned.opinion(part.core, part.key)
    return opinion.guesses[:1] == (topic_of(top.intent),) and opinion.margin >= index.settings.weights.model_disagrees


def read_in_topic(text: str, topic: str, topic_name: str, alone: Examined, index: Index,
                  asking: Collection[str]) -> Scored | None:
    """The intent a follow-up asks about when read in its conversation: the message ranked with
    the topic's name before it ("司法所 招人吗", "知识产权 那去年查了几件"), answered when both matchers
    agree on it. None, and the conversation does not settle it, when the message alone
    - is mostly words no example uses (淘宝退货运费谁出): about something else;
    - reads as another topic than that, fuzzy matching's lead backed by the model (clearly, or the
      model sure): a new topic asked about (那公证呢, 那镇上能代办吗);
    - asks for a part of the topic's answer (`asking`: 手机上, 多久) while the reading leaves the topic:
      the part is asked of the topic, not of the service that part names."""
    w = index.settings.weights
    if unexplained(alone.query, index) > w.unexplained_free:
        return None
    query, clauses, learned = _read(f"{topic_name} {text}", index)
    # What is found must be of the model's first guess for the reading, so the checks on the message
    # alone can rule it out before the reading is ranked (most of the cost).
    guessed = learned.guesses[:1]
    if not query.text or not guessed or not _may_find(guessed[0], topic, alone, index, asking):
        return None
    found = clear_answer(rank(query, index, clauses), index.settings, index.whole_message)
    if found is None or guessed != (topic_of(found.intent),):
        return None
    return found


def _may_find(guess: str, topic: str, alone: Examined, index: Index, asking: Collection[str]) -> bool:
    """Whether read_in_topic() may settle on an intent of the topic `guess`, by the message alone."""
    if not guess:
        return False  # out of scope is no intent's topic
    lead, guesses = (alone.ranking.intents or (None,))[0], alone.learned.guesses
    if (lead is not None and topic_of(lead.intent) != guess and guesses[:1] == (topic_of(lead.intent),)
            and (clear_answer(alone.ranking, index.settings, index.whole_message) is not None
                 or alone.learned.margin >= index.settings.weights.model_disagrees)):
        return False
    return not (guess != topic_of(topic) and any(word in alone.query.core for word in asking))


@dataclass(frozen=True, slots=True)
class Examined:
    """Everything matching finds in a message. It depends only on the text and the index, so it can
    be computed in another process (bot.service.matchpool) and sent back."""

    query: Query
    trigger: Trigger | None
    ranking: Ranking
    place: Place | None = None  # another city or country whose service the message asks about
    learned: Opinion = Opinion()  # the learned model's first two guesses ("" is out of scope) and margins
    # The message's n-grams (bot.matching.learned.features), which the danger model reads too. Not sent
    # back from a match worker, and not part of what was found: the serving process builds them again
    # rather than unpickle hundreds. Never changed: the models only read them.
    grams: AbstractSet[str] | None = field(default=None, compare=False, repr=False)

    def __reduce__(self) -> tuple[type[Examined], tuple[Query, Trigger | None, Ranking, Place | None, Opinion]]:
        return Examined, (self.query, self.trigger, self.ranking, self.place, self.learned)


def examine(text: str, index: Index, memo: Memo | None = None) -> Examined:
    """Normalise a message, look for danger triggers and other places, and rank the intents
    (nothing to rank in an empty message: spaces, punctuation or emoji only)."""
    observed = memo.observed.get(text) if memo is not None else None
    if observed is None:
        observed = _observe(text, index)
        if memo is not None:
            memo.observed[text] = observed
    query, trigger, clauses, place, learned, grams = observed
    if not query.text:
        return Examined(query, None, Ranking(()))
    return Examined(query, trigger, rank(query, index, clauses, memo), place, learned, grams)


def _read(text: str, index: Index) -> tuple[Query, tuple[Clause, ...], Opinion]:
    """What examine() reads of a message before ranking it, without what read_in_topic() never uses
    (danger triggers, other places, a story's tail): the query, its clauses, the model's guesses."""
    prepared = prepare(text[:SCANNED_CHARS])
    query = analyse_prepared(prepared, index.settings)
    if not query.text:
        return query, (), Opinion()
    clauses = split(prepared[: index.settings.max_message_chars * 4], index.settings.words.question_words)
    query = replace(query, breaks=clause_breaks(query.core, (c.text for c in clauses), index.settings))
    learned = index.learned.opinion(query.core, query.key) if index.learned is not None else Opinion()
    return query, clauses, learned


def _observe(text: str, index: Index) -> Observed:
    """What examine() finds whatever the thresholds: the query, a danger trigger, clauses, another place,
    guesses and the n-grams they were made from."""
    prepared = prepare(text[:SCANNED_CHARS])
    query = analyse_prepared(prepared, index.settings)
    if not query.text:
        return query, None, (), None, Opinion(), None
    # As written, and with dialect and short forms rewritten (弗 is 不, 法援 is 法律援助).
    trigger = find_trigger(f"{query.text}\n{query.core}", query.key, index.triggers_near(query))
    clauses = split(prepared[: index.settings.max_message_chars * 4], index.settings.words.question_words)  # the slice the core is made of
    query = replace(query, breaks=clause_breaks(query.core, (c.text for c in clauses), index.settings))
    grams = features(query.core, query.key)
    learned = index.learned.read(grams) if index.learned is not None else Opinion()
    end = tail(query, index.settings) if index.learned is not None else None
    if end is not None:
        learned = replace(learned, at_end=(index.learned.opinion(end.core, end.key).guesses or (None,))[0])
    return query, trigger, clauses, elsewhere(clauses, index), learned, grams
