"""Danger now comes first: emergency messages are answered with 110 before anything else, never merely clarified."""

from __future__ import annotations

from dataclasses import replace

import pytest
from catalogue_factory import write_catalogue

from bot.catalogue.loader import Catalogue, load_catalogue
from bot.engine import Engine
from bot.matching.decision import Outcome
from bot.matching.index import analyse

EMERGENCIES = [
    "他又在打我",
    "我爸突然不动了",  # not a harmless 背不动
    "我家孩子在商场走丢了",  # a child, not a pet
    "我老公癫痫又犯了 怎么叫都没用", "村口塌方了 有人被埋了", "阿爷喺屋企晕低咗",  # seizure, buried, Cantonese
    "my grandma stopped breathing", "a kid fell off the bridge",
    "you ren luo shui le",  # pinyin of 有人落水了, found by sound
    "工友爬到楼顶上，说再不发工资就跳下来",
    "老公天天打我",
    "我老公喝醉了又在打我和孩子",
    "我被家暴了",
    "家暴",
    "我不想活了",
    "我不想活了😭😭",
    "活着没意思",
    "我想自杀",
    "想跳楼",
    "有人拿刀要砍我",
    "有人拿刀在我家门口",
    "他拿着菜刀追我",
    "他说要杀了我",
    "他說要殺了我",  # 繁體
    "有人威胁要弄死我",
    "他掐我脖子",
    "外面有人在打架",
    "我被人打伤了流了很多血",
    "救命",
    "救　命！！",  # full-width space and punctuation
    "救救我",
    "我不想或了",  # homophone typo of 不想活了
    "我被家报了",  # homophone typo of 家暴
]


@pytest.fixture
def shipped_engine(shipped_catalogue: Catalogue) -> Engine:
    return Engine(shipped_catalogue)


