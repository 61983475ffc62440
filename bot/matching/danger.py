"""Danger now, or danger only mentioned: decided after the triggers found danger words in a message.

A trigger means the message speaks of violence, self-harm, illness, an accident or fire. Words
of danger now (`now_words`: 救命, 快来人, 拿刀, 要弄死我) make it danger now unless a time said before
them in their clause, or 过 after them, makes them past ("之前气得差点想不开"), they name a thing
("威胁我的那些话"), or the message is settled (see the danger model below). Otherwise each place the message names danger gets a time from the words around it, in its own
clause: said after `now_times` (正在, 现在, 今天, 刚才) or right after `now_before` (在, 要, 想:
"他在打我", "要杀我", "想自杀") it is now; after `past_times` (去年, 以前, 如果, 打过) or a date
("三年前", "两个月以前", "2019年", "5月3号"), or followed by 过 ("被他打过", "割过腕") it is past or supposed.
Danger now anywhere makes the message danger now. When every place is past or supposed, or the
message asks about a service or the law (the ranking finds a service above `floor` and a clause
asks, or it holds `mention_words`: 怎么规定, 算不算…, after the danger when nothing is asked, or it names a service
after the danger that the danger model surely reads as no danger now), danger is only mentioned: the service asked
about, or the catalogue's `mention_intent` when it names none, with a safety line. A message that asks
first and then tells a danger that the danger model, reading only what follows the question, reads as
happening now is danger now ("公证要带户口本吗……哎呀，旁边排队的阿姨突然倒了，嘴唇都发紫了"). In doubt, now.

The danger model (trained from safety.yaml's `situations` and `mentions`, bot.catalogue.danger)
reads what no word list holds: danger now told as a situation ("有人掉江里了"), the number a loose
trigger or a bare cry stands for, and a question that only mentions danger. It adds recall, and
relaxes only what was in doubt: a settled message says the danger is over (`recovered_words`), or
is a question with a past time that the model surely reads as no danger now.

The number first is the group of the danger named first, unless that group `yields_to` another
named in the message too (落水 to 没有呼吸: 120), or read there by the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

from bot.catalogue.model import EMERGENCY, Danger, DangerGroup, MatcherSettings, situation, topic_of
from bot.matching.asked import clause_leaders, learned_service, rest_ranking, service_of
from bot.matching.clauses import asks
from bot.matching.danger_times import When, clause_of, now_word, time_marks, times_of, word_pattern
from bot.matching.index import Index, Query, analyse
from bot.matching.learned import Opinion, features
from bot.matching.ranking import rank
from bot.matching.scoring import Scored
from bot.matching.triggers import Trigger, find_trigger, folded_only, spans

LEARNED = "(learned)"  # the text of the trigger standing for the learned model's second opinion
MENTION = "(mention)"  # the danger model's class of questions that only mention danger (bot.catalogue.danger)
# Log-odds the danger model must give a group over "neither" to find danger with no trigger: at 5 a
# situation's n-grams outweigh a service question's by about e^5; lower, questions about 交通事故 or
# 工伤 read as accidents now, and a short question whose n-grams neither class holds much of leans to
# the small danger classes (naive Bayes gives a class with fewer n-grams a higher default for each
# one it never saw: 我儿子想去留学 reads as violence at 4.6). A mention needs less, it only relaxes a
# trigger whose time is unsaid.
# Complement naive Bayes and per-class length normalisation were measured against it (danger-now
# recall at 0, 3, 10 and 30 false alarms over every readable set): both lower at few false alarms.
SURE_SITUATION = 5.0
SURE_MENTION = 2.0
# Setting a now word aside takes a surer mention than relaxing a trigger with no time ("她说我想死，
# 如果我不报警有罪吗" is a mention at 3.6; "老公拿刀砍了我，当时报了警，还能追究吗" at 30).
SURE_SETTLED = 8.0
# A trigger's group gives way to the model's reading only far beyond that ("孩子不剪了，在商场里找不到"
# reads as illness at 6, "我爸心脏病犯了，药找不到" at 18).
SURE_NUMBER = 10.0
_CHINESE = re.compile("[\u4e00-\u9fff]")


def danger_found(trigger: Trigger | None, query: Query, index: Index, danger: Danger,
                 opinion: Opinion | None) -> Trigger | None:
    """The danger a message names: its trigger, unless it only stands in a harmless phrase
    (救命稻草); else a situation the danger model reads as danger now (有人掉河里了). `opinion` is
    the danger model's reading of the message (danger_opinion), made once per message."""
    if trigger is not None and danger.harmless:
        trigger = _beyond_harmless(query, index, danger)
    text = f"{query.text}\n{query.core}"
    # Found only through an accent fold (qian for qiang: 欠了我 for 抢了我), a trigger needs the model's
    # first reading to be a danger too ("他说要弄屎我" is): without it, look on without such finds.
    if trigger is not None and folded_only(text, query.key, query.exact_key, trigger) and (
            opinion is None or opinion.guesses[:1] in ((MENTION,), ("",), ())):
        near = [t for t in index.triggers_near(query) if not folded_only(text, query.key, query.exact_key, t)]
        trigger = find_trigger(text, query.key, near)
    return trigger if trigger is not None else read_situation(opinion)


