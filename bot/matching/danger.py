"""Danger now, or danger only mentioned: decided after the triggers found danger words in a message.

A trigger means the message speaks of violence, self-harm, illness, an accident or fire. It is
danger now unless it is said as the past, a supposition or a question about the law or a service
(`mention_words`: 去年, 如果, 怎么规定, 能不能申请…): then it gets the service it asks about, or
the catalogue's `mention_intent` when it names none (家暴在法律上怎么规定). Words of
danger happening (`now_words`: 正在, 又在, 救命…) overrule that. In doubt, it is danger now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.catalogue.model import EMERGENCY, Danger
from bot.matching.scoring import Scored
from bot.matching.triggers import Trigger


@dataclass(frozen=True, slots=True)
class DangerCall:
    """What a message with a danger trigger gets: the emergency answer, or a service with a safety line."""

    trigger: Trigger
    is_now: bool
    service: Scored | None = None  # the service asked about, when danger is only mentioned


def assess(text: str, trigger: Trigger, intents: Sequence[Scored], danger: Danger, floor: float,
           is_service: Callable[[str], bool]) -> DangerCall:
    """Now or mentioned, for a message whose normalised `text` holds `trigger`; `intents` is the
    ranking, `floor` the score a service must reach to be what the message asks about."""
    if any(word in text for word in danger.now_words):
        return DangerCall(trigger, is_now=True)
    if not any(word in text for word in danger.mention_words):
        return DangerCall(trigger, is_now=True)
    service = next((s for s in intents if s.intent != EMERGENCY and is_service(s.intent)), None)
    if service is not None and service.score >= floor:
        return DangerCall(trigger, is_now=False, service=service)
    if danger.mention_intent is not None:  # a question about the law that names no service
        return DangerCall(trigger, is_now=False, service=Scored(danger.mention_intent, floor, ""))
    return DangerCall(trigger, is_now=True)
