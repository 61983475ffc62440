"""content/messages.yaml: the fixed texts every channel needs, checked like answers."""

from __future__ import annotations

from pathlib import Path

from bot.catalogue.collector import Collector, check_keys, line_of, text_value
from bot.catalogue.grounding import Corpus, ungrounded_figures, unsupported_claims
from bot.catalogue.yamlfile import LineDict

# Texts every channel needs; content/messages.yaml must define each of them.
MESSAGE_KEYS = (
    "welcome", "help", "about", "fallback", "clarify", "rephrase", "too_long", "non_text",
    "legal_notice", "rate_limited", "error", "stale_button", "feedback_thanks", "followup_prefix",
    "menu", "menu_area", "elsewhere", "safety_line", "no_such_number", "no_numbers", "part_again", "topic_again",
)
# Texts the bot fills in, and with what.
MESSAGE_FIELDS = {"followup_prefix": ("title",), "menu_area": ("title",), "elsewhere": ("place",),
                  "no_such_number": ("number", "count"), "part_again": ("parts", "ask"),
                  "topic_again": ("title", "parts", "ask")}



def read_messages(c: Collector, content_dir: Path, corpus: Corpus) -> dict[str, str]:
    path = content_dir / "messages.yaml"
    src = c.shown(path)
    if not path.exists():
        c.error(src, 0, "缺少 content/messages.yaml（机器人的固定话术）")
        return {}
    data = c.read_yaml(path, src)
    if data is None:
        return {}
    if not isinstance(data, LineDict):
        c.error(src, line_of(data), "messages.yaml 应该是“键: 文字”的形式")
        return {}
    check_keys(c, src, data, set(MESSAGE_KEYS), "messages.yaml ")
    messages = {}
    for key in MESSAGE_KEYS:
        if key not in data:
            c.error(src, 0, f"messages.yaml 缺少 '{key}'；请补上这段话术")
            continue
        value = text_value(c, src, data, key, "messages.yaml ")
        if value is None:
            continue
        for figure in ungrounded_figures(value, corpus):
            c.error(src, line_of(data, key), f"话术 '{key}' 中的数字 '{figure}' 在报告中找不到")
        for word in unsupported_claims(value, corpus):
            c.error(src, line_of(data, key), f"话术 '{key}' 说了报告没有写的“{word}”；请改为告诉群众去哪里问")
        problem = _placeholder_problem(value, MESSAGE_FIELDS[key]) if key in MESSAGE_FIELDS else None
        if problem:
            c.error(src, line_of(data, key), f"话术 '{key}' {problem}")
        messages[key] = value
    return messages


def _placeholder_problem(text: str, fields: tuple[str, ...]) -> str | None:
    """Why `text` cannot be filled in with `fields` (the {…} the bot puts in), or None."""
    try:
        text.format(**{field: "" for field in fields})
    except KeyError as exc:
        allowed = "、".join(f"{{{f}}}" for f in fields)
        return f"里的 {{{exc.args[0]}}} 机器人填不进去；可用的只有 {allowed}"
    except (IndexError, ValueError):
        return "里的大括号不成对；要显示大括号本身，请写成 {{ 或 }}"
    return None