@pytest.mark.parametrize("text", EMERGENCIES)
def test_emergency_is_answered_first_with_110(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", (text, reply.kind, reply.suggestions)
    assert reply.outcome is Outcome.ANSWER  # never merely "did you mean …?"
    assert "110" in reply.text


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("他又在打我，我想申请法律援助", "legal_aid"),
        ("我老公喝醉了又在打我和孩子，我能申请法律援助吗", "legal_aid"),
        ("有人拿刀威胁我，我想找人民调解", "people_mediation"),
    ],
)
def test_emergency_comes_before_the_service_also_asked_about(shipped_engine: Engine, text: str, service: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", (text, reply.kind, reply.suggestions)
    assert "110" in reply.text
    # the service the citizen also asked about is offered next, as a button
    assert service in reply.suggestions, reply.suggestions


def test_emergency_wins_over_the_topic_of_the_previous_turn(shipped_engine: Engine) -> None:
    first = shipped_engine.respond("citizen", "公证处在哪里")
    assert first.intent is not None
    assert first.intent.startswith("notarization")
    reply = shipped_engine.respond("citizen", "他又在打我")
    assert reply.intent == "emergency"
    assert "110" in reply.text


@pytest.mark.parametrize(
    "text",
    [
        "打官司", "打官司要多少钱", "打工", "在外地打工被拖欠工资", "打听一下公证怎么办", "打印材料", "砍价",
        "我儿子想去留学",  # 留学 sounds like 流血
        "我爸年纪大了背不动了 我想问问手机上能办事吗",  # can't carry, not 我爸…不动了 (harmless)
        "昨晚打排位杀疯了", "今天杀疯了 连赢十把",  # gamers' hyperbole (harmless)
        "我家的狗走丢了两天了 咋办", "家里猫狗打架怎么劝",  # pets (harmless)
        # English triggers are whole phrases: lost things, a safe deposit, police asked about, a slow office
        "my passport was lost on the train, where do I report it", "how do I open a safe account for my savings",
        "should I call the police about my neighbour's loud music", "the office is unresponsive to my complaint",
        "I took pills for my cold, can I still drive?",
    ],
)
def test_look_alikes_are_not_emergencies(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent != "emergency", text
    assert reply.kind != "emergency"


@pytest.fixture(scope="module")
def small_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    # triggers: 打我, 家暴, 想死, 不想活, 自杀, 拿刀, 救命 (see catalogue_factory)
    return Engine(load_catalogue(*write_catalogue(tmp_path_factory.mktemp("small"))))


@pytest.mark.parametrize(
    ("message", "is_emergency"),
    [
        ("他又在打我", True),
        ("我真的不想活了", True),
        ("我不想或了", True),  # a trigger of three syllables, typed with a homophone
        ("有人拿刀", True),
        ("救命啊！！", True),
        ("我老公家暴", True),
        ("打官司", False),
        ("我想打工", False),
        ("法律援助怎么申请", False),
        ("我儿子想去留学", False),
    ],
)
def test_triggers_select_emergency_before_matching(small_engine: Engine, message: str, is_emergency: bool) -> None:
    reply = small_engine.respond(f"user-{message}", message)
    assert (reply.intent == "emergency") is is_emergency, (message, reply.intent, reply.kind)
    if is_emergency:
        assert "110" in reply.text


def test_danger_at_the_end_of_a_very_long_story_is_still_found(shipped_catalogue: Catalogue) -> None:
    # Matching reads the first max_message_chars characters; triggers are looked for in all of it.
    story = "我家和邻居因为宅基地的事情吵了好多年，村里调解过几次也没有用。" * 30 + "他现在拿刀要砍我，快救命"
    assert len(story) > shipped_catalogue.settings.max_message_chars
    reply = Engine(shipped_catalogue).respond("u", story)
    assert reply.intent == "emergency"
    assert "110" in reply.text


# --- danger now or danger mentioned (intents/safety.yaml) ----------------------------------------

@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("老公家暴，我想咨询律师离婚的事", "legal_consultation"),
        ("去年被他打过，现在想离婚", "legal_consultation"),
        ("被家暴的人能找法律援助吗", "legal_aid"),
        ("上周被打伤了要做伤情鉴定", "judicial_appraisal"),
        ("上个月邻居之间打了一架，现在想调解", "people_mediation"),
        ("家暴在法律上算犯罪吗", "legal_consultation"),  # names no service: the catalogue's mention_intent
        ("如果有人打我我还手，算不算正当防卫", "legal_consultation"),
        # Deeds told beside a service question (a `told` group): a mention, not danger now.
        ("以前跟隔壁为了停车吵到动手，人民调解能帮我们说和吗", "people_mediation"),  # 动手, a past time
        ("物业保安还推了我一把，服务态度这么差，我要给差评", "service_evaluation"),  # 还 before a deed is "also"
        ("前年有人来闹事砸过我家的店，企业法律顾问能帮忙吗", "enterprise_legal_service"),
    ],
)
def test_danger_mentioned_gets_the_service_with_one_safety_line(shipped_engine: Engine, text: str,
                                                                  service: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent is not None and reply.intent.split(".")[0] == service, (text, reply.intent, reply.kind)
    assert reply.safety is True and reply.kind == "safety"
    assert reply.text.startswith(shipped_engine.catalogue.messages["safety_line"])
    assert reply.to_dict()["safety"] is True


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("我爸突然晕倒了叫不醒", "120"),
        ("有人落水了，捞上来没有呼吸", "120"),
        ("孩子误喝了农药", "120"),  # the first danger named decides: a poisoning, not self-harm
        ("孕妇在家大出血", "120"),  # written 大出血 beats its homophone 打出血
        ("厨房着火了，全是烟", "119"),
        ("闻到好大的煤气味", "119"),
        ("他拿刀砍我，流了好多血", "110"),
        ("孩子在超市门口不见了", "110"),  # a spread trigger: 孩子…不见
        ("快来人，我爸晕倒了", "120"),  # a cry for help gives way to the danger named after it
        ("救命啊，厨房着火了", "119"),
        ("there is a fire in the flat upstairs", "119"),  # English, found squashed: thereisafire
        ("我老公癫痫又犯了 怎么叫都没用", "120"),
        ("救命", "110"),  # a cry alone: 110
    ],
)
def test_the_right_number_comes_first(shipped_engine: Engine, text: str, number: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent == "emergency" and reply.kind == "emergency", (text, reply.intent)
    first = min((reply.text.find(n), n) for n in ("110", "119", "120") if n in reply.text)[1]
    assert first == number, reply.text
    assert ("119" in reply.text) is (number == "119")  # 119 only where fire is concerned


def test_now_words_overrule_a_mention(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("citizen", "他以前就打过我，现在又在打我了，能申请法律援助吗")
    assert reply.intent == "emergency"


def test_a_mention_after_an_answer_keeps_the_conversation_going(shipped_engine: Engine) -> None:
    shipped_engine.respond("citizen", "人民调解是什么")
    reply = shipped_engine.respond("citizen", "我们两家去年打过架，这种也能调解吗")
    assert reply.intent is not None and reply.intent.startswith("people_mediation")
    assert reply.safety
    after = shipped_engine.respond("citizen", "要多久")
    assert after.intent is not None and after.intent.startswith("people_mediation")


def test_danger_now_in_the_middle_of_a_service_conversation(shipped_engine: Engine) -> None:
    shipped_engine.respond("citizen", "公证处能办什么")
    reply = shipped_engine.respond("citizen", "煤气泄漏了，屋里全是味")
    assert reply.intent == "emergency" and "119" in reply.text


# --- now or mentioned, by evidence: the time of the danger, and what the rest of the message asks ---

@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("两个多月以前被人打伤了，伤情鉴定去哪做", "judicial_appraisal"),  # counted time: number, unit, 以前
        ("2019年被前夫打断了手，现在能申请法律援助吗", "legal_aid"),  # a year
        ("被家里人锁在屋里的妇女，打离婚官司能申请法律援助吗", "legal_aid"),  # no time: a service asked
        ("打我的人到现在还没处理，我能申请行政复议吗", "admin_reconsideration"),  # 到现在 after the danger is no danger now
    ],
)
def test_a_mention_is_told_by_its_time_or_by_a_service_asked(shipped_engine: Engine, text: str, service: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent is not None and reply.intent.split(".")[0] == service, (text, reply.intent, reply.kind)
    assert reply.safety is True


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("网上申请法律援助填了一半，厨房着火了", "119"),  # the service is what the citizen was doing
        ("我爸在办公证的时候突然晕倒了", "120"),  # a service word in the danger's own clause, before it
        ("我爸在办公证的时候突然晕倒了怎么办", "120"),  # a plea for help (怎么办) asks nothing of a service
        ("网上申请法律援助填了一半，厨房着火了，怎么办", "119"),  # nor does it name one (怎么办 is near 公证怎么办)
        ("我爸被车撞伤情况很严重", "120"),  # 伤情 read across the danger's own words is not after it
        # A question first, then a danger that what follows the question reads as happening now
        ("想问一下公证要带户口本吗……哎呀，我旁边排队的阿姨突然倒了，嘴唇都发紫了", "120"),
        ("低保怎么申请？不好了，楼下冒出好大的烟，火苗都窜上来了", "119"),
        ("离婚抚养费能不能调解？他又喝多了，拿着菜刀在砸门", "110"),
    ],
)
def test_a_message_that_ends_on_the_danger_is_danger_now(shipped_engine: Engine, text: str, number: str) -> None:
    # The service words (申请, 公证) come before the danger: they say what was going on when the danger
    # came, or what was asked before it, not what the citizen asks about now.
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent == "emergency" and number in reply.text.splitlines()[0], (text, reply.intent, reply.text)


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("我想问问怎么申请法律援助，他动手打我不是第一次了", "legal_aid"),
        ("哪里可以免费咨询律师，我妹妹一直被家暴，她自己不敢来", "legal_consultation"),
    ],
)
def test_a_danger_told_after_the_question_as_background_is_a_mention(shipped_engine: Engine, text: str,
                                                                     service: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent is not None and reply.intent.split(".")[0] == service, (text, reply.intent, reply.kind)
    assert reply.safety is True


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("保护令怎么申请，我之前被他打过", "legal_consultation"),  # a question: every mention word counts
        ("申请了保护令，之前被他打过", "legal_consultation"),  # no question, but the danger at the end is past
        ("普法讲座上有没有讲过家庭暴力", "legal_publicity"),  # a question: the service word before it counts
        ("和邻居打架被罚钱了 不服 想找行政复义", "admin_reconsideration"),  # a service asked after the danger
    ],
)
def test_a_service_asked_around_a_danger_told_is_a_mention(shipped_engine: Engine, text: str, service: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent is not None and reply.intent.split(".")[0] == service, (text, reply.intent, reply.kind)
    assert reply.safety is True


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("他要杀我，能申请保护令吗", "110"),  # 要 right before the danger: a threat, now
        ("我想自杀，法律援助能帮我吗", "110"),  # 想 right before self-harm
        ("上个月他打过我，现在他在打我女儿，能离婚吗", "110"),  # now in one clause outweighs the past in another
        ("我爸倒在地上叫不醒怎么办", "120"),  # 怎么办 asks about the danger itself, not a service
        ("有个人举着砖头追着我", "110"),  # combos: 举着…砖头
        ("我儿子放学后一直联系不上", "110"),  # combos: 儿子…联系不上
        ("厨房的火窜到吊顶上了", "119"),  # combos: 火…窜
        ("爷爷吃饭时突然说不出话", "120"),  # combos: 突然…说不出话
        ("媽媽吃了一整板安眠藥，叫不醒", "120"),  # 繁體; 吃了…一整板 is named before 安眠药
    ],
)
def test_danger_now_by_evidence_and_by_combinations(shipped_engine: Engine, text: str, number: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent == "emergency", (text, reply.intent, reply.kind)
    first = min((reply.text.find(n), n) for n in ("110", "119", "120") if n in reply.text)[1]
    assert first == number, reply.text


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("去年他打我", "past"),
        ("三年前被人打伤", "past"),
        ("被他打过", "past"),
        ("他现在打我", "now"),
        ("他在打我", "now"),
        ("如果被家暴", "past"),  # supposed: not now
        ("我割过腕", "past"),  # 过 inside the phrase: done once
        ("去年，他把我打伤了", "past"),  # a clause that is only a time sets the next one's
        ("家暴", "unsaid"),
    ],
)
def test_each_place_naming_danger_gets_a_time(shipped_catalogue: Catalogue, text: str, when: str) -> None:
    from bot.matching.danger_times import times_of
    from bot.matching.ranking import examine
    index = shipped_catalogue.index
    found = {t.value for t in times_of(examine(text, index).query, index, shipped_catalogue.danger)}
    # Danger now anywhere decides; otherwise every place must be past for the message to be past.
    decided = "now" if "now" in found else "past" if found == {"past"} else "unsaid"
    assert decided == when, (text, found)


