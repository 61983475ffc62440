"""Whether a message goes on from the conversation's topic: said as going on (那…, 也…), short enough to
lean towards it, or read in it (bot.matching.ranking.read_in_topic). bot.engine decides with these."""

from __future__ import annotations

from bot.catalogue.loader import Catalogue
from bot.catalogue.model import EMERGENCY, Role, topic_of
from bot.context import Context
from bot.matching.decision import Match, Outcome
from bot.matching.index import Query, analyse
from bot.matching.ranking import Examined, names_another_topic, rank, read_in_topic
from bot.matching.scoring import Scored


def in_topic(cat: Catalogue, text: str, examined: Examined, match: Match, topic: str) -> Scored | None:
    """A message shorter than a story read with the conversation's topic before it
    (bot.matching.ranking.read_in_topic): a story asks on its own. Not small talk or danger, nor
    what reads as out of scope alone. Matched inline: such a message costs about a millisecond."""
    ranking, settings = examined.ranking, cat.settings
    top = ranking.intents[0] if ranking.intents else None
    answered = match.intent if match.outcome is Outcome.ANSWER else None
    said = top is not None and top.score >= settings.clarify_threshold  # a faint likeness says nothing
    if (len(examined.query.key) > settings.weights.story_length or top is None
            or ranking.out_of_scope >= top.score or examined.learned.guesses[:1] == ("",)
            or (said and (cat.has_role(top.intent, Role.SMALL_TALK) or top.intent in cat.index.whole_message))
            or top.intent == EMERGENCY or (answered is not None and topic_of(answered) == topic_of(topic))):
        return None  # small talk, danger, out of scope, or already answered in the topic
    found = read_in_topic(text, topic, cat.title(topic), examined, cat.index, cat.facets.words)
    if found is None or found.intent == EMERGENCY or cat.has_role(found.intent, Role.SMALL_TALK):
        return None
    return found


def takes_offer(examined: Examined, cat: Catalogue, topic: str, offered: tuple[str, ...]) -> str | None:
    """The button the last reply offered that a message asks about in words: its next step ("那能在手机上办吗"
    after 最多跑一次, which offered 网上办; "那明年打算怎么改" after the report, which offered the 2021 plan).
    The learned model must read the message as that service and not as the topic: a weak word of a
    service the bot never offered (手机上 after 律师投诉) moves nothing, and neither does one the model
    reads in the topic ("网上可以申请吗" after 公租房, which offers 网上办 too). Not a story, which asks on its own."""
    guesses, w = examined.learned.guesses, cat.settings.weights
    if not guesses or guesses[0] in ("", topic_of(topic)) or len(examined.query.key) > w.story_length:
        return None
    step = next((s for s in offered if topic_of(s) == guesses[0] and s in cat.intents), None)
    if step is None or cat.has_role(step, Role.SMALL_TALK):
        return None
    # A service offered one way only is a step of the topic (公租房 → 网上办): a message that reads partly as
    # a bare follow-up ("网上能弄吗") asks it of the topic, unless the model is quite sure.
    one_way = topic not in cat.intents[step].suggest
    if examined.learned.margin < (w.model_disagrees if one_way else w.model_vetoes) or (
            one_way and examined.ranking.followup >= cat.settings.clarify_threshold):
        return None
    # Fuzzy matching must lead with it too, and read it more than a bare follow-up ("网上能办吗", "要钱吗"),
    # which the model, knowing no context, takes for whatever service its words are most common in.
    ranking = examined.ranking
    lead = ranking.intents[0] if ranking.intents else None
    # Unless the model is sure enough to settle it alone, the message being no follow-up phrase and asking
    # for no part of an answer ("那明年打算怎么改" after the report's problems; not "在哪能看到").
    # Short: a longer message is a question of its own, which the model alone never settles.
    plain = (len(examined.query.key) <= w.short_length and ranking.followup < cat.settings.clarify_threshold
             and examined.learned.margin >= w.model_settles and not asks_part(examined.query, cat, topic))
    if not plain and (lead is None or lead.intent != step or lead.score <= ranking.followup
                      or lead.score < cat.settings.answer_threshold):
        return None
    return step


