"""The immutable objects a catalogue is made of: Answer, Intent, Role, Menu, MatcherSettings."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.errors import Source

# The one intent id the code must know: danger-now messages are checked before anything else.
EMERGENCY = "emergency"


class Role(enum.StrEnum):
    """What the engine and the channels treat an intent as; listed under `roles:` in intents/*.yaml."""

    SMALL_TALK = "small_talk"  # conversation, not a service: never the topic a follow-up refers to, not rated
    WHOLE_MESSAGE = "whole_message"  # only when it is the whole message: 好的 inside a question is no thanks
    ANYWHERE = "anywhere"  # answered even when the message is about another Chinese city
    ENDS_CONTEXT = "ends_context"  # answering it forgets the conversation's topic (再见)
    WELCOME = "welcome"  # what a channel shows a citizen who first arrives (a web page, a WeChat follow)


# A finer intent (legal_aid.apply) has its topic's roles too, except this one: one intent welcomes.
NOT_INHERITED = frozenset({Role.WELCOME})


def topic_of(intent_id: str) -> str:
    """The catalogue id an intent belongs to (`legal_aid` for `legal_aid.apply`)."""
    return intent_id.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Answer:
    """A curated reply, with the report section and verbatim excerpt it is drawn from."""

    id: str
    text: str
    section: str
    excerpt: str
    legal_notice: bool
    source: Source


@dataclass(frozen=True, slots=True)
class Intent:
    """Something citizens ask about, the phrases it is matched by and its answer."""

    id: str
    title: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...]
    triggers: tuple[str, ...]
    suggest: tuple[str, ...]
    answer: Answer
    source: Source
    roles: frozenset[Role] = frozenset()  # its own and its topic's (see NOT_INHERITED)

    @property
    def topic(self) -> str:
        """The catalogue id this intent belongs to (`legal_aid` for `legal_aid.apply`)."""
        return topic_of(self.id)


@dataclass(frozen=True, slots=True)
class MenuArea:
    """A topic area of a channel's menu: a key for buttons, a title, and its intents in order."""

    key: str
    title: str
    intents: tuple[str, ...]
    source: Source


@dataclass(frozen=True, slots=True)
class Menu:
    """The topic areas channels offer as starting buttons (Telegram's /menu); read from intents/menu.yaml."""

    areas: tuple[MenuArea, ...] = ()
    unlisted: frozenset[str] = frozenset()  # service intents left out of every area on purpose

    def area(self, key: str) -> MenuArea | None:
        """The area with this key, or None (a button from an older menu)."""
        return next((area for area in self.areas if area.key == key), None)


@dataclass(frozen=True, slots=True)
class MatcherSettings:
    """Thresholds and word lists the matcher applies; shipped in intents/matcher.yaml."""

    answer_threshold: float = 0.6
    clarify_threshold: float = 0.4
    ambiguity_gap: float = 0.06
    clear_margin: float = 0.15
    max_suggestions: int = 3
    max_message_chars: int = 600
    fillers: tuple[str, ...] = ()
    synonyms: tuple[tuple[str, str], ...] = ()
    local_places: tuple[str, ...] = ()  # a message naming one of these is about Jiangshan
    other_places: tuple[str, ...] = ()  # other cities: their services are out of scope
    abroad_places: tuple[str, ...] = ()  # other countries: their law is out of scope too
    out_of_scope_words: tuple[str, ...] = ()  # exams, school, careers: a topic word beside them is no question for us
