"""Questions grouped by similar wording (rapidfuzz), each group with the intent it comes closest to."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rapidfuzz import fuzz, process

from bot.catalogue.loader import Catalogue
from bot.catalogue.model import EMERGENCY, Role
from bot.engine import Engine
from bot.matching.index import analyse, build_index
from bot.matching.ranking import rank
from bot.catalogue.model import MatcherSettings
from bot.matching.normalize import normalize
from bot.matching.phonetic import sound_key

CLUSTER_SIMILARITY = 60  # rapidfuzz ratio (0-100) of two questions' keys to put them in one cluster
SUGGEST_MARGIN = 0.05  # an intent scoring this far below the clarify threshold is still worth suggesting
_PLACEHOLDER = re.compile("〔[^〕]*〕")  # redacted personal data says nothing about the question
# Question words every question has: left in, they make 公证怎么办 and 公积金怎么提取 look alike.
_QUESTION_WORDS = re.compile("怎么办|怎么样|怎么|什么|多少|去哪里|在哪里|去哪|在哪|哪里|哪儿|哪|可以|能不能|能否|需要|要|的|吗|呢|了|我|请")
MAX_CLUSTERED = 3000  # distinct questions clustered per list, most frequent first: bounds the work
MAX_SUGGESTED = 100  # clusters (largest first) given a suggested intent
MAX_SIMULATED = 30  # of those, groups checked by rebuilding the index (about 0.1 s each)
MOST = 0.5  # share of a group's other questions that must then be answered with the intent
MAX_KEY_WORDS = 3


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The intent a cluster's questions come closest to."""

    intent: str
    title: str
    score: float


@dataclass(frozen=True, slots=True)
class Cluster:
    """Questions of similar wording: the most frequent one shown first, with how often each came."""

    size: int
    texts: tuple[tuple[str, int], ...]
    suggestion: Suggestion | None
    offered: tuple[str, ...] = ()  # for clarified questions: the titles the bot offered most often
    looks_out_of_scope: bool = False
    new_topic: tuple[str, ...] = ()  # key words of a group no intent would answer: a new intent is needed

    @property
    def text(self) -> str:
        return self.texts[0][0]


def _cluster_key(text: str, settings: MatcherSettings | None) -> str:
    """The form questions are compared in: sound keys (homophone typos alike) without question words."""
    text = _PLACEHOLDER.sub("", text)
    core = analyse(text, settings).core if settings is not None else normalize(text)
    return sound_key(_QUESTION_WORDS.sub("", core) or core)


def _similar(key: str, leaders: list[str], sorted_leaders: list[str]) -> str | None:
    """The leader most like key, in order or in any order (起诉离婚 ~ 离婚起诉); None when none is."""
    found = process.extractOne(key, leaders, scorer=fuzz.ratio, score_cutoff=CLUSTER_SIMILARITY)
    anyorder = process.extractOne("".join(sorted(key)), sorted_leaders, scorer=fuzz.ratio,
                                  score_cutoff=CLUSTER_SIMILARITY)
    best = max((m for m in (found, anyorder) if m is not None), key=lambda m: m[1], default=None)
    return leaders[best[2]] if best is not None else None


def cluster(rows: Sequence[tuple[Any, ...]], catalogue: Catalogue | None) -> tuple[Cluster, ...]:
    """Group (text, candidates) rows by similar wording, largest group first, each with a suggestion.

    candidates is a comma-separated list of the intents offered (for clarified questions) or empty.
    """
    settings = catalogue.settings if catalogue is not None else None
    counts: Counter[str] = Counter()
    offered: dict[str, Counter[str]] = defaultdict(Counter)
    shown: dict[str, Counter[str]] = defaultdict(Counter)  # key -> the texts that gave it
    for text, candidates in rows:
        key = _cluster_key(str(text), settings)
        if not key:
            continue
        counts[key] += 1
        shown[key][str(text).strip()] += 1
        if candidates:
            offered[key].update(str(candidates).split(","))
    leaders: list[str] = []
    sorted_leaders: list[str] = []
    members: dict[str, list[str]] = {}
    for key, _ in counts.most_common(MAX_CLUSTERED):
        leader = _similar(key, leaders, sorted_leaders)
        if leader is None:
            leaders.append(key)
            sorted_leaders.append("".join(sorted(key)))
            members[key] = [key]
        else:
            members[leader].append(key)
    title: Callable[[str], str] = catalogue.title if catalogue is not None else str
    groups = []
    for keys in members.values():
        texts: Counter[str] = Counter()
        options: Counter[str] = Counter()
        for key in keys:
            texts.update(shown[key])
            options.update(offered[key])
        groups.append((sum(counts[k] for k in keys), tuple(texts.most_common()), options))
    groups.sort(key=lambda g: (-g[0], g[1][0][0]))
    clusters = []
    simulated = 0
    for n, (size, texts_, options) in enumerate(groups):
        # Ranking takes a millisecond or two: the long tail of one-off questions goes without.
        suggestion, out_of_scope = _suggest(texts_[0][0], catalogue) if n < MAX_SUGGESTED else (None, False)
        new_topic: tuple[str, ...] = ()
        if catalogue is not None and len(texts_) > 1 and simulated < MAX_SIMULATED:
            simulated += 1
            if suggestion is None or not _answers_most(catalogue, suggestion.intent, texts_):
                suggestion, new_topic = None, key_words(texts_, catalogue.settings)
        clusters.append(Cluster(size, texts_, suggestion, tuple(title(i) for i, _ in options.most_common(3)),
                                out_of_scope, new_topic))
    return tuple(clusters)


