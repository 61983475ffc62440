"""Reading content/: the report's text (what answers are checked against) and the answers themselves."""

from __future__ import annotations

from pathlib import Path

from bot.catalogue.collector import Collector, check_keys, line_of, text_value
from bot.catalogue.facets import Facets, read_parts
from bot.catalogue.grounding import Corpus, excerpt_hint, ungrounded_figures, unsupported_claims, web_addresses
from bot.catalogue.model import ID_PATTERN, Answer
from bot.catalogue.sections import report_sections, section_refs
from bot.catalogue.yamlfile import LineDict, LineList
from bot.errors import Source

_ANSWER_KEYS = {"id", "text", "source", "legal_notice", "facets", "ask"}
_SOURCE_KEYS = {"section", "excerpt"}


def yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.y*ml") if p.suffix in {".yaml", ".yml"})


def load_corpus(c: Collector, content_dir: Path) -> Corpus:
    texts = []
    for path in sorted((content_dir / "sources").glob("*.txt")):
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            c.error(c.shown(path), 0, "报告原文不是 UTF-8 编码；请用 UTF-8 保存")
        except OSError as exc:  # removed or replaced while being read (an editor's atomic save)
            c.error(c.shown(path), 0, f"无法读取报告原文：{exc.strerror}")
    return Corpus("\n".join(texts))


def read_answers(c: Collector, content_dir: Path, corpus: Corpus, facets: Facets) -> dict[str, Answer]:
    answers: dict[str, Answer] = {}
    files = yaml_files(content_dir / "answers")
    if not files:
        c.error(c.shown(content_dir / "answers"), 0, "没有找到答案文件；答案应放在 content/answers/*.yaml")
    for path in files:
        src = c.shown(path)
        data = c.read_yaml(path, src)
        if data is None:
            continue
        if not isinstance(data, LineDict) or not isinstance(data.get("answers"), LineList):
            c.error(src, line_of(data), "答案文件的最上层应该是 'answers:'，下面是答案列表")
            continue
        check_keys(c, src, data, {"answers"}, "答案文件")
        for item in data["answers"]:
            if not isinstance(item, LineDict):
                c.error(src, line_of(data["answers"]), "'answers' 列表里的每一项都应是一个答案（含 id、text、source）")
                continue
            answer = _read_answer(c, src, item, corpus, facets)
            if answer is None:
                continue
            if answer.id in answers:
                first = answers[answer.id].source
                c.error(src, item.line, f"答案 id '{answer.id}' 重复；第一次出现在 {first}")
                continue
            answers[answer.id] = answer
    return answers


def _read_answer(c: Collector, src: str, item: LineDict, corpus: Corpus, facets: Facets) -> Answer | None:
    check_keys(c, src, item, _ANSWER_KEYS, "答案")
    answer_id = text_value(c, src, item, "id", "答案")
    label = f"答案 '{answer_id}' " if answer_id else "答案"
    text = text_value(c, src, item, "text", label)
    source = item.get("source")
    section = excerpt = None
    if not isinstance(source, LineDict):
        c.error(src, line_of(item, "source") if "source" in item else item.line,
                f"{label}缺少 'source'（写明报告章节 section 和原文摘录 excerpt）")
    else:
        check_keys(c, src, source, _SOURCE_KEYS, f"{label}的 source ")
        section = text_value(c, src, source, "section", f"{label}的 source ")
        excerpt = text_value(c, src, source, "excerpt", f"{label}的 source ")
        if excerpt and not corpus.has_excerpt(excerpt):
            c.error(src, line_of(source, "excerpt"), f"{label}的摘录在报告原文中找不到"
                    f"{excerpt_hint(excerpt, corpus) or '；请从 content/sources/ 里的报告逐字复制一段'}")
        for ref in section_refs(section or "") if corpus.text else ():
            if (why := report_sections(corpus.text).problem(ref)) is not None:
                c.error(src, line_of(source, "section"), f"{label}的出处{why}")
    if text:
        for figure in ungrounded_figures(text, corpus):
            c.error(src, line_of(item, "text"),
                    f"{label}中的数字 '{figure}' 在报告中找不到；只能写报告里的数字或 12348、12345、110、120、119")
        for word in unsupported_claims(text, corpus):
            c.error(src, line_of(item, "text"),
                    f"{label}说了报告没有写的“{word}”；收费、办理条件和时间报告没写，请改为告诉群众拨打 12348 或 12345 问清楚")
        for address in web_addresses(text):
            c.error(src, line_of(item, "text"), f"{label}中有网址 '{address}'，报告没有写明；请删去，改为告诉群众去哪里问")
    legal = item.get("legal_notice", False)
    if not isinstance(legal, bool):
        c.error(src, line_of(item, "legal_notice"), f"{label}的 'legal_notice' 只能写 true 或 false")
        legal = False
    if answer_id and not ID_PATTERN.match(answer_id):
        c.error(src, line_of(item, "id"), f"答案 id '{answer_id}' 格式不对；只用小写字母、数字、下划线和点，如 legal_aid.apply")
    parts, ask = read_parts(c, src, item, corpus, label, facets)
    if not (answer_id and text and section and excerpt):
        return None
    return Answer(answer_id, text, section, excerpt, legal, Source(src, item.line), parts, ask)
