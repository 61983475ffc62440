"""YAML reading that keeps line numbers, so every error can point to the line to edit."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import Problem, Source

if TYPE_CHECKING:
    import yaml

STOPPED = "这个文件没有读进来，里面的内容这次都没有检查；改好这一处后再运行 legalbot validate"


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int
    item_lines: list[int]


@functools.cache
def _loaders() -> tuple[Any, Any]:
    """PyYAML's loaders, imported on the first parse: a command that reads its catalogue from the
    cache (bot.catalogue.cache) parses no YAML, and importing PyYAML is a tenth of its start-up."""
    import yaml

    class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type hints
        """SafeLoader kept separate so nothing is registered on the global one."""

    # libyaml's parser (when PyYAML was built with it) composes a 100,000-example catalogue ~10x
    # faster than the pure-Python one, with the same nodes, marks and errors.
    composer = type("_Composer", (yaml.CSafeLoader,), {}) if getattr(yaml, "__with_libyaml__", False) else _Loader
    return _Loader, composer


def _convert(node: yaml.Node, src: str, problems: list[Problem], loader: yaml.SafeLoader) -> Any:
    line = node.start_mark.line + 1
    if node.id == "mapping":  # yaml.MappingNode
        out = LineDict()
        out.line, out.key_lines = line, {}
        for key_node, value_node in node.value:
            key = _convert(key_node, src, problems, loader)
            key_text = str(key)
            if key_text in out:
                problems.append(Problem(Source(src, key_node.start_mark.line + 1),
                                        f"键 '{key_text}' 重复出现；每个键在同一层只能写一次"))
            out[key_text] = _convert(value_node, src, problems, loader)
            out.key_lines[key_text] = key_node.start_mark.line + 1
        return out
    if node.id == "sequence":  # yaml.SequenceNode
        seq = LineList()
        seq.line, seq.item_lines = line, []
        for item in node.value:
            seq.append(_convert(item, src, problems, loader))
            seq.item_lines.append(item.start_mark.line + 1)
        return seq
    return loader.construct_object(node, deep=True)


# The last parse of each file, by path: a reload after an operator saved one file parses that file
# only (parsing is a few seconds of a reload at 100,000 examples). Nothing the loader does changes
# a parsed tree, so one tree serves every load of the same text.
_parsed: dict[tuple[str, str], tuple[str, Any, tuple[Problem, ...]]] = {}
_PARSED_FILES = 4096  # tests load many temporary catalogues; a deployment has a few hundred files


def read_yaml(path: Path, shown_as: str, problems: list[Problem]) -> Any:
    """Parse one YAML file into LineDict/LineList/scalars; syntax errors become Problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.append(Problem(Source(shown_as), "文件不是 UTF-8 编码；请用 UTF-8 保存"))
        return None
    except OSError as exc:
        problems.append(Problem(Source(shown_as), f"无法读取文件：{exc.strerror}"))
        return None
    where = (str(path), shown_as)
    known = _parsed.get(where)
    if known is not None and known[0] == text:
        problems.extend(known[2])
        return known[1]
    found: list[Problem] = []
    data = _parse(text, shown_as, found)
    problems.extend(found)
    if len(_parsed) >= _PARSED_FILES:
        _parsed.clear()
    _parsed[where] = (text, data, tuple(found))
    return data


def _parse(text: str, shown_as: str, problems: list[Problem]) -> Any:
    import yaml

    from bot.catalogue.yamlsyntax import explain, parser_line

    plain_loader, composer = _loaders()
    try:
        node = yaml.compose(text, Loader=composer)
    except yaml.YAMLError:
        try:  # the pure-Python parser names the mistake more precisely (a tab, say); errors are rare
            yaml.compose(text, Loader=plain_loader)
        except yaml.MarkedYAMLError as exc:
            line, why = explain(exc, text)
            problems.append(Problem(Source(shown_as, line), f"YAML 格式错误：{why}。{STOPPED}"))
        except yaml.YAMLError:
            problems.append(Problem(Source(shown_as), f"YAML 格式错误。{STOPPED}"))
        else:
            problems.append(Problem(Source(shown_as), f"YAML 格式错误。{STOPPED}"))
        return None
    if node is None:
        return None
    loader = plain_loader("")
    try:
        return _convert(node, shown_as, problems, loader)
    except yaml.YAMLError as exc:
        problems.append(Problem(Source(shown_as, parser_line(exc)), f"YAML 内容无法解析：{exc}"))
        return None
    finally:
        loader.dispose()