def test_the_learned_second_opinion_stands_for_a_trigger_only_when_its_first_guess_is_emergency() -> None:
    from bot.matching.danger import learned_danger
    from bot.matching.scoring import Scored
    alike = (Scored("emergency", 0.3, "他又在打我"),)
    found = learned_danger(("emergency", "legal_aid"), alike, 0.2)
    assert found is not None and found.intent == "emergency"
    assert learned_danger(("legal_aid", "emergency"), alike, 0.2) is None
    assert learned_danger((), alike, 0.2) is None
    # Fuzzy matching finds the emergency examples hardly alike: a weak model's guess is not enough.
    assert learned_danger(("emergency", "legal_aid"), (Scored("emergency", 0.08, "他又在打我"),), 0.2) is None


@pytest.mark.parametrize("text", ["我男人喝了酒又在屋里达我", "他喝醉了在家里打孩子"])
def test_danger_no_trigger_names_is_found_by_the_learned_second_opinion(shipped_engine: Engine, text: str) -> None:
    from bot.matching.ranking import examine
    assert examine(text, shipped_engine.catalogue.index).trigger is None  # no phrase or combination names it
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent == "emergency" and reply.text.index("110") >= 0


def test_without_the_learned_model_the_second_opinion_is_silent(shipped_catalogue: Catalogue) -> None:
    text = "我男人喝了酒又在屋里达我"
    no_danger_model = replace(shipped_catalogue, danger=replace(shipped_catalogue.danger, model=None))
    assert Engine(no_danger_model, learned_veto=False).respond("citizen", text).intent != "emergency"
    # The danger model is no second opinion: it reads situations whether or not the learned model speaks.
    assert Engine(shipped_catalogue, learned_veto=False).respond("citizen", text).intent == "emergency"