def read_situation(opinion: Opinion | None, sure: float = SURE_SITUATION) -> Trigger | None:
    """A trigger standing for the group whose danger-now situations the message reads like, when
    the danger model is sure of it over "neither" and over a mention."""
    first = opinion.guesses[:1] if opinion is not None else ()
    if not first or first[0] in (MENTION, "") or opinion.over_out_of_scope < sure:
        return None
    return Trigger(EMERGENCY, situation(first[0]), "")


def danger_opinion(query: Query, danger: Danger, settings: MatcherSettings,
                   grams: AbstractSet[str] | None = None) -> Opinion | None:
    """The danger model's reading of a message, made once per message and passed to the rest; None
    without a model or without Chinese, whose n-grams it learned (Latin letters are read by sound
    only: two-letter keys that every English sentence shares). `grams` are the message's features(),
    when the learned model's reading already built them (bot.matching.ranking.Examined). The harmless
    phrases are taken out first: "烦死了" tells no danger to the model either, and its n-grams (死)
    lean a chat about mahjong to violence."""
    if danger.model is None or not _CHINESE.search(query.core):
        return None
    if danger.harmless and any(phrase in query.core for phrase in danger.harmless):
        rest = analyse(word_pattern(danger.harmless).sub("，", query.core), settings)
        query, grams = rest, None
        if not _CHINESE.search(query.core):
            return None
    opinion = danger.model.read(features(query.core, query.key) if grams is None else grams)
    short_length = settings.weights.short_length
    if query.length >= short_length:
        return opinion
    # A short message has few n-grams, and naive Bayes gives the small danger classes a higher default
    # for each one they never saw ("再说一遍" read as violence at 5.5): its lead over "neither" counts
    # in proportion to its length ("有人掉江里了" still at 12).
    return replace(opinion, over_out_of_scope=opinion.over_out_of_scope * query.length / short_length)


def doubts_learned(opinion: Opinion | None) -> bool:
    """The danger model surely reads the message as no danger now ("怕我走了以后他们来闹"): the
    learned second opinion, trained on far fewer ways of telling danger, gives way to it."""
    return _no_danger_now(opinion, SURE_SITUATION)


def _reads_as_mention(opinion: Opinion | None, sure: float = SURE_MENTION) -> bool:
    """The danger model surely reads the message as a question that only mentions danger. Not
    "neither": a danger told in words the model never saw reads as neither ("怎么叫都没反应")."""
    return opinion is not None and opinion.guesses[:1] == (MENTION,) and opinion.margin >= sure


def _no_danger_now(opinion: Opinion | None, sure: float = SURE_SETTLED) -> bool:
    """The danger model reads the message, beyond doubt, as a mention or as an everyday service question
    ("执法队员上回态度很凶，还放话要收拾我，哪个部门监督"): with a past time and a question, it is settled."""
    return opinion is not None and opinion.guesses[:1] in ((MENTION,), ("",)) and opinion.margin >= sure


def _beyond_harmless(query: Query, index: Index, danger: Danger) -> Trigger | None:
    """The trigger found once the harmless phrases are taken out of the message."""
    text = f"{query.text}\n{query.core}"
    if not any(phrase in text for phrase in danger.harmless):
        return find_trigger(text, query.key, index.triggers_near(query))
    rest = analyse(word_pattern(danger.harmless).sub("，", query.core), index.settings)
    return find_trigger(f"{rest.text}\n{rest.core}", rest.key, index.triggers_near(rest))


