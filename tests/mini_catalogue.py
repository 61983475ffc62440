"""A small catalogue written to a temporary folder, so channel tests do not depend on the shipped content."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bot.engine import Engine, Reply

REPORT = Path(__file__).resolve().parent.parent / "content" / "sources" / "jiangshan-2020-rule-of-law-report.txt"

LEGAL_AREA = "⚖️ 公共法律服务"  # the title of the one area of the mini catalogue's menu

INTENTS = f"""\
matcher:
  answer_threshold: 0.72
  clarify_threshold: 0.5
  ambiguity_gap: 0.06
menu:
  areas:
    - key: legal
      title: {LEGAL_AREA}
      intents: [legal_aid, people_mediation, notarization]
intents:
  - id: legal_aid
    title: 法律援助
    roles: [anywhere]
    keywords: [法律援助, 法援]
    suggest: [people_mediation, notarization]
    examples:
      - 法律援助怎么申请
      - 我想申请法律援助
      - 请不起律师能申请法律援助吗
  - id: people_mediation
    title: 人民调解
    keywords: [人民调解, 调解]
    suggest: [legal_aid]
    examples:
      - 邻居吵架能调解吗
      - 人民调解怎么申请
      - 家里纠纷想找人调解
  - id: notarization
    title: 公证
    keywords: [公证]
    suggest: [legal_aid]
    examples:
      - 公证
      - 公证怎么办
      - 房产继承要做公证吗
  - id: greeting
    title: 打招呼
    roles: [small_talk, whole_message, anywhere, welcome]
    examples: [你好, 在吗]
out_of_scope:
  - 今天天气怎么样
"""

ANSWERS = """\
answers:
  - id: legal_aid
    legal_notice: true
    text: 法律援助是为请不起律师的群众提供的帮助。江山建立健全了法律援助“全程代办”工作机制。请拨打 12348 咨询。
    source:
      section: 一(六)四
      excerpt: 建立健全法律援助“全程代办”
  - id: people_mediation
    text: 邻里、家庭纠纷可以申请人民调解。2020年共受理3491件矛盾纠纷。可以拨打 12348 咨询。
    source:
      section: 一(六)二
      excerpt: 共受理3491件矛盾纠纷
  - id: notarization
    text: 公证证明合同、继承等事实和文书真实、合法。<具体材料>请拨打 12348 咨询 & 确认。
    source:
      section: 一(六)四
      excerpt: 公证1639件
  - id: greeting
    text: 您好！请直接说说您想问什么。
    source:
      section: 一(六)四
      excerpt: 公证1639件
"""

MESSAGES = {
    "welcome": "您好！我是测试助手。",
    "help": "直接打字提问就行。",
    "about": "答案依据《江山市人民政府2020年法治政府建设年度报告》整理。",
    "fallback": "抱歉，这个问题我还回答不了。",
    "clarify": "您想问的是下面哪一项？",
    "rephrase": "我没有看到文字内容。",
    "too_long": "您的消息很长。",
    "non_text": "我目前只能看懂文字消息。",
    "legal_notice": "以上不是法律意见。",
    "rate_limited": "您发得有点快，请稍等。",
    "error": "抱歉，刚才出了点问题，请稍后再试一次。",
    "stale_button": "这个按钮已经过期了。",
    "feedback_thanks": "谢谢您的反馈。",
    "followup_prefix": "关于「{title}」：",
    "menu": "请选择您想了解的方面：",
    "menu_area": "「{title}」里可以问这些：",
    "elsewhere": "我只能介绍江山市的服务，{place}的事请向当地咨询。",
    "safety_line": "如果现在有危险，请马上拨打 110。",
    "no_such_number": "没有第 {number} 项；请回复 1 到 {count} 之间的数字。",
    "no_numbers": "现在没有可以选的序号；请直接打字提问。",
    "part_again": "{parts}上面已经说过了；请拨打 {ask}。",
    "topic_again": "「{title}」上面已经介绍过了；还可以问：{parts}。",
}


# Messages that name two topics; which ones the matcher finds ambiguous depends on its tuning.
AMBIGUOUS = ("法援公证", "法律援助还是公证", "法律援助和人民调解", "公证还是调解", "调解和公证")


def clarifying(reference: Engine) -> tuple[str, Reply]:
    """An ambiguous message and the "did you mean" reply (two or more choices) the engine gives it."""
    for text in AMBIGUOUS:
        reply = Engine(reference.catalogue).respond("reference", text)
        if reply.kind == "clarify" and len(reply.buttons) >= 2:
            return text, reply
    raise AssertionError(f"none of {AMBIGUOUS} gets a clarify reply with two choices any more")


def write_mini_catalogue(root: Path, **messages: str) -> tuple[Path, Path]:
    """Write intents/ and content/ under root (messages override the fixed texts); return both folders."""
    intents, content = root / "intents", root / "content"
    (content / "answers").mkdir(parents=True)
    (content / "sources").mkdir()
    intents.mkdir()
    shutil.copy(REPORT, content / "sources" / REPORT.name)
    (intents / "mini.yaml").write_text(INTENTS, encoding="utf-8")
    shutil.copy(Path(__file__).resolve().parent.parent / "intents" / "words.yaml", intents / "words.yaml")
    (content / "answers" / "mini.yaml").write_text(ANSWERS, encoding="utf-8")
    texts = {**MESSAGES, **messages}
    (content / "messages.yaml").write_text(json.dumps(texts, ensure_ascii=False, indent=1), encoding="utf-8")
    return intents, content


def mini_engine(root: Path, **messages: str) -> Engine:
    """A fresh engine on the mini catalogue written under root."""
    intents, content = write_mini_catalogue(root, **messages)
    return Engine.from_paths(intents, content)
