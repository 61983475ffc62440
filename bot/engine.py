"""The channel-agnostic engine: (user, text) -> Reply, with per-user context and hot reload."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from bot.catalogue.loader import Catalogue, load_catalogue
from bot.context import Context, ContextStore
from bot.errors import CatalogueError, Problem, Source
from bot.facets import shape
from bot.matching.index import Index
from bot.service.conversations import ConversationStore, MemoryConversations
from bot.service.keyedlocks import KeyedLocks
from bot.matching.domains import nouns_elsewhere
from bot.matching.decision import Match, Outcome, combined, decide, mentioned_service
from bot.matching.ranking import Examined, examine
from bot.followup import continues, goes_on, in_topic, leans, stays, takes_offer, unchosen
from bot.matching.scoring import Ranking, Scored
from bot.catalogue.model import EMERGENCY, Answer, Intent, Role, topic_of
from bot.matching.asked import small_talk_of
from bot.matching.danger import assess, danger_found, danger_opinion, doubts_learned, learned_danger
from bot.matching.numbers import deciding
from bot.reply import Button, Feedback, Kind, Reply, Turn, storable

__all__ = ["Button", "Engine", "Feedback", "Kind", "Matcher", "Reply", "Turn"]  # the reply types live in bot.reply

logger = logging.getLogger(__name__)
_HELD: ContextVar[frozenset[str]] = ContextVar("held_turns", default=frozenset())  # users whose turn this task holds


Listener = Callable[[Turn], None]
FeedbackListener = Callable[[Feedback], None]


class Matcher(Protocol):
    """Runs examine() somewhere else; must answer (falling back to inline matching) rather than raise."""

    async def examine(self, text: str, index: Index) -> Examined: ...


@dataclass(slots=True)
class Engine:
    """Answers messages from the current catalogue; reload() swaps in a new one atomically."""

    catalogue: Catalogue
    intents_dir: Path | None = None
    content_dir: Path | None = None
    context: ContextStore = field(default_factory=ContextStore)
    listeners: list[Listener] = field(default_factory=list)
    feedback_listeners: list[FeedbackListener] = field(default_factory=list)
    last_reload_problems: tuple[Problem, ...] = ()
    reload_failures: int = 0
    matcher: Matcher | None = None  # where reply() matches (bot.service.matchpool); None: inline
    learned_veto: bool = True  # the learned model's opinion weighs in (off: fuzzy matching alone, for `legalbot eval`)
    examiner: Callable[[str, Index], Examined] = examine  # how respond() matches inline (`legalbot tune`: with a memo)
    conversations: ConversationStore = field(default_factory=MemoryConversations)  # Redis for replicas
    loader: Callable[[Path, Path], Catalogue] = load_catalogue  # how reload() loads (bot.catalogue.cache: cached)
    _turns: KeyedLocks = field(default_factory=KeyedLocks, init=False, repr=False)

    @classmethod
    def from_paths(cls, intents_dir: Path, content_dir: Path, **kwargs: Any) -> Engine:
        """Load the catalogue from disk (raises CatalogueError) and build an engine on it."""
        loader = kwargs.pop("loader", load_catalogue)
        return cls(loader(intents_dir, content_dir), intents_dir, content_dir, loader=loader, **kwargs)

    @contextlib.asynccontextmanager
    async def turn(self, user: str) -> AsyncIterator[None]:
        """Hold the user's turn: their earlier messages finish first (on every replica), their context is
        loaded from `conversations` before and saved after. A channel may hold it across reply() and
        the sending of the answer; a turn nested in one the task already holds is that same turn."""
        held = _HELD.get()
        if user in held:
            yield
            return
        reset = _HELD.set(held | {user})
        try:
            # One user's messages are answered in the order they came: context, follow-ups and button
            # numbers depend on the turn before, and matching elsewhere lets turns overlap.
            async with self._turns.hold(user), self.conversations.turn(user) as slot:
                if slot.load:
                    self.context.restore(user, slot.context)
                yield
                if slot.save:
                    slot.context = self.context.get(user)
        finally:
            _HELD.reset(reset)

    async def reply(self, user: str, text: str, channel: str = "api") -> Reply:
        """Answer one message, matching in a `matcher`'s worker processes (the loop serves meanwhile), or inline."""
        async with self.turn(user):
            if self.matcher is None:
                return self.respond(user, text, channel)
            text = storable(text)
            pressed = self._pressed(user, text, channel)
            if pressed is not None:
                return pressed
            started = time.perf_counter()
            cat = self.catalogue  # one read: a reload during this turn does not mix catalogues
            examined = await self.matcher.examine(text, cat.index)
            return self._finish(user, channel, text, cat, examined, started)

    def respond(self, user: str, text: str, channel: str = "api") -> Reply:
        """Synchronous reply(), matching inline: used by the CLI and the evaluation runner."""
        text = storable(text)
        pressed = self._pressed(user, text, channel)
        if pressed is not None:
            return pressed
        started = time.perf_counter()
        cat = self.catalogue
        return self._finish(user, channel, text, cat, self.examiner(text, cat.index), started)

    def _finish(self, user: str, channel: str, text: str, cat: Catalogue, examined: Examined,
                started: float) -> Reply:
        reply = self._kept_safe(cat, self.context.get(user), self._respond(user, cat, text, examined))
        self.context.offer(user, tuple(b.intent for b in reply.buttons))
        self._record(user, channel, text, reply, started)
        return reply

    def choose(self, user: str, intent_id: str, channel: str = "api") -> Reply:
        """Answer a button press: the intent chosen, or a polite note when the button is stale."""
        started = time.perf_counter()
        cat = self.catalogue
        intent = cat.intents.get(intent_id)
        if intent is None:
            reply = Reply(None, 0.0, cat.messages["stale_button"], kind=Kind.STALE_BUTTON)
        else:
            before, answer = self.context.get(user), self._answer(cat, intent, 1.0, None, ())
            self._remember(user, cat, intent.id)
            reply = self._kept_safe(cat, before, self._shaped(user, cat, intent, "", answer, is_pressed=True))
        self.context.offer(user, tuple(b.intent for b in reply.buttons))
        self._record(user, channel, f"[button] {intent_id}", reply, started)
        return reply

    def offer(self, user: str, intents: tuple[str, ...]) -> None:
        """Note buttons a channel showed by itself (a topic menu), so "2" picks from them."""
        self.context.offer(user, intents)

    def _pressed(self, user: str, text: str, channel: str) -> Reply | None:
        """A bare number ("2", "２。") presses that button among those last shown, as the clarify text
        invites; a number with no such button says which numbers there are. None: no button pressed."""
        number = unicodedata.normalize("NFKC", text).strip().rstrip(".。、)")
        ctx = self.context.get(user)
        offered = ctx.offered if ctx else ()
        if not number.isdecimal() or len(number) > 2 or (  # "88" says goodbye where no button has that number
                int(number) > len(offered) and self.catalogue.index.says_whole(number)):
            return None
        if 1 <= int(number) <= len(offered):
            return self.choose(user, offered[int(number) - 1], channel)
        started = time.perf_counter()
        messages = self.catalogue.messages
        note = messages["no_such_number"].format(number=number, count=len(offered)) if offered else messages["no_numbers"]
        reply = Reply(None, 0.0, note.strip(), kind=Kind.NO_SUCH_NUMBER)
        self._record(user, channel, text, reply, started)  # the buttons shown stay pressable
        return reply

    def subscribe(self, on_turn: Listener | None = None,
                  on_feedback: FeedbackListener | None = None) -> Callable[[], None]:
        """Let a listener (event log, metrics, a test) see every turn and feedback; returns the call that stops it."""
        if on_turn is not None:
            self.listeners.append(on_turn)
        if on_feedback is not None:
            self.feedback_listeners.append(on_feedback)

        def unsubscribe() -> None:
            if on_turn in self.listeners:
                self.listeners.remove(on_turn)
            if on_feedback in self.feedback_listeners:
                self.feedback_listeners.remove(on_feedback)

        return unsubscribe

    def feedback(self, user: str, intent_id: str, is_helpful: bool, channel: str = "api") -> str:
        """Record a 👍/👎 on an answer and return the thank-you text."""
        event = Feedback(user, channel, intent_id, is_helpful)
        logger.info("feedback channel=%s intent=%s helpful=%s", channel, intent_id, is_helpful)
        for listener in self.feedback_listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("feedback listener failed")
        return self.catalogue.messages["feedback_thanks"]

    def _record(self, user: str, channel: str, text: str, reply: Reply, started: float) -> None:
        millis = (time.perf_counter() - started) * 1000
        best = reply.candidates[0].score if reply.candidates else reply.confidence
        runner = reply.runner_up
        # DEBUG: as INFO it cost a fifth of serving at 1,000 messages/s; /metrics counts every turn.
        logger.debug("turn channel=%s outcome=%s intent=%s score=%.3f runner_up=%s:%.3f ms=%.2f",
                    channel, reply.outcome.value, reply.intent, best,
                    runner.intent if runner else None, runner.score if runner else 0.0, millis)
        turn = Turn(user, channel, text, reply, millis)
        for listener in self.listeners:
            try:
                listener(turn)
            except Exception:
                logger.exception("turn listener failed")

    def _respond(self, user: str, cat: Catalogue, text: str, examined: Examined) -> Reply:
        settings = cat.settings
        query, ranking = examined.query, examined.ranking
        # The danger model reads the message once; every step below is given its opinion.
        opinion = danger_opinion(query, cat.danger, settings, examined.grams) if query.text else None
        trigger = danger_found(examined.trigger, query, cat.index, cat.danger, opinion) if query.text else None
        if trigger is None and self.learned_veto and not doubts_learned(opinion):  # the learned model's second opinion adds recall
            # Half the clarify threshold: as alike as a message the matcher would still consider.
            trigger = learned_danger(examined.learned.guesses, ranking.intents, settings.clarify_threshold / 2)
        if not query.text:  # nothing but spaces, punctuation or emoji
            return Reply(None, 0.0, cat.messages["rephrase"], kind=Kind.REPHRASE)
        if trigger is not None and trigger.intent in cat.intents:
            is_service = lambda intent_id: not cat.has_role(intent_id, Role.SMALL_TALK)  # noqa: E731
            call = assess(query, trigger, cat.index, ranking.intents, cat.danger, settings.clarify_threshold,
                          is_service, opinion, examined.learned if self.learned_veto else None)
            if call.is_now or call.service is None:
                group = cat.danger.group_of(deciding(query, trigger, cat.index, cat.danger, opinion).text)
                return self._emergency(user, cat, cat.intents[trigger.intent], ranking,
                                       group.answer if group else None)
            # A mention naming no service, or none clearly, after an answer ("以前被他打过的也能办吗") goes on from it.
            alone = decide(ranking, settings)
            followed = (self._follow_up(user, cat, text, examined, alone)
                        if call.general or alone.outcome is not Outcome.ANSWER else None)
            if followed is not None:
                return _with_safety_line(cat, followed)
            service = mentioned_service(call.service, ranking, examined.learned, settings, cat.index, query.length,
                                        query.core, is_service) if self.learned_veto else call.service
            return self._mentioned(user, cat, cat.intents[service.intent], service.score, ranking)
        match, place = decide(ranking, settings), examined.place
        # Another city's service, or another country's anything: Jiangshan's answer would mislead.
        # A personal legal question asked from another Chinese city still gets the advice channels.
        if place is not None and (place.abroad or not ranking.intents
                                  or not cat.has_role(ranking.intents[0].intent, Role.ANYWHERE)):
            self.context.forget(user)
            return Reply(None, match.score, cat.messages["elsewhere"].format(place=place.name),
                         outcome=Outcome.FALLBACK, kind=Kind.FALLBACK, runner_up=match.runner_up,
                         candidates=match.candidates)
        followed = self._follow_up(user, cat, text, examined, match)
        if followed is not None:
            return followed
        if self.learned_veto:
            # After the follow-ups: the model reads the message alone, without the conversation.
            elsewhere = nouns_elsewhere(cat.index.domains, query.core, query.length, settings.weights)
            match = combined(match, ranking, examined.learned, settings, cat.index.whole_message, query.length,
                             elsewhere, query.core, cat.index.general)
        if match.outcome is not Outcome.ANSWER:  # "好的，晓得了，拜拜": small talk that the whole message dilutes
            match = small_talk_of(match, query, cat.index, cat.has_role)
        if match.outcome is Outcome.ANSWER and match.intent is not None:
            intent = cat.intents[match.intent]
            self.context.forget(user) if Role.ENDS_CONTEXT in intent.roles else self._remember(user, cat, intent.id)
            return self._shaped(user, cat, intent, text,
                                self._answer(cat, intent, match.score, match.runner_up, match.candidates))
        if match.outcome is Outcome.CLARIFY:
            # Never merely ask "did you mean" about danger: an emergency match that leads, and is
            # more than a faint likeness ("我想投诉" vs "我想自杀"), is answered.
            lead = match.candidates[0] if match.candidates else None
            midway = (settings.clarify_threshold + settings.answer_threshold) / 2
            if lead is not None and lead.intent == EMERGENCY and lead.score >= midway and EMERGENCY in cat.intents:
                return self._emergency(user, cat, cat.intents[EMERGENCY], ranking)
            # The leading candidate stands as the topic, so "去哪找?" after a tap-less reply still fits; the
            # learned model's offer alone, which fuzzy matching did not back, does not replace a topic.
            if match.candidates[0].score >= settings.clarify_threshold or self.context.get(user) is None:
                self._remember(user, cat, match.candidates[0].intent, tuple(s.intent for s in match.candidates))
            return self._clarify(cat, match)
        key = "too_long" if len(text) > settings.max_message_chars else "fallback"
        return Reply(None, match.score, cat.messages[key], outcome=Outcome.FALLBACK, kind=Kind(key),
                     runner_up=match.runner_up, candidates=match.candidates)

    def _remember(self, user: str, cat: Catalogue, intent_id: str, unconfirmed: tuple[str, ...] = ()) -> None:
        """Keep the intent as the topic a follow-up refers to; small talk never is one."""
        if not cat.has_role(intent_id, Role.SMALL_TALK):
            self.context.remember(user, intent_id, unconfirmed)

    def _follow_up(self, user: str, cat: Catalogue, text: str, examined: Examined, match: Match) -> Reply | None:
        """An elliptical question ("那要多久?") answered in the topic of the user's previous turn."""
        ctx = self.context.get(user)
        if ctx is None or ctx.intent is None or ctx.intent not in cat.intents:
            return None
        settings, query, ranking = cat.settings, examined.query, examined.ranking
        step = takes_offer(examined, cat, ctx.intent, ctx.offered)
        if step is not None:  # a next step the last reply offered, asked about in words: answered whole
            self._remember(user, cat, step)
            score = next((s.score for s in ranking.intents if s.intent == step), match.score)
            return self._shaped(user, cat, cat.intents[step], text,
                                self._answer(cat, cat.intents[step], score, match.runner_up, match.candidates))
        # Read in the conversation first: "招人吗" after 司法所 asks about its recruitment.
        read = in_topic(cat, text, examined, match, ctx.intent)
        if read is not None and match.outcome is Outcome.ANSWER and read.intent == match.intent:
            return None  # its own answer, which the conversation confirms: answered whole, as a new question
        if read is not None:
            return self._followed(user, cat, text, cat.intents[read.intent], read.score, match)
        topic = topic_of(ctx.intent)
        family = [s for s in ranking.intents if topic_of(s.intent) == topic]
        in_context = max(ranking.followup, family[0].score if family else 0.0)
        if len(query.key) <= settings.weights.leaning_length:
            in_context += settings.weights.short_bonus  # a short message right after a topic is most likely about it
        if match.outcome is Outcome.ANSWER and match.intent is not None:
            # Said as going on (那能在网上弄吗), a message stays in the topic unless it names another.
            if topic_of(match.intent) == topic or (in_context <= match.score and not goes_on(query, cat, topic)
                                                   and not leans(query, cat, topic, match)
                                                   and not stays(query, cat, topic, family, ctx.offered, match.intent)):
                return None
        # Said as going on and not clear on its own, a message is about the last topic even with
        # little in common with it, unless it is likelier out of scope ("那明天天气怎么样").
        elif in_context <= ranking.out_of_scope or (
                in_context < settings.clarify_threshold and not continues(query, cat, topic)):
            return None
        chosen = family[0].intent if family and family[0].score >= settings.answer_threshold else ctx.intent
        return self._followed(user, cat, text, cat.intents[chosen], min(1.0, in_context), match)

    def _followed(self, user: str, cat: Catalogue, text: str, intent: Intent, score: float, match: Match) -> Reply:
        again = unchosen(cat, self.context.get(user), match)
        if again is not None:
            return self._clarify(cat, again)
        self._remember(user, cat, intent.id)
        reply = self._answer(cat, intent, score, match.runner_up, match.candidates)
        return replace(self._shaped(user, cat, intent, text, reply, is_followup=True), kind=Kind.FOLLOWUP)

    def _shaped(self, user: str, cat: Catalogue, intent: Intent, text: str, reply: Reply, *,
                is_followup: bool = False, is_pressed: bool = False) -> Reply:
        """The answer cut to the parts asked about and not yet given (bot.facets); the context notes them."""
        ctx = self.context.get(user)
        shaped = shape(cat, intent, text, ctx.given if ctx else frozenset(),
                       is_followup=is_followup, is_pressed=is_pressed)
        self.context.note(user, shaped.given)
        return replace(reply, text=shaped.text)

    def _answer(self, cat: Catalogue, intent: Intent, score: float,
                runner_up: Scored | None, candidates: tuple[Scored, ...], answer: Answer | None = None) -> Reply:
        answer = answer or intent.answer
        text = answer.text
        if answer.legal_notice:
            text = f"{text}\n\n{cat.messages['legal_notice']}"
        suggestions = tuple(s for s in intent.suggest if s in cat.intents)
        buttons = tuple(Button(cat.title(s), s) for s in suggestions)
        return Reply(intent.id, score, text, suggestions, buttons, Outcome.ANSWER, Kind.ANSWER, runner_up, candidates,
                     is_rateable=Role.SMALL_TALK not in intent.roles)

    def _mentioned(self, user: str, cat: Catalogue, intent: Intent, score: float, ranking: Ranking) -> Reply:
        """Danger mentioned, not now: the service asked about, with one safety line on top."""
        self._remember(user, cat, intent.id)
        return _with_safety_line(cat, self._answer(cat, intent, score, None, ranking.intents[:3]))

    def _kept_safe(self, cat: Catalogue, before: Context | None, reply: Reply) -> Reply:
        """A service answered after an emergency answer keeps the safety line: the danger may not be over."""
        shaken = before is not None and before.after_danger and reply.intent is not None and not reply.safety
        calm = not shaken or reply.kind is Kind.EMERGENCY or cat.has_role(reply.intent or "", Role.SMALL_TALK)
        return reply if calm else _with_safety_line(cat, reply)

    def _emergency(self, user: str, cat: Catalogue, intent: Intent, ranking: Ranking,
                   answer: Answer | None = None) -> Reply:
        """Danger first (110, 120 or 119 as the danger's group says), then the service also asked about, as a button."""
        also = [s.intent for s in ranking.intents
                if s.intent != intent.id and s.score >= cat.settings.clarify_threshold
                and not cat.has_role(s.intent, Role.SMALL_TALK)][:1]
        reply = self._answer(cat, intent, 1.0, None, ranking.intents[:3], answer)
        suggestions = tuple(dict.fromkeys([*also, *reply.suggestions]))[: cat.settings.max_suggestions]
        self.context.alarm(user)
        return Reply(intent.id, 1.0, reply.text, suggestions,
                     tuple(Button(cat.title(s), s) for s in suggestions), Outcome.ANSWER, Kind.EMERGENCY,
                     None, reply.candidates)

    def _clarify(self, cat: Catalogue, match: Match) -> Reply:
        options = tuple(s.intent for s in match.candidates)
        lines = [cat.messages["clarify"]] + [f"{n}. {cat.title(i)}" for n, i in enumerate(options, 1)]
        return Reply(None, match.score, "\n".join(lines), options,
                     tuple(Button(cat.title(i), i) for i in options), Outcome.CLARIFY, Kind.CLARIFY,
                     match.runner_up, match.candidates)

    async def reload(self) -> tuple[Problem, ...]:
        """Reload intents/ and content/ off the event loop; keep the old catalogue on any error."""
        if self.intents_dir is None or self.content_dir is None:
            return ()
        try:
            new = await asyncio.to_thread(self.loader, self.intents_dir, self.content_dir)
        except CatalogueError as exc:
            problems = exc.problems
        except Exception as exc:  # a file vanishing mid-read and the like: still a failed reload
            logger.exception("catalogue reload failed")
            problems = (Problem(Source(str(self.intents_dir)), f"读取意图或答案文件时出错：{type(exc).__name__}"),)
        else:
            self.catalogue = new  # one assignment: turns already running keep the catalogue they read
            self.last_reload_problems = ()
            logger.info("catalogue reloaded: %d intents", len(new.intents))
            return ()
        for problem in problems:
            logger.error("catalogue reload failed: %s", problem)
        self.last_reload_problems = problems
        self.reload_failures += 1
        return problems


def _with_safety_line(cat: Catalogue, reply: Reply) -> Reply:
    return replace(reply, text=f"{cat.messages['safety_line']}\n{reply.text}", kind=Kind.SAFETY, safety=True)