def learned_danger(guesses: Sequence[str], intents: Sequence[Scored], floor: float) -> Trigger | None:
    """Danger by the learned second opinion: no trigger was found, but the model's first guess for
    the message is the emergency topic and fuzzy matching finds the emergency examples at least
    `floor` alike (a model trained on a small catalogue guesses emergency for "打官司": its score
    there is a tenth). It only adds recall; whether now or mentioned is assessed as for a trigger."""
    if guesses[:1] != (EMERGENCY,):
        return None
    score = next((s.score for s in intents if s.intent == EMERGENCY), 0.0)
    return Trigger(EMERGENCY, LEARNED, "") if score >= floor else None


@dataclass(frozen=True, slots=True)
class DangerCall:
    """What a message with a danger trigger gets: the emergency answer, or a service with a safety line."""

    trigger: Trigger
    is_now: bool
    service: Scored | None = None  # the service asked about, when danger is only mentioned
    general: bool = False  # the message names no service: the learned model's guess, or mention_intent


def assess(query: Query, trigger: Trigger, index: Index, intents: Sequence[Scored], danger: Danger, floor: float,
           is_service: Callable[[str], bool], opinion: Opinion | None, learned: Opinion | None = None) -> DangerCall:
    """Now or mentioned, for a message holding `trigger`; `intents` is the ranking, `floor` the
    score a service must reach to be what the message asks about, `learned` the learned model's
    opinion of the message (which service it asks, when the danger told pulls the ranking)."""
    now = DangerCall(trigger, is_now=True)
    whole = f"{query.text}\n{query.core}"
    # A question told with a past time somewhere, which the model reads as no danger now ("老公拿刀砍了我，
    # 当时报了警，我还能追究他吗"), or a message saying the danger is over: a now word with no time of
    # its own does not decide alone.
    recovered = any(word in whole for word in danger.recovered_words)
    settled = recovered or (
        any(when is When.PAST for _, _, when in time_marks(query.core, danger))
        and asks(query.core, index.settings.words.question_words) and _no_danger_now(opinion))
    if ((recovered or _only_help(query, index, danger)) and not now_word(query, danger, settled=False)
            and When.NOW not in times_of(query, index, danger)):
        # The danger is over, or help has come ("人救上来了，没事了，谢谢你", "救护车到了，谢谢"): the thanks
        # or goodbye one of its clauses says alone, the last, at the answer bar (the safety line stays on
        # top): the words that say the danger is over ("人没事了") read a little like a goodbye.
        said = [first for first in clause_leaders(query, index)
                if not is_service(first.intent) and topic_of(first.intent) != EMERGENCY
                and first.score >= index.settings.answer_threshold]
        if said:
            return DangerCall(trigger, is_now=False, service=said[-1])
    if _only(query, index, danger, lambda g: g.is_cry) and _no_danger_now(opinion) and not _beyond_cries(query, danger):
        # A bare cry in what the model surely reads as an everyday question ("救命，这张表到底怎么填"): the
        # service it asks in its own words, at the bar of a "did you mean" (the safety line stays on top).
        asked = service_of(rest_ranking(_without_danger(query, index, danger), index), index.settings.clarify_threshold,
                           is_service)
        if asked is not None:
            return DangerCall(trigger, is_now=False, service=asked)
    if now_word(query, danger, settled) or _stands(query, index, danger, recovered):
        return now
    # Settled, a threat reported with 要 before it ("上回…还放话要收拾我，哪个部门监督") is told, not
    # happening: only a time word of its own makes it now.
    times = times_of(query, index, danger, settled) or [When.UNSAID]
    placed = _spans(query, index)  # found once for the three readings of where the danger sits below
    if When.NOW in times or (
            not settled and _goes_on_now(query, danger, placed) and not _asks_beyond(query, index, danger)):
        return now
    if any(word in whole for word in danger.recovered_words) or (
            _only(query, index, danger, lambda g: g.is_told) and read_situation(opinion) is None):
        # 以前想不开过，现在好多了; 执法人员还推了我一把，我要举报
        times = [When.PAST for _ in times]
    service = service_of(intents, floor, is_service)
    undated = not all(when is When.PAST for when in times)
    # Read once: the danger model's reading of what follows the last question, where a danger follows it.
    ends_now = undated and _ends_on_danger_now(query, index, danger, placed)
    if undated and not _mentions_at_end(query, index, danger, placed, ends_now):
        # Danger said without a time: only mentioned when the rest of the message asks about a service
        # ("被家暴的人打官司能找法律援助吗"), or names one after the danger and the model is sure no danger
        # is now (_ends_on_service); not when the question is about the danger ("晕倒了怎么办"), nor when
        # the danger told after the question reads as happening now (_ends_on_danger_now).
        rest = _without_danger(query, index, danger)
        if (not asks(rest, index.settings.words.question_words) or ends_now) and not (
                _no_danger_now(opinion) and _ends_on_service(query, index, danger, is_service, placed)):
            return now
        service = service_of(rank(analyse(rest, index.settings), index).intents, floor, is_service)
        # 家庭暴力怎么取证: no service. A service below the answer bar may be matched by the question's
        # own words alone ("不知道还有没有气" is near "廉租房还有没有"): in doubt, now, unless the model
        # reads a mention, or surely no danger now (a story about a work injury, a stuck lift last week).
        weak = service is not None and service.score < index.settings.answer_threshold and not _no_danger_now(opinion)
        if (service is None or weak) and not _reads_as_mention(opinion):
            return now
    # The question in its own words finds the same service, or one where the whole message found none.
    own = rest_ranking(_without_danger(query, index, danger), index)
    asked = service_of(own, index.settings.answer_threshold, is_service)
    if asked is not None and (service is None or asked.intent == service.intent):
        return DangerCall(trigger, is_now=False, service=service or asked)
    named = service_of(own, floor, is_service) is not None  # in its own words, not by the danger told
    if service is None or (learned is not None and service.intent not in learned.guesses[:2]):
        service = learned_service(learned, intents, floor, is_service, index.settings.weights.model_vetoes) or service
    if service is not None:
        return DangerCall(trigger, is_now=False, service=service, general=not named)
    if danger.mention_intent is not None and read_situation(opinion) is None:
        # A question about the law naming no service; read as danger now, the past is background (以前就有心脏病).
        return DangerCall(trigger, is_now=False, service=Scored(danger.mention_intent, floor, ""), general=True)
    return now


