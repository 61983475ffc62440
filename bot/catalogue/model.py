"""The immutable objects a catalogue is made of: Answer, Intent, MatcherSettings."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import Source

# The one intent id the code must know: danger-now messages are checked before anything else.
EMERGENCY = "emergency"
# Small-talk intents: they answer, but never become the topic an elliptical follow-up refers to.
SMALL_TALK = frozenset({"greeting", "thanks", "goodbye", "bot_capabilities", "human_agent", EMERGENCY})
# Intents said as a whole message: "有没有人" or "好的" inside a real question is not a greeting.
WHOLE_MESSAGE_ONLY = frozenset({"greeting", "thanks", "goodbye"})


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

    @property
    def topic(self) -> str:
        """The catalogue id this intent belongs to (`legal_aid` for `legal_aid.apply`)."""
        return topic_of(self.id)


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
