"""Questions about a service somewhere else ("杭州的公租房怎么申请", "在香港怎么做公证").

The answers describe Jiangshan's services only: told how Jiangshan does it, a citizen asking about
another city would be misled. A place counts when a topic word follows it closely in the same
clause; the place lists are in intents/matcher.yaml, for operators to extend.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.matching.clauses import Clause
from bot.catalogue.model import Words
from bot.matching.index import Index, analyse
from bot.matching.normalize import longest_first

_SPACES = re.compile(r"\s+")
_LEADING = re.compile(r"^(?:in\s+)?(?:the\s+)?")


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    abroad: bool  # another country's law, not only another city's services

    def __reduce__(self) -> tuple[type[Place], tuple[str, bool]]:
        return Place, (self.name, self.abroad)


def elsewhere(clauses: Iterable[Clause], index: Index) -> Place | None:
    """The other place a message asks about a service of, if any; None when it also names Jiangshan."""
    settings = index.settings
    clauses = tuple(clauses)
    names = _pattern(settings.other_places + settings.abroad_places)
    if names is None or not any(names.search(c.text) or names.search(_SPACES.sub("", c.text)) for c in clauses):
        return None
    if any(name in c.text for c in clauses for name in settings.local_places):
        return None
    window = settings.weights.place_window
    for clause in clauses:
        for found in names.finditer(clause.text):
            start, end = found.span()
            # English puts the place last ("legal aid in canada"): the topic word may come before it,
            # in words about three times as long as Chinese ones.
            near = clause.text[end: end + window] + ("，" + clause.text[max(0, start - 3 * window): start]
                                                      if found.group().isascii() else "")
            if _is_place(clause.text, start, end, settings.words) and _names_a_topic(near, index):
                return Place(found.group(), found.group() in settings.abroad_places)
        # Names are listed without spaces (newyork, intheus); an English clause naming one only with
        # them asks about a service there when the clause names a topic anywhere.
        squashed = _SPACES.sub("", clause.text)
        found = names.search(squashed) if squashed != clause.text and squashed.isascii() else None
        if found is not None and not names.search(clause.text) and _names_a_topic(clause.text, index):
            return Place(_as_written(clause.text, found.start(), found.end()), found.group() in settings.abroad_places)
    return None


def _as_written(text: str, start: int, end: int) -> str:
    """The words of `text` that text[start:end] with its spaces taken out spells, as the reply names
    them: "intheus" is "US", "newyork" is "new york"."""
    letters = [i for i, ch in enumerate(text) if not ch.isspace()]
    name = _LEADING.sub("", text[letters[start]: letters[end - 1] + 1])
    return name.upper() if len(name) <= 3 else name


def _is_place(text: str, start: int, end: int, words: Words) -> bool:
    """The name found at text[start:end] stands for a place the service is asked of: not where the
    citizen comes from (温州户口), not a place they need not go to (不用去杭州), and not two words
    that spell a place name across their boundary (周日|本人, 中国|外企)."""
    before, after = text[max(0, start - 3): start], text[end:]
    if after.startswith(words.origin_words) or before.endswith(words.not_going_words):
        return False
    straddles = {text[start - 1: start + 1] if start else "", text[end - 1: end + 1]}
    return not straddles & (set(words.across_words) - {text[start:end]})


@functools.lru_cache(maxsize=8)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation of the place names, longest first (内蒙古 before 内蒙)."""
    if not names:
        return None
    return re.compile(longest_first(names, re.escape))


def _names_a_topic(after: str, index: Index) -> bool:
    """A topic word stands in `after`, with no word of staying before it (上海的公证处周末上班吗
    asks about the notary office; 在杭州打工的人能申请公租房吗 about the worker)."""
    if not after:
        return False
    query = analyse(after, index.settings)
    texts, keys = index.texts, index.keys
    found = [query.core.find(texts[i]) for i in index.keywords_near(query)
             if len(texts[i]) >= 2 and texts[i] in query.core]
    found += [query.key.find(keys[i]) for i in index.keywords_near(query)
              if len(keys[i]) >= 3 and keys[i] in query.key]
    if not found:
        return False
    before = query.core[: min(found)]
    # Where the citizen is, not where the service is: "我在杭州打工，…" asks about home.
    return not any(word in before for word in index.settings.words.staying_words)