def _spans(query: Query, index: Index) -> list[tuple[int, int]]:
    """Each place naming danger in the core: where it starts and ends."""
    return [span for t in index.triggers_near(query) for span in spans(query.core, query.key, t)]


def _mentions_at_end(query: Query, index: Index, danger: Danger, places: list[tuple[int, int]],
                     ends_now: bool = False) -> bool:
    """The message holds a `mention_words` word after the last place naming danger: a service or the law
    asked about the danger told ("被打了以后开的病历能当证据吗"). One said only before it tells what the
    citizen was doing when danger came ("网上预约公证填到一半，厨房着火了", "在办公证的时候晕倒了"): the
    message ends on the danger, now, unless that clause tells it as past ("申请了保护令，之前被他打过").
    In a message that asks beyond its pleas for help (怎么办), every one counts ("八五普法里有没有讲家庭暴力的"),
    unless the danger told after its question reads as happening now (`ends_now`, _ends_on_danger_now)."""
    core = query.core
    whole = f"{query.text}\n{core}"  # the text keeps what the core drops (那司法鉴定呢 车祸伤的)
    if not places or (asks(word_pattern(danger.help_words).sub("", whole), index.settings.words.question_words)
                      and not ends_now):
        return any(word in whole for word in danger.mention_words)
    begins, ends = max(places)
    start = clause_of(query, begins)[0]
    past = any(at >= start and when is When.PAST for at, _, when in time_marks(core, danger))
    # Searched from where the danger ends: 撞伤情况 holds 伤情 across it.
    return any(past or core.find(word, ends) >= 0 for word in danger.mention_words if word in core)


def _ends_on_danger_now(query: Query, index: Index, danger: Danger, places: list[tuple[int, int]]) -> bool:
    """The message asks first and then tells a danger that the danger model, reading only what follows
    the last question, surely reads as happening now ("公证要带户口本吗……哎呀，旁边排队的阿姨突然倒了，
    嘴唇都发紫了"). A danger told after the question as background reads as a mention or as nothing
    ("法律援助怎么申请，他打我不是第一次了"). A question asked after the danger is the last question, so
    "打什么电话" after it is a plea for help (`help_words`), not a question."""
    if not places:
        return False
    words = index.settings.words.question_words
    core = query.core
    bounds = [*query.breaks, len(core)] if query.breaks and query.breaks[0] == 0 else [0, *query.breaks, len(core)]
    asked = [end for start, end in zip(bounds, bounds[1:]) if asks(word_pattern(danger.help_words).sub("", core[start:end]), words)]
    if not asked or max(places)[0] < asked[-1]:
        return False
    tail = analyse(core[asked[-1]:], index.settings)
    return read_situation(danger_opinion(tail, danger, index.settings)) is not None