# --- deeds told (a group with `told: true`) and the service a mention asks ---------------------------


@pytest.mark.parametrize("text", ["他现在又在推我，我躲在厕所里", "他正在砸我家的门"])
def test_a_deed_told_as_happening_now_is_still_danger_now(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent == "emergency" and "110" in reply.text


@pytest.mark.parametrize("text", ["医生说要动手术，住院押金能不能少交", "老房子推倒重建要办什么手续"])
def test_harmless_senses_of_a_told_word_are_not_danger(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent != "emergency" and not reply.safety, (text, reply.intent)


def test_a_told_group_is_read_from_the_catalogue(shipped_catalogue: Catalogue) -> None:
    told = [g for g in shipped_catalogue.danger.groups if g.is_told]
    assert told and all(not g.is_cry for g in told)
    assert not all(g.is_told for g in shipped_catalogue.danger.groups)


def test_a_mention_is_answered_with_the_service_the_learned_model_is_sure_of(shipped_engine: Engine) -> None:
    # Fuzzy matching of the whole message is pulled by the violence told (打架…骨折 is near no service);
    # the learned model reads the question beside it.
    text = "那年打架被打得手指骨折了，想弄清算什么伤，司法鉴定怎么申请"
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent is not None and reply.intent.startswith("judicial_appraisal"), reply.intent
    assert reply.safety


def test_danger_with_no_time_and_only_a_question_words_service_is_danger_now(shipped_engine: Engine) -> None:
    # The rest of the message asks (还有没有), but no service clears the answer bar: in doubt, now.
    reply = shipped_engine.respond("citizen", "楼道里躺着个老人一动不动，还有没有救")
    assert reply.intent == "emergency", reply.intent


@pytest.mark.parametrize("text", ["那回在菜场被人打伤了，伤情鉴定在哪做", "那阵子他动不动就打我，现在想离婚找律师"])
def test_na_hui_and_na_zhenzi_are_past_times(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent != "emergency" and reply.safety, (text, reply.intent)


def test_an_english_witness_gets_110(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("citizen", "a man outside is beating a woman, please help")
    assert reply.intent == "emergency" and "110" in reply.text


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("我们在林子里迷了路，手机快没电了", "110"),  # lost: the police search, not the fire brigade
        ("我一个人在楼顶上，往下看腿都软了", "110"),  # standing high and looking down: self-harm risk
        ("他把一整瓶药片都吞下去了，叫也叫不醒", "120"),  # pills already swallowed: an overdose
        ("厂里的搅拌机把师傅的胳膊卷进去了", "120"),
        ("国道上好几辆车连环追尾了", "120"),
    ],
)
def test_danger_told_by_place_or_by_what_happened_gets_its_number(shipped_engine: Engine, text: str,
                                                                   number: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent == "emergency" and reply.kind == "emergency", (text, reply.intent)
    first = min((reply.text.find(n), n) for n in ("110", "119", "120") if n in reply.text)[1]
    assert first == number, reply.text


@pytest.mark.parametrize(
    "text",
    ["我快要爆炸了，公证处几点下班", "哪里可以学急救知识", "单位组织急救培训，需要带什么"],
)
def test_a_figure_of_speech_or_a_first_aid_course_is_no_emergency(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert reply.intent != "emergency" and reply.kind != "emergency", (text, reply.text)


def test_blood_everywhere_is_danger_now_even_after_a_service_question(shipped_engine: Engine) -> None:
    text = "我想问问工伤的事，可是工友刚从架子上掉下来，地上全是血"
    reply = shipped_engine.respond("citizen-blood", text)
    assert reply.intent == "emergency" and "120" in reply.text, reply.text


@pytest.mark.parametrize(
    ("text", "now"),
    [
        ("my husband hit me two years ago, is legal aid free for me", False),  # English past time: a mention
        ("he hit me and I am scared", True),
    ],
)
def test_english_violence_is_timed_like_chinese(shipped_engine: Engine, text: str, now: bool) -> None:
    reply = shipped_engine.respond(f"citizen-{text}", text)
    assert (reply.kind == "emergency") is now, (text, reply.kind)
    assert reply.safety is not now, (text, reply.text)


# --- sound folds, the number after a deed is done, the question in its own words -----------------

@pytest.mark.parametrize(
    "text",
    [
        "公司欠了我两个月的加班费",  # 欠了我 folds to the sound of 抢了我 (qian / qiang)
        "房东欠了我押金一直不退",
        "厂里拖欠我半年的工钱",
    ],
)
def test_debts_that_sound_like_a_robbery_are_not_emergencies(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent != "emergency", text
    assert "110" not in reply.text


def test_a_real_robbery_next_to_a_debt_is_still_danger_now(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("citizen", "有人抢了我的手机，现在还在追我")
    assert reply.intent == "emergency"
    assert "110" in reply.text


def test_a_folded_typo_the_model_reads_as_danger_still_counts(shipped_engine: Engine) -> None:
    # 屎 (shi) for 死 (si) is found only through the s/sh fold; the danger model reads violence.
    reply = shipped_engine.respond("citizen", "那个人喊着要弄屎我")
    assert reply.intent == "emergency"
    assert "110" in reply.text


def _first_number(text: str) -> str:
    return min(("110", "120", "119"), key=lambda n: text.find(n) if n in text else len(text))


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("我哥被人砍伤了，血一直在流", "120"),  # the attack is over, the wound is what is happening
        ("她割腕了，地上好多血", "120"),
        ("有个人躺在地上一动也不动", "120"),
        ("他正在打我，我头上流血了", "110"),  # still being beaten: the police first
        ("被人打了一顿，他现在还在打", "110"),
        ("我同事被人捅了一刀", "110"),  # no injury said: the police first
    ],
)
def test_the_number_first_after_an_attack_is_over(shipped_engine: Engine, text: str, number: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", text
    assert _first_number(reply.text) == number, reply.text


@pytest.mark.parametrize(
    "text",
    ["my friend said she would kill herself", "a man is at my door with a bat", "he beat me up and he is still here",
     "I can hear someone beating him next door, what should I do?"],
)
def test_english_danger_now(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", text


@pytest.mark.parametrize(("text", "number"), [
    ("a kid is drowning near the bridge", "110"),
    ("my neighbour's flat smells of gas and nobody answers", "119"),
    ("my grandpa fainted at the market", "120"),
    ("some guys fighting in the street, one is hurt", "110"),
    ("my mother is having a stroke, her face is drooping", "120"),
    ("there was an explosion in the workshop next door", "119"),
    ("we are stuck in the lift between two floors", "119"),
    ("a man keeps banging on my door and trying to get in", "110"),
    ("I'm on the roof and I want to jump", "110"),
    ("ta shuo jin wan yao lai sha wo", "110"),  # typed pinyin, found by sound: 来杀我
])
def test_english_accidents_and_fights_get_their_number(shipped_engine: Engine, text: str, number: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert (reply.intent, _first_number(reply.text)) == ("emergency", number), reply.text


def test_an_english_plea_for_help_reads_as_one(shipped_catalogue: Catalogue) -> None:
    # "what" reads as 什么, a question word: "what should I do" must read as the plea 怎么办 (a help word),
    # or an English danger ending on it would read as a question about a service, a mention.
    assert analyse("What should I do?", shipped_catalogue.settings).core == "怎么办"
    assert "怎么办" in shipped_catalogue.danger.help_words


def test_asking_for_help_with_a_service_in_english_is_no_emergency(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("citizen", "can you help me with notarization")
    assert reply.intent == "notarization"


def test_an_english_mention_of_past_violence_gets_the_service(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("citizen", "my husband beat me last year, can I get legal aid")
    assert reply.intent == "legal_aid"
    assert reply.safety


def test_the_question_in_its_own_words_decides_the_service(shipped_engine: Engine) -> None:
    # The abuse told pulls the whole message towards legal questions; without it, it asks for 司法所.
    reply = shipped_engine.respond("citizen", "我爸以前被我哥虐待过，能去村里的司法所问吗")
    assert reply.intent == "judicial_office"
    assert reply.safety


def test_a_mention_after_an_answer_keeps_the_conversation_s_service(shipped_engine: Engine) -> None:
    assert shipped_engine.respond("citizen", "人民调解怎么申请").intent == "people_mediation"
    reply = shipped_engine.respond("citizen", "以前被打过的事也可以吗")
    assert reply.intent == "people_mediation"
    assert reply.safety
    assert "110" in reply.text.splitlines()[0]


def test_a_mention_that_names_its_own_service_does_not_keep_the_old_one(shipped_engine: Engine) -> None:
    shipped_engine.respond("citizen", "公证怎么办")
    reply = shipped_engine.respond("citizen", "上周被人打伤了，想做伤情鉴定")
    assert reply.intent == "judicial_appraisal"
    assert reply.safety


def test_a_bare_cry_in_an_everyday_service_question_gets_the_service(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("citizen", "救命啊，人民调解到底要去哪里申请，跑了好几趟了")
    assert reply.intent == "people_mediation"
    assert reply.safety  # the safety line stays on top


@pytest.mark.parametrize("text", ["救命啊", "救命 有人在撬我家的门", "救命，我被锁在仓库里了"])
def test_a_cry_with_danger_or_alone_is_still_danger_now(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", text


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("隔壁男的又在打他媳妇，喊得好吓人", "110"),
        ("他在楼下喊，说不给钱就放火烧了我家", "110"),  # a threat of fire is violence
        ("厨房着火了，烟越来越大", "119"),
    ],
)
def test_threats_and_beatings_of_others_call_the_police_first(shipped_engine: Engine, text: str, number: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", text
    assert _first_number(reply.text) == number, reply.text


def test_after_an_emergency_answer_the_service_asked_next_keeps_the_safety_line(shipped_engine: Engine) -> None:
    assert shipped_engine.respond("u", "救命 他拿着刀说要砍死我").kind == "emergency"
    pressed = shipped_engine.choose("u", "legal_aid")
    assert (pressed.intent, pressed.safety) == ("legal_aid", True)
    typed = shipped_engine.respond("u", "那要多久")
    assert (typed.intent, typed.safety) == ("legal_aid", True)
    assert shipped_engine.respond("u", "再见").intent == "goodbye"
    assert not shipped_engine.respond("u", "法律援助怎么申请").safety  # a new conversation starts calm


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("我不想活了，刚把一瓶安眠药全吃了", "120"),  # self-harm intent, and the pills already taken
        ("想不开喝了农药", "120"),
        ("药都买好了，今晚就走", "110"),  # intent alone: the police first
        ("活着没意思，今晚就结束这一切", "110"),  # 没意思 sounds like 没意识 only by a folded sound
        ("遗书写好了，活着真的没意思", "110"),
        ("我爸没意识了", "120"),
    ],
)
def test_self_harm_done_gets_120_and_intent_gets_110(shipped_engine: Engine, text: str, number: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", text
    assert _first_number(reply.text) == number, reply.text


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("我爸心口疼得厉害，满头冷汗，他以前就有心脏病", "120"),  # the past is background: no service asked
        ("拆迁的人来了，现在几个人把我哥按在地上打", "110"),
    ],
)
def test_danger_now_told_beside_a_past_is_still_now(shipped_engine: Engine, text: str, number: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", (text, reply.intent)
    assert _first_number(reply.text) == number, reply.text


def test_a_past_danger_with_a_service_asked_is_still_a_mention(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("citizen", "他以前有心脏病，去年在医院没抢救过来，想做医疗过错鉴定找谁")
    assert (reply.intent, reply.safety) == ("judicial_appraisal", True), reply.text


@pytest.mark.parametrize("text", ["孩子发着烧一直翻白眼", "我爸突然翻白眼了，叫他没反应"])
def test_eyes_rolling_back_is_a_medical_emergency(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency" and _first_number(reply.text) == "120", (text, reply.text)


def test_rolling_ones_eyes_at_a_citizen_is_no_emergency(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("citizen", "办事大厅那个工作人员不耐烦，还翻白眼，我想给差评")
    assert reply.intent == "service_evaluation", reply.text


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("路口有个人开着车故意往人身上撞", "110"),
        ("有个阿伯晕咗，冇反应", "120"),  # Cantonese
        ("my mom took a whole bottle of sleeping pills and she wont wake up", "120"),
        ("my husband is outside my door saying he will hurt me", "110"),
        ("I came to ask about legal aid but he just got home drunk and says he'll kill me if I call anyone", "110"),
        ("刚吃了半瓶药，头很晕", "120"),
        ("药攒了好久，今晚打算全吃了", "110"),  # not yet taken: the intent
        ("池塘边有个小孩掉下去了", "110"),  # 掉下去 is part of the fall into water, not a fall of its own
        ("my son fell into the river", "110"),
        ("快来人啊，有人被砍了，一直在流血", "120"),  # the cry gives way to the attack, the attack to the wound
        ("被打了一顿，现在腿动不了", "120"),
    ],
)
def test_danger_now_in_more_words_gets_its_number(shipped_engine: Engine, text: str, number: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", (text, reply.intent)
    assert _first_number(reply.text) == number, (text, reply.text)


@pytest.mark.parametrize("text", ["想死你们了，好久没来问了", "打死我都不信法律援助不要钱", "电脑中毒了怎么办", "火灾险哪里买"])
def test_figures_of_speech_with_danger_words_are_no_emergency(shipped_engine: Engine, text: str) -> None:
    assert shipped_engine.respond("citizen", text).intent != "emergency", text


def test_a_deed_told_with_hai_and_le_is_what_was_also_done(shipped_engine: Engine) -> None:
    # 还打了我一下 tells what else was done (done_before); 还打我, 还要杀了我 are still danger now.
    told = shipped_engine.respond("citizen", "上个月在市场被管理员推了一把，还打了我一下，去哪里投诉")
    assert told.intent != "emergency" and told.safety, told.text
    for text in ("他还打我", "他还要杀了我", "他喝醉了还在打我"):
        assert shipped_engine.respond("citizen", text).intent == "emergency", text


def test_a_bare_cry_before_a_service_asked_loosely_still_gets_the_service(shipped_engine: Engine) -> None:
    # The rest names its service only as well as a "did you mean" would; the safety line stays on top.
    reply = shipped_engine.respond("citizen", "救命 证明到底还要不要开")
    assert (reply.intent, reply.safety) == ("certificate_reduction", True), reply.text


@pytest.mark.parametrize("text", [
    "他坐牢前说过出来第一件事就是找我算账，听说他昨天出狱了",  # a threat on one's life stands (standing_threats)
    "前几天他说过要跟我同归于尽，这两天他天天给我打电话",
    "上个月他说要拿刀砍我，刚才我下班看到他在公司门口",  # a later clause says 刚才: the story comes to now
    "去年他扬言要打断我的腿，刚刚我在菜场碰到他了",
])
def test_danger_told_as_past_is_now_when_the_threat_stands_or_the_story_comes_to_now(
        shipped_engine: Engine, text: str) -> None:
    assert shipped_engine.respond("citizen", text).intent == "emergency", text


@pytest.mark.parametrize(("text", "service"), [
    ("三年前他说不还钱就打死我，这种威胁现在还能不能告他", None),  # a question beyond the danger and time words
    ("上周被人打伤了，刚才去医院拍了片，伤情鉴定去哪里做", "judicial_appraisal"),
])
def test_a_standing_threat_or_a_story_come_to_now_that_asks_a_question_is_a_mention(
        shipped_engine: Engine, text: str, service: str | None) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent != "emergency" and reply.safety, (reply.intent, reply.text)
    assert service is None or reply.intent == service, reply.intent
