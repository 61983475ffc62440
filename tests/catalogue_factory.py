"""Small, valid catalogues written into a test's tmp_path; tests override one file to break it."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from bot.catalogue.loader import MESSAGE_KEYS

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_INTENTS = ROOT / "intents"
SHIPPED_CONTENT = ROOT / "content"
REPORT_DIR = SHIPPED_CONTENT / "sources"

# Each file of the default catalogue, by its path under the catalogue root.
SERVICES = "intents/services.yaml"
CONVERSATION = "intents/conversation.yaml"
SETTINGS = "intents/settings.yaml"
MENU = "intents/menu.yaml"
WORDS = "intents/words.yaml"
ANSWERS = "content/answers/answers.yaml"
MESSAGES = "content/messages.yaml"

FILLERS = ("请问一下", "请问", "问一下", "我想问", "那个", "这个", "就是", "嗯嗯", "嗯", "啊", "呀", "吧", "呢", "您好", "你好")

DEFAULT_FILES: Mapping[str, str] = {
    SERVICES: """\
        intents:
          - id: legal_aid
            title: 法律援助
            roles: [anywhere]
            keywords: [法律援助, 法援]
            suggest: [legal_consultation, people_mediation]
            examples:
              - 法律援助怎么申请
              - 请不起律师怎么办
              - 什么人可以申请法律援助
              - 政府能免费派律师吗
          - id: legal_consultation
            title: 免费法律咨询
            roles: [anywhere]
            keywords: [法律咨询, 咨询律师]
            suggest: [legal_aid]
            examples:
              - 哪里可以免费咨询法律问题
              - 有法律问题去哪问
              - 老板拖欠工资怎么办
          - id: notarization
            title: 公证
            keywords: [公证, 公证处]
            suggest: [legal_consultation]
            examples:
              - 怎么办公证
              - 遗嘱能公证吗
              - 公证处在哪里
          - id: people_mediation
            title: 人民调解
            keywords: [人民调解, 调解]
            suggest: [legal_consultation]
            examples:
              - 邻居纠纷能找人调解吗
              - 家里闹矛盾谁来调解
          - id: online_gov_services
            title: 网上办
            keywords: [网上办, 掌上办]
            suggest: [legal_consultation]
            examples:
              - 哪些事情可以在网上办
              - 手机上能办事吗
        """,
    CONVERSATION: """\
        intents:
          - id: emergency
            title: 紧急求助
            roles: [small_talk, anywhere]
            suggest: [people_mediation, legal_aid]
            triggers: [打我, 家暴, 想死, 不想活, 自杀, 拿刀, 救命]
            examples:
              - 他又在打我
          - id: greeting
            title: 打招呼
            roles: [small_talk, whole_message, anywhere, welcome]
            examples: [你好, 在吗, hello]
          - id: thanks
            title: 感谢
            roles: [small_talk, whole_message, anywhere]
            examples: [谢谢, 谢谢你, 辛苦了]
          - id: goodbye
            title: 再见
            roles: [small_talk, whole_message, anywhere, ends_context]
            examples: [再见, 拜拜]
        """,
    SETTINGS: f"""\
        matcher:
          fillers: [{", ".join(FILLERS)}]
        followups:
          - 在哪里办
          - 要多久
          - 需要钱吗
        out_of_scope:
          - 今天天气怎么样
          - 明天会下雨吗
          - 红烧肉怎么做
          - 讲个笑话
          - 推荐一部电影
        """,
    MENU: """\
        menu:
          areas:
            - key: legal
              title: 公共法律服务
              intents: [legal_aid, legal_consultation, people_mediation, notarization]
            - key: gov
              title: 政务服务
              intents: [online_gov_services]
        """,
    ANSWERS: """\
        answers:
          - id: legal_aid
            legal_notice: true
            text: 江山建立了法律援助“全程代办”机制，2020年办理法律援助案件760件。请拨打 12348 咨询。
            source:
              section: 一(六)四
              excerpt: 建立健全法律援助“全程代办”
          - id: legal_consultation
            text: 2020年共接受法律咨询4830余人次。个人法律问题请拨打 12348 公共法律服务热线。
            source:
              section: 一(六)四
              excerpt: 共接受法律咨询4830余人次
          - id: notarization
            text: 2020年江山共办理公证1639件。具体材料请拨打 12348 询问。
            source:
              section: 一(六)四
              excerpt: 司法鉴定486件、公证1639件
          - id: people_mediation
            text: 日常纠纷可以找人民调解，2020年共受理矛盾纠纷3491件，调处率100%。
            source:
              section: 一(六)二
              excerpt: 调处率100%
          - id: online_gov_services
            text: 已有1731项政务服务事项100%网上可办。请拨打 12345 询问。
            source:
              section: 一(二)二
              excerpt: 已有1731项政务服务事项100%网上可办
          - id: emergency
            text: 如果您现在有危险，请立刻拨打 110 报警；有人受伤请拨打 120。
            source:
              section: 一(六)四
              excerpt: 提供优质、便民、高效的法律服务
          - id: greeting
            text: 您好！请直接说说您想问的事。
            source:
              section: 一(六)四
              excerpt: 深入推进公共法律服务提质扩容
          - id: thanks
            text: 不客气！
            source:
              section: 一(六)四
              excerpt: 深入推进公共法律服务提质扩容
          - id: goodbye
            text: 再见！
            source:
              section: 一(六)四
              excerpt: 深入推进公共法律服务提质扩容
        """,
}

# Distinctive texts so a test can tell which fixed message a reply used.
MESSAGE_TEXTS: Mapping[str, str] = {
    "welcome": "欢迎使用",
    "help": "直接说说您想办什么事",
    "about": "答案依据江山市2020年法治政府建设年度报告",
    "fallback": "抱歉，这个问题我还回答不了。法律问题可以拨打 12348；其他政府事务可以拨打 12345。",
    "clarify": "您想问的是下面哪一项？",
    "rephrase": "我没有看到文字内容，请用一句话说说您想问什么。",
    "too_long": "您的消息很长，请用一两句话说说您最想办的事。",
    "non_text": "我目前只能看懂文字消息。",
    "legal_notice": "以上是一般性介绍，不是法律意见。",
    "rate_limited": "您发得有点快。",
    "error": "抱歉，刚才出了点问题。",
    "stale_button": "这个按钮已经过期了。",
    "feedback_thanks": "谢谢您的反馈。",
    "followup_prefix": "关于「{title}」：",
    "elsewhere": "我只能介绍江山市的服务，{place}的事请向当地咨询。",
}


def messages_yaml(omit: tuple[str, ...] = ()) -> str:
    """content/messages.yaml with every key the loader requires, minus `omit`."""
    lines = []
    for key in MESSAGE_KEYS:
        if key in omit:
            continue
        text = MESSAGE_TEXTS.get(key, f"{key} 的话术")
        lines.append(f"{key}: {text}")
    return "\n".join(lines) + "\n"


def write_catalogue(root: Path, overrides: Mapping[str, str | None] | None = None) -> tuple[Path, Path]:
    """Write the default catalogue under root, replacing (or, with None, leaving out) the files in overrides.

    Texts are dedented, so tests can write them indented. Returns (intents_dir, content_dir).
    """
    shipped_words = (SHIPPED_INTENTS / "words.yaml").read_text(encoding="utf-8")
    files: dict[str, str | None] = {**DEFAULT_FILES, WORDS: shipped_words, MESSAGES: messages_yaml(), **(overrides or {})}
    intents_dir, content_dir = root / "intents", root / "content"
    intents_dir.mkdir(parents=True, exist_ok=True)
    (content_dir / "answers").mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        path = root / relative
        if text is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    if not (content_dir / "sources").exists():
        shutil.copytree(REPORT_DIR, content_dir / "sources")
    return intents_dir, content_dir


def copy_shipped(root: Path) -> tuple[Path, Path]:
    """A writable copy of the shipped intents/ and content/ under root."""
    intents_dir, content_dir = root / "intents", root / "content"
    shutil.copytree(SHIPPED_INTENTS, intents_dir)
    shutil.copytree(SHIPPED_CONTENT, content_dir)
    return intents_dir, content_dir


def reply_schema() -> dict[str, Any]:
    """The JSON Schema of the reply object (docs/schemas/reply.schema.json), shared by the CLI, engine and HTTP tests."""
    return cast(dict[str, Any], json.loads((ROOT / "docs" / "schemas" / "reply.schema.json").read_text(encoding="utf-8")))
