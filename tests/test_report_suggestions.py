"""Report suggestions: an intent only when adding the group's typical question to it would answer the group."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from bot.catalogue.loader import Catalogue
from bot.report.clusters import cluster, key_words
from bot.report.summary import build_report, format_clusters, open_readonly
from bot.service.eventlog import EventLog

NOW = datetime(2021, 3, 1, 12, 0)
SOCIAL_CARD = ["社保卡丢了怎么补办"] * 3 + ["社保卡掉了怎么补办", "社保卡丢了补办去哪里", "补办社保卡要什么"]
LEGAL_AID = ["法律援助的申请条件是啥呀"] * 2 + ["法律援助申请条件有哪些", "申请法律援助条件是什么"]


def test_a_group_no_intent_would_answer_is_a_new_topic(shipped_catalogue: Catalogue) -> None:
    (group,) = cluster([(t, "") for t in SOCIAL_CARD], shipped_catalogue)
    assert group.suggestion is None  # it was 紧急求助 before the simulation
    assert group.new_topic == ("社保卡", "补办")


def test_a_group_the_intent_would_answer_keeps_its_suggestion(shipped_catalogue: Catalogue) -> None:
    (group,) = cluster([(t, "") for t in LEGAL_AID], shipped_catalogue)
    assert group.suggestion is not None and group.suggestion.intent == "legal_aid"
    assert group.new_topic == ()


@pytest.mark.parametrize(("texts", "words"), [
    (SOCIAL_CARD, ("社保卡", "补办")),
    (["养的狗要去哪登记", "宠物狗怎么登记", "养狗登记在哪里办"], ("登记",)),
    (["公积金怎么提取", "提取公积金要什么材料"], ("公积金", "提取")),
])
def test_key_words_are_what_the_questions_share(texts: list[str], words: tuple[str, ...]) -> None:
    assert key_words([(t, 1) for t in texts]) == words


def test_the_terminal_report_says_new_topic_with_its_key_words(tmp_path: Path, shipped_catalogue: Catalogue) -> None:
    db = tmp_path / "events.db"
    EventLog(db, retention_days=90).close()
    with closing(open_readonly(db)) as conn:
        report = build_report(conn, shipped_catalogue, end=NOW, days=7)
    rows = [(t, "") for t in SOCIAL_CARD + LEGAL_AID]
    text = "\n".join(format_clusters("五、没能回答的问题", cluster(rows, shipped_catalogue), report))
    social = next(line for line in text.splitlines() if "社保卡丢了怎么补办" in line)
    assert social.rstrip().endswith("新话题：社保卡、补办（也可能超出服务范围）")
    aid = next(line for line in text.splitlines() if "法律援助的申请条件是啥呀" in line)
    assert aid.rstrip().endswith("法律援助（legal_aid，0.70）")
