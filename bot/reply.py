"""What the engine says and what listeners see: Reply (the reply object of the evaluation contract),
its Kind and Buttons, a handled Turn and a citizen's Feedback."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.matching.decision import Outcome
from bot.matching.scoring import Scored


class Kind(StrEnum):
    """What a reply is, finer than the matcher's outcome; a str, so JSON and the event log store its value."""

    ANSWER = "answer"
    FOLLOWUP = "followup"  # an answer in the topic of the turn before
    SAFETY = "safety"  # an answer with one safety line on top: danger mentioned, not now
    EMERGENCY = "emergency"
    CLARIFY = "clarify"
    FALLBACK = "fallback"
    TOO_LONG = "too_long"
    REPHRASE = "rephrase"  # nothing but spaces, punctuation or emoji
    STALE_BUTTON = "stale_button"
    NO_SUCH_NUMBER = "no_such_number"  # a bare number with no such button


@dataclass(frozen=True, slots=True)
class Button:
    """A tappable choice: its label and the intent it answers."""

    title: str
    intent: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says; to_dict() is the reply object of the evaluation contract."""

    intent: str | None
    confidence: float
    text: str
    suggestions: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()
    outcome: Outcome = Outcome.FALLBACK
    kind: Kind = Kind.FALLBACK
    runner_up: Scored | None = None
    candidates: tuple[Scored, ...] = ()
    # Answers about a service get 👍/👎; small talk, emergency, clarify and fallback replies do not.
    is_rateable: bool = False
    safety: bool = False  # a safety line (110 if in danger) stands on top of an answer that mentions danger

    def to_dict(self) -> dict[str, Any]:
        """The JSON reply object: intent, confidence, reply, suggestions (+ outcome, kind, buttons, safety, rateable)."""
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "reply": self.text,
            "suggestions": list(self.suggestions),
            "outcome": self.outcome.value,
            "kind": self.kind,
            "buttons": [{"title": b.title, "intent": b.intent} for b in self.buttons],
            "safety": self.safety,
            "rateable": self.is_rateable,
        }


@dataclass(frozen=True, slots=True)
class Turn:
    """One handled message, as listeners (event log, metrics) see it."""

    user: str
    channel: str
    text: str
    reply: Reply
    millis: float


@dataclass(frozen=True, slots=True)
class Feedback:
    """A citizen's 👍 or 👎 on an answer."""

    user: str
    channel: str
    intent: str
    is_helpful: bool


def storable(text: object) -> str:
    """The text as UTF-8 can hold it, to log or store: a lone surrogate (valid in JSON from a broken
    client, not in UTF-8) becomes "?"; anything but a string becomes ""."""
    return text.encode("utf-8", "replace").decode("utf-8") if isinstance(text, str) else ""
