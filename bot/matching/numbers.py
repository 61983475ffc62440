"""Which number comes first in an emergency answer: the group of the danger the message names decides
(110, 120 or 119, by its answer), unless it gives way to another group named too (intents/safety.yaml
`yields_to`), is a bare cry, or was found too loosely for the model's sure reading not to decide."""

from __future__ import annotations

from bot.catalogue.model import Danger, DangerGroup
from bot.matching.danger import SURE_NUMBER, read_situation
from bot.matching.index import Index, Query
from bot.matching.learned import Opinion
from bot.matching.triggers import Trigger, find_trigger, folded_only, is_pattern, spans, trigger_at


def deciding(query: Query, trigger: Trigger, index: Index, danger: Danger, opinion: Opinion | None) -> Trigger:
    """The trigger whose group decides the number first: a group gives way to the groups of its
    `yields_to` named in the message too ("有人落水了，捞上来没有呼吸了": 120), a cry for help (救命, a
    group with `cry`) to any danger the message names as well ("快来人，我爸晕倒了": 120), and the learned
    second opinion, which names no group, to the situation the danger model reads."""
    group = danger.group_of(trigger.text)
    if group is not None and group.yields_to:
        yielded = _yielded(query, index, danger, group, opinion, trigger)
        if yielded is not None:
            return yielded
    if group is not None and not group.is_cry:
        # A trigger found only by sound, or a spread of words across two clauses, can belong to another
        # danger than the one the whole message tells ("我爸心脏病犯了，药找不到" holds 我爸…找不到):
        # the model's reading, when sure and far from the trigger's group, decides the number. A phrase
        # found as written within a clause is the danger named first and keeps deciding ("他拿刀砍我，
        # 流了好多血": 110).
        if not _loosely_found(query, trigger):
            return trigger
        read = read_situation(opinion, SURE_NUMBER)
        return read if read is not None and _far_from(opinion, group.name) else trigger
    cries = {t for g in danger.groups if g.is_cry for t in g.triggers}
    named = [t for t in index.triggers_near(query) if t.text not in cries]
    if group is None:  # the learned second opinion
        return read_situation(opinion) or trigger
    # A bare cry reads a little like every danger ("救命"): only a sure reading names its number. The
    # danger named gives way in its turn ("快来人，有人被捅了，一直在流血": 120).
    found = find_trigger(f"{query.text}\n{query.core}", query.key, named)
    return deciding(query, found, index, danger, opinion) if found else read_situation(opinion, SURE_NUMBER) or trigger


def _yielded(query: Query, index: Index, danger: Danger, group: DangerGroup, opinion: Opinion | None,
             trigger: Trigger) -> Trigger | None:
    """The danger of a group `group` gives way to, named in the message too ("有人落水了，捞上来没有呼吸了": 120)
    but not by a folded sound only (活着没意思 is not 没意识) nor inside the words of `trigger` (水库边…掉下去
    holds 掉下去), or the model's sure reading of it as one of them."""
    phrases = {t for g in danger.groups if g.name in group.yields_to for t in g.triggers}
    text = f"{query.text}\n{query.core}"
    named = find_trigger(text, query.key, [t for t in index.triggers_near(query) if t.text in phrases
                                           and not folded_only(text, query.key, query.exact_key, t)
                                           and not _inside(query, t, trigger)])
    read = read_situation(opinion) if named is None else None
    return named or (read if read is not None and opinion is not None and opinion.guesses[0] in group.yields_to else None)


def _inside(query: Query, phrase: Trigger, trigger: Trigger) -> bool:
    """`phrase` is found only within the words of `trigger` (in the core, or where that lacks it, as written)."""
    for where, key in ((query.core, query.key), (query.text, "")):
        own = spans(where, key, trigger)
        if own:
            found = spans(where, key, phrase)
            return bool(found) and all(any(c <= a and b <= d for c, d in own) for a, b in found)
    return False


def _loosely_found(query: Query, trigger: Trigger) -> bool:
    """The trigger is in the message only by sound, or only as a spread whose parts a clause break parts."""
    if trigger_at(f"{query.text}\n{query.core}", query.key, trigger)[1]:
        return True
    found = spans(query.core, query.key, trigger)
    return bool(found) and is_pattern(trigger.text) and all(
        any(start < b < end for b in query.breaks) for start, end in found)


def _far_from(opinion: Opinion | None, group: str) -> bool:
    """The model's first reading is sure beyond doubt over `group` too (not its runner-up, or far ahead)."""
    return opinion is not None and (group not in opinion.guesses[:2] or opinion.margin >= SURE_NUMBER)