def asks_part(query: Query, cat: Catalogue, topic: str) -> bool:
    """A message asking for a part of an answer (手机上, 几天, 网上 …: the facets' words) that, those
    words and its opening 那 aside, holds nothing answered as another topic: asked of the topic
    ("手机上能投诉吗" after 律师投诉, "要几天" after 公证), though alone it reads as the service its
    asking word belongs to. "换个问题 公租房怎么申请" holds 公租房, answered alone. Not a story."""
    settings = cat.settings
    if len(query.key) > settings.weights.story_length:
        return False
    asking = sorted(cat.facets.words, key=len, reverse=True)
    if not any(word in query.core for word in asking):
        return False
    rest = query.core
    for word in asking:
        rest = rest.replace(word, "")
    rest = rest.removeprefix(next((w for w in settings.words.going_on_words if rest.startswith(w)), ""))
    # Only linking and question words left ("要开证明吗" leaves 要…吗): nothing of another topic, however
    # alike a fragment of two such characters ranks ("要吗" is near "还要开证明吗").
    if sum(not settings.words.starts_phrase(c) for c in rest) < 2:
        return True
    part = analyse(rest, settings)
    if len(part.key) < 2:
        return True
    ranked = rank(part, cat.index).intents
    return not ranked or topic_of(ranked[0].intent) == topic_of(topic) or ranked[0].score < settings.clarify_threshold


def stays(query: Query, cat: Catalogue, topic: str, family: list[Scored], offered: tuple[str, ...], answered: str) -> bool:
    """Whether a message answered alone as another service is still asked of the topic: the topic's own
    examples explain all of it ("能调解吗" after 行政争议, whose examples speak of 调解), or it asks for a part
    of an answer (asks_part). Not when the last reply offered the service it reads as: a next step."""
    if answered in offered:
        return False
    settings = cat.settings
    if family and family[0].coverage >= settings.weights.wholly and family[0].score >= settings.clarify_threshold:
        return True
    return asks_part(query, cat, topic)


def goes_on(query: Query, cat: Catalogue, topic: str) -> bool:
    """Said as going on from the last answer: its first clause, or a short last one, opens
    with 那, 也 or 如果 ("那去年办了多少件", "我不是本地人，也能申请吗"). Not a story, whose 也 and
    还有 are narration, and not a message asking about a topic of its own ("那我还能去法院告吗");
    a weak word of another topic (那能在网上弄吗: 网上 asks how) asks about none."""
    index = cat.index
    w = index.settings.weights
    if len(query.key) > w.story_length:
        return False  # a story's 那 and 也 are narration
    last = query.breaks[-1] if query.breaks else 0
    opens = [0] + ([last] if query.syllables_from(last) <= w.short_length else [])  # a last clause ("也可以吗")
    # Fillers ("那个") are already gone from the core.
    if not any(query.core.startswith(index.settings.words.going_on_words, b) for b in opens):
        return False
    if not any(word in query.core for word in index.settings.words.detail_words):
        return False  # 那你吃饭了吗, 也不知道该说什么: going on, but not about the service
    return not names_another_topic(query, index, topic, cat.facets.words)


def continues(query: Query, cat: Catalogue, topic: str) -> bool:
    """Whether a message that nothing else places goes on from the topic: said as going on (goes_on),
    or asking for a part of an answer and nothing besides (asks_part: "星期天开门不" after 司法所,
    "做一次要多少钱" after 司法鉴定), however few of its words the topic's examples use."""
    return goes_on(query, cat, topic) or asks_part(query, cat, topic)


def leans(query: Query, cat: Catalogue, topic: str, match: Match) -> bool:
    """A message short enough to lean towards the last topic ("去哪投诉", "多久能有结果") that
    names no other topic clearly: a weak word of another topic (投诉, 结果) does not move it, while
    one answered with a clear margin to spare ("公证") does. Small talk and what is said only as a
    whole message (谢了, 拜拜) never ask about the topic."""
    settings, answered = cat.settings, match.intent or ""
    if (len(query.key) > settings.weights.leaning_length or cat.has_role(answered, Role.SMALL_TALK)
            or answered in cat.index.whole_message or match.score >= settings.answer_threshold + settings.clear_margin):
        return False
    return not names_another_topic(query, cat.index, topic, cat.facets.words)


def unchosen(cat: Catalogue, ctx: Context | None, match: Match) -> Match | None:
    """A follow-up ("要钱吗") to a "did you mean" that offered several services, none of them chosen:
    asked again which one it is about, with the same buttons. Answering the first offered instead
    was wrong far more often than right: the first button is only the likeliest reading."""
    if ctx is None:
        return None
    offered = tuple(i for i in ctx.unconfirmed if i in cat.intents and not cat.has_role(i, Role.SMALL_TALK))
    if len(offered) < 2:
        return None
    return Match(Outcome.CLARIFY, None, match.score, match.runner_up, tuple(Scored(i, match.score, "") for i in offered))