def _ends_on_service(query: Query, index: Index, danger: Danger, is_service: Callable[[str], bool],
                     places: list[tuple[int, int]]) -> bool:
    """After the last clause naming danger, the message names a service at the answer bar, asking
    nothing ("因为打架被罚款了 不服想行政复议"): a request, told after the danger. A danger told after
    the service ("网上办营业执照卡住了。哎不对，楼下着火了") is where the message ends: now."""
    # Its pleas for help aside: "怎么办" alone is near "公证怎么办".
    tail = word_pattern(danger.help_words).sub("", query.core[clause_of(query, max(places)[0])[1]:]) if places else ""
    return bool(tail) and service_of(rest_ranking(tail, index), index.settings.answer_threshold, is_service) is not None


def _goes_on_now(query: Query, danger: Danger, places: list[tuple[int, int]]) -> bool:
    """A story that comes to now after its danger: a clause after the last place naming danger
    holds one of `carried_times` ("上个月他说要拿刀砍我，刚才我下班看到他在公司门口"). In doubt, now."""
    core = query.core
    if not places:
        return False
    after = clause_of(query, max(places)[0])[1]
    return any(start >= after and core[start:end] in danger.carried_times
               for start, end, when in time_marks(core, danger) if when is When.NOW)


def _stands(query: Query, index: Index, danger: Danger, recovered: bool) -> bool:
    """A threat on one's life (`standing_threats`) stands whenever it was made ("他坐牢前说过出来就找我算账，
    听说他昨天出狱了"), unless the danger is said to be over or the message asks a question
    ("三年前他说不还钱就打死我，现在还能不能告他"), which is timed like any other mention."""
    return (not recovered and any(word in query.core for word in danger.standing_threats)
            and not _asks_beyond(query, index, danger))


def _asks_beyond(query: Query, index: Index, danger: Danger) -> bool:
    """The message asks a question beyond its danger, its pleas for help (怎么办) and its time words
    (这几天 and 前几天 ask nothing): about a service or the law, a mention."""
    rest = word_pattern(danger.now_times + danger.past_times).sub("", _without_danger(query, index, danger))
    return asks(rest, index.settings.words.question_words)


def _only_help(query: Query, index: Index, danger: Danger) -> bool:
    """The message says help has come (`help_arrived`: 救护车到了) and names no danger beyond it:
    "救护车来了，可我爸还是叫不醒" still names one."""
    core = query.core
    helped = [m.span() for m in word_pattern(danger.help_arrived).finditer(core)]
    if not helped:
        return False
    named = [span for t in index.triggers_near(query) for span in spans(core, query.key, t)]
    return all(any(start <= s and e <= end for start, end in helped) for s, e in named)


def _beyond_cries(query: Query, danger: Danger) -> bool:
    """A word of danger now other than a cry for help (救命 is both) in the message."""
    cries = [t for g in danger.groups if g.is_cry for t in g.triggers]
    return any(w in query.core and not any(w in cry for cry in cries) for w in danger.now_words)


def _only(query: Query, index: Index, danger: Danger, kind: Callable[[DangerGroup], bool]) -> bool:
    """Every danger the message names is of groups of that kind (`told`: a deed told; `cry`: a cry)."""
    groups = [danger.group_of(t.text) for t in index.triggers_near(query) if spans(query.core, query.key, t)]
    return bool(groups) and all(g is not None and kind(g) for g in groups)


def _without_danger(query: Query, index: Index, danger: Danger) -> str:
    """The message's core with every place naming danger, and every plea for help (`help_words`:
    怎么办, 帮帮我), taken out: what is left asks about a service, or asks nothing."""
    core = query.core
    kept = [True] * len(core)
    for t in index.triggers_near(query):
        for start, end in spans(core, query.key, t):
            kept[start:end] = [False] * (end - start)
    for found in word_pattern(danger.help_words).finditer(core):
        kept[found.start():found.end()] = [False] * (found.end() - found.start())
    return "".join(ch for ch, keep in zip(core, kept, strict=True) if keep)


