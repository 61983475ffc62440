"""Which parts (facets) of an answer a message asks for, and the reply text giving them without repeating one."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from bot.catalogue.facets import Facets
from bot.catalogue.loader import Catalogue
from bot.catalogue.model import Facet, Intent, Part
from bot.matching.normalize import normalize

WHOLE = "whole"  # the answer's own text: what it is, the next step, one figure
NOTICE = "notice"  # the legal notice, shown once a conversation
# A first question asking only these gets the whole answer (what it is, the next step). Later the
# "what" part explains at more length what its opening said in one sentence ("是什么意思").
_WHOLE_ASKS = frozenset({Facet.WHAT, Facet.HOW})


@dataclass(frozen=True, slots=True)
class Shaped:
    """The text of a reply about an intent, and what it gives (keys remembered by the context)."""

    text: str
    given: frozenset[str]


def given_key(intent_id: str, what: str) -> str:
    """The context's key for a part of an intent's answer given to a user (`legal_aid:cost`)."""
    return f"{intent_id}:{what}"


def asked(facets: Facets, text: str, own: Sequence[str] = ()) -> tuple[Facet, ...]:
    """The facets a message asks about, in the catalogue's order. "What" counts only alone:
    "流程是什么" asks how it goes, not what it is. The intent's `own` topic words name it, and ask
    for no part: "还要开证明吗" asks about 开证明 as a whole, while after 司法鉴定 it asks what to bring."""
    key = normalize(text)
    for word in _naming(tuple(own), facets.words):
        key = key.replace(word, "，")
    found = tuple(k.facet for k in facets.kinds if any(word in key for word in k.words))
    return tuple(f for f in found if f is not Facet.WHAT) if len(found) > 1 else found


@functools.lru_cache(maxsize=1024)
def _naming(own: tuple[str, ...], words: tuple[str, ...]) -> tuple[str, ...]:
    """The topic words in `own` that hold a part's word (开证明), longest first: worked out once per intent."""
    named = {n for n in map(normalize, own) if n and any(word in n for word in words)}
    return tuple(sorted(named, key=len, reverse=True))


def is_repeat(facets: Facets, text: str) -> bool:
    """The citizen asks to be told again ("再说一遍")."""
    key = normalize(text)
    return any(word in key for word in facets.repeat_words)


def shape(cat: Catalogue, intent: Intent, text: str, given: frozenset[str], *,
          is_followup: bool, is_pressed: bool = False) -> Shaped:
    """The reply text for a message about `intent`: the whole answer, the parts asked about, or,
    when those were given already in this conversation, a short note and the next step."""
    answer = intent.answer
    facets = cat.facets
    whole = given_key(intent.id, WHOLE)
    prefix = cat.messages["followup_prefix"].format(title=intent.title) + "\n"
    if is_pressed or not answer.parts or not facets.kinds:
        return _with_notice(cat, intent, (prefix if is_followup else "") + answer.text, given, {whole})
    wanted = asked(facets, text, intent.keywords)
    seen = frozenset() if is_repeat(facets, text) else given
    if not wanted or (whole not in seen and not is_followup and set(wanted) <= _WHOLE_ASKS):
        if whole not in seen:
            return _with_notice(cat, intent, (prefix if is_followup else "") + answer.text, given, {whole})
        more = [p for p in answer.parts if not p.is_unsaid and given_key(intent.id, p.facet) not in seen]
        if is_followup and more:  # "还有呢": the next part the report has something on
            return _parts(cat, intent, prefix, more[:1], given)
        return Shaped(_again(cat, intent, "topic_again", given), frozenset())
    parts = [p for p in (_part(cat, intent, f) for f in wanted) if p is not None]
    new = [p for p in parts if given_key(intent.id, p.facet) not in seen]
    if not new:
        return Shaped(_again(cat, intent, "part_again", given, parts), frozenset())
    return _parts(cat, intent, prefix, new, given)


def _parts(cat: Catalogue, intent: Intent, prefix: str, parts: list[Part], given: frozenset[str]) -> Shaped:
    body = prefix + "\n".join(p.text.strip() for p in parts)
    return _with_notice(cat, intent, body, given, {given_key(intent.id, p.facet) for p in parts})


def _part(cat: Catalogue, intent: Intent, facet: Facet) -> Part | None:
    """The answer's part, or the catalogue's report-does-not-say sentence when the answer has none."""
    part = intent.answer.part(facet)
    kind = cat.facets.kind(facet)
    if part is None and kind is not None:
        part = Part(facet, kind.unsaid.format(ask=_ask(cat, intent)))
    return part


def _ask(cat: Catalogue, intent: Intent) -> str:
    return intent.answer.ask or cat.facets.ask or "12348 公共法律服务热线"


def _with_notice(cat: Catalogue, intent: Intent, body: str, given: frozenset[str], keys: set[str]) -> Shaped:
    """The legal notice goes under the first answer that needs it, not under every one."""
    if intent.answer.legal_notice and NOTICE not in given:
        return Shaped(f"{body.rstrip()}\n\n{cat.messages['legal_notice']}", frozenset({*keys, NOTICE}))
    return Shaped(body.rstrip(), frozenset(keys))


def _again(cat: Catalogue, intent: Intent, message: str, given: frozenset[str],
           parts: Sequence[Part] = ()) -> str:
    """A short note that this was answered above, and the next step: the parts asked about
    (part_again) or the parts not yet given (topic_again), and whom to ask."""
    kinds = cat.facets.kinds
    if parts:
        named = [k.title for k in kinds if any(p.facet is k.facet for p in parts)]
    else:
        named = [k.title for k in kinds if given_key(intent.id, k.facet) not in given]
    return cat.messages[message].format(title=intent.title, parts="、".join(named), ask=_ask(cat, intent)).strip()