def _answers_most(catalogue: Catalogue, intent_id: str, texts: Sequence[tuple[str, int]]) -> bool:
    """Whether, with the group's most typical question added as an example of the intent, the bot would
    answer most of the group's other questions with that intent (simulated on an index built in memory)."""
    intent = catalogue.intents[intent_id]
    typical = _PLACEHOLDER.sub("", texts[0][0])
    grown = {**catalogue.intents, intent_id: replace(intent, examples=(*intent.examples, typical))}
    index = build_index(tuple(grown.values()), catalogue.out_of_scope, catalogue.followups, catalogue.settings)
    engine = Engine(replace(catalogue, intents=grown, index=index))
    others = texts[1:]
    answered = sum(count for n, (text, count) in enumerate(others)
                   if _is_in(engine.respond(f"report:{n}", _PLACEHOLDER.sub("", text), channel="report").intent,
                             intent_id))
    return answered > MOST * sum(count for _, count in others)


def _is_in(got: str | None, intent_id: str) -> bool:
    return got is not None and (got == intent_id or got.startswith(intent_id + "."))


def key_words(texts: Sequence[tuple[str, int]], settings: MatcherSettings | None = None) -> tuple[str, ...]:
    """The words a group's questions share (社保卡, 补办): runs of two-character pieces most of them contain."""
    # Question words split a question into its words: 社保卡丢了怎么补办 → 社保卡丢 补办.
    cores = [(_QUESTION_WORDS.sub(" ", normalize(_PLACEHOLDER.sub("", t))), k) for t, k in texts]
    total = sum(k for _, k in cores)
    pieces: Counter[str] = Counter()
    for core, k in cores:
        for piece in {core[i:i + 2] for i in range(len(core) - 1)}:
            pieces[piece] += k
    shared = {p for p, k in pieces.items() if k * 3 > total * 2 and " " not in p}  # in most of them
    typical = cores[0][0].strip()
    words: list[str] = []
    i = 0
    while i < len(typical) - 1:
        if typical[i:i + 2] not in shared:
            i += 1
            continue
        end = i + 2
        while end < len(typical) and typical[end - 1:end + 1] in shared:
            end += 1
        words.append(typical[i:end])
        i = end
    words.sort(key=len, reverse=True)
    return tuple(words[:MAX_KEY_WORDS]) or ((typical.replace(" ", "")[:6],) if typical else ())


def _suggest(text: str, catalogue: Catalogue | None) -> tuple[Suggestion | None, bool]:
    """The intent the question comes closest to, when one is close; and whether it looks out of scope."""
    if catalogue is None:
        return None, False
    ranking = rank(analyse(_PLACEHOLDER.sub("", text), catalogue.settings), catalogue.index)
    if not ranking.intents:
        return None, ranking.out_of_scope > 0
    services = [s for s in ranking.intents if s.intent != EMERGENCY and not catalogue.has_role(s.intent, Role.SMALL_TALK)]
    if not services:  # 紧急求助 or small talk is never where a new question belongs
        return None, ranking.out_of_scope > 0
    top = services[0]
    out_of_scope = ranking.out_of_scope >= top.score
    if top.score < catalogue.settings.clarify_threshold - SUGGEST_MARGIN:
        return None, out_of_scope
    return Suggestion(top.intent, catalogue.title(top.intent), top.score), out_of_scope
