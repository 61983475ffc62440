"""What a message asks or says in its own words: the service a question that only mentions danger
asks about (bot.matching.danger.assess), and the small talk a message says in passing."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from bot.catalogue.model import EMERGENCY, Role
from bot.matching.clauses import asks
from bot.matching.decision import Match, Outcome
from bot.matching.index import Index, Query, analyse
from bot.matching.learned import Opinion
from bot.matching.ranking import rank
from bot.matching.scoring import Scored


def rest_ranking(rest: str, index: Index) -> Sequence[Scored]:
    """The services `rest` matches: the message with the danger it tells taken out, the question in its
    own words ("家里老人被儿子虐待过，能去乡里的司法所吗" asks about 司法所). Where that finds at the answer
    bar the service the whole message found, the learned model's reading of the whole message, which
    the danger words pull towards legal questions, does not overrule them; a long story loses its
    clauses here, so where it finds another service the whole message's match stands."""
    return rank(analyse(rest, index.settings), index).intents if rest else ()


def service_of(intents: Sequence[Scored], floor: float, is_service: Callable[[str], bool]) -> Scored | None:
    """The best service of a ranking, when it reaches `floor`."""
    service = next((s for s in intents if s.intent != EMERGENCY and is_service(s.intent)), None)
    return service if service is not None and service.score >= floor else None


def learned_service(learned: Opinion | None, intents: Sequence[Scored], floor: float,
                    is_service: Callable[[str], bool], sure: float) -> Scored | None:
    """The service the learned model is sure the message asks about. Fuzzy matching ranks the whole
    message, whose danger words pull it ("打了我" is near "打了差评"; "打架…骨折" leaves 鉴定 at a third);
    the model weighs every n-gram of the question too. Once danger is only mentioned the message is in
    scope, so its first guess among services decides, when `sure` over its second."""
    first = learned.guesses[:1] if learned is not None else ()
    if not first or first[0] in (EMERGENCY, "") or not is_service(first[0]) or learned.margin < sure:
        return None
    score = next((s.score for s in intents if s.intent == first[0]), 0.0)
    return Scored(first[0], max(score, floor), "")


def clause_leaders(query: Query, index: Index) -> Iterator[Scored]:
    """The intent each clause of the message ranks first, read alone, clause by clause (lazily: a
    caller may stop at the first that settles it)."""
    bounds = [*query.breaks, len(query.core)] if query.breaks else [0, len(query.core)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        yield from rest_ranking(query.core[start:end], index)[:1]


def small_talk_of(match: Match, query: Query, index: Index, has_role: Callable[[str, Role], bool]) -> Match:
    """The thanks, greeting or goodbye a message of a few clauses says in passing ("好的，晓得了，拜拜",
    "辛苦你了，讲得很清楚"), answered, when one clause alone is small talk at the answer bar, the message
    asks nothing, no other clause comes near a service, and it is no story; else `match`, the whole
    message's decision.
    The best of them (clause_leaders); on a tie, one that ends the conversation (a goodbye closes what
    came before it), else the first ("辛苦了，小助手": the thanks, not the greeting its address reads as)."""
    settings = index.settings
    # A story is no small talk in passing: its clauses are background around a question (and ranking
    # each of them would cost a story several rankings more).
    if len(query.breaks) < 2 or query.length > settings.weights.story_length or asks(
            query.core, settings.words.question_words):
        return match
    said: list[Scored] = []
    for first in clause_leaders(query, index):
        if not has_role(first.intent, Role.SMALL_TALK) and first.score >= settings.clarify_threshold:
            return match
        if has_role(first.intent, Role.SMALL_TALK) and first.score >= settings.answer_threshold:
            said.append(first)
    if not said:
        return match
    best = max(said, key=lambda s: (s.score, has_role(s.intent, Role.ENDS_CONTEXT)))  # max keeps the first
    return Match(Outcome.ANSWER, best.intent, best.score, match.runner_up, match.candidates)
