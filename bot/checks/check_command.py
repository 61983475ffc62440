"""`legalbot check`: validate, then the evaluation sets and conversation tests before and after the edit."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.catalogue.confusables import confusable_pairs
from bot.catalogue.loader import Catalogue, load_catalogue
from bot.checks.baseline import LAST_GOOD, committed, last_good, save_last_good
from bot.checks.comparison import CONVERSATIONS_DIR, compare, default_sets, format_comparison, read_checks
from bot.checks.conversation_format import ConversationFileError
from bot.checks.evaluation import EvaluationFileError
from bot.config import Settings
from bot.errors import CatalogueError


def _validated(settings: Settings, out: TextIO) -> Catalogue | None:
    try:
        catalogue = load_catalogue(settings.intents_dir, settings.content_dir)
    except CatalogueError as exc:
        for problem in sorted([*exc.problems, *exc.warnings]):
            print(problem, file=out)
        print(f"发现 {len(exc.problems)} 个错误；请按提示修改后再运行 legalbot check。", file=out)
        return None
    warnings = [*catalogue.warnings, *confusable_pairs(catalogue)]
    for problem in warnings:
        print(problem, file=out)
    examples = sum(len(i.examples) for i in catalogue.intents.values())
    print(f"检查通过：{len(catalogue.intents)} 个意图，{examples} 条例句，{len(warnings)} 条警告。", file=out)
    return catalogue


def _baseline(settings: Settings, root: Path, into: Path, out: TextIO) -> tuple[Catalogue | None, str, bool]:
    """The catalogue to compare with, what it is called, and whether it came from git."""
    found = committed(settings.intents_dir, settings.content_dir, into)
    in_git, name = found is not None, "上一次提交（git HEAD）"
    if found is None:
        found, name = last_good(root), f"上一次检查通过时保存的版本（{LAST_GOOD}）"
    if found is None:
        print(f"没有可比较的上一版（不在 git 仓库里，也还没有 {LAST_GOOD}）；这次只看现在的结果。", file=out)
        return None, "", in_git
    try:
        return load_catalogue(*found, root=into), name, in_git
    except CatalogueError as exc:
        print(f"{name}本身有 {len(exc.problems)} 个错误，无法比较；这次只看现在的结果。", file=out)
        return None, "", in_git


def run_check(settings: Settings, sets: Sequence[Path] = (), *, root: Path | None = None,
              out: TextIO | None = None) -> int:
    """0 when nothing got worse and every conversation test passes, 1 otherwise."""
    out = out or sys.stdout
    root = root or Path.cwd()
    print("第一步：检查格式、出处和数字（legalbot validate）", file=out)
    after = _validated(settings, out)
    if after is None:
        return 1
    paths = list(sets) or default_sets(root)
    try:
        cases, conversations = read_checks(paths, root / CONVERSATIONS_DIR, root)
    except (EvaluationFileError, ConversationFileError) as exc:
        for problem in exc.problems:
            print(problem, file=out)
        print("评测集或对话测试文件有错误，没有运行；请按提示修改。", file=out)
        return 1
    print("\n第二步：评测集和对话测试，改动前后对比", file=out)
    with tempfile.TemporaryDirectory(prefix="legalbot-check-") as tmp:
        before, name, in_git = _baseline(settings, root, Path(tmp), out)
    comparison = compare(before or after, after, cases, conversations)
    for line in format_comparison(comparison, name or "原来"):
        print(line, file=out)
    if comparison.is_worse:
        return 1
    if not in_git:
        save_last_good(root, settings.intents_dir, settings.content_dir)
    return 0
