"""Before and after an edit: the evaluation sets and conversation tests run on two catalogues, and what changed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.catalogue.loader import Catalogue
from bot.checks.conversation_format import Conversation, load_conversations
from bot.checks.conversation_runner import ConversationResult, run_conversations
from bot.checks.evaluation import Case, Figures, Result, figures, load_cases, run_cases
from bot.engine import Engine, Reply
from bot.report.summary import pct

MAX_CHANGES_SHOWN = 40  # questions listed per set; the count says how many more there are
MAX_TEXT = 30  # characters of a long question shown
EVAL_DIR = Path("tests/eval")
CONVERSATIONS_DIR = Path("tests/conversations")
# (label, field, True when higher is better); emergency recall is added per set.
_FIGURES = (("直接答对", "accuracy", True), ("答对或给出了正确选项", "useful", True), ("答错", "wrong", False),
            ("不该答的被硬答", "false_accept", False))


@dataclass(frozen=True, slots=True)
class Change:
    """A question whose reply differs between the two catalogues."""

    case: Case
    before: str
    after: str
    was_right: bool
    is_right: bool
    was_useful: bool = False  # right, or the right intent among the options offered
    is_useful: bool = False

    @property
    def mark(self) -> str:
        """变差, 变好 or 变了, by answer and then by whether the right option was offered."""
        before, after = (self.was_right, self.was_useful), (self.is_right, self.is_useful)
        return "变差" if after < before else "变好" if after > before else "变了"


@dataclass(frozen=True, slots=True)
class SetComparison:
    """One evaluation set on both catalogues."""

    path: str
    size: int
    before: Figures
    after: Figures
    recall: tuple[float | None, float | None]
    changes: tuple[Change, ...]

    def rows(self) -> list[tuple[str, float, float, int]]:
        """(label, before, after, +1 better / -1 worse / 0 same) per figure."""
        out = []
        for label, name, higher in _FIGURES:
            old, new = getattr(self.before, name), getattr(self.after, name)
            out.append((label, old, new, _direction(old, new, higher)))
        if self.recall[1] is not None:
            old, new = self.recall[0] or 0.0, self.recall[1]
            out.append(("紧急求助识别", old, new, _direction(old, new, True)))
        return out

    @property
    def is_worse(self) -> bool:
        return any(d < 0 for *_, d in self.rows())

    @property
    def is_better(self) -> bool:
        return any(d > 0 for *_, d in self.rows())


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every set compared, and the conversation tests run on the new catalogue."""

    sets: tuple[SetComparison, ...]
    conversations: tuple[ConversationResult, ...]

    @property
    def failed_conversations(self) -> tuple[ConversationResult, ...]:
        return tuple(r for r in self.conversations if not r.is_passed)

    @property
    def is_worse(self) -> bool:
        return any(s.is_worse for s in self.sets) or bool(self.failed_conversations)


def _direction(old: float, new: float, higher_is_better: bool) -> int:
    if abs(new - old) < 1e-9:
        return 0
    return 1 if (new > old) == higher_is_better else -1


def default_sets(root: Path) -> list[Path]:
    """The evaluation sets of a project: tests/eval/*.yml under root."""
    return sorted((root / EVAL_DIR).glob("*.y*ml"))


def _outcome(reply: Reply, catalogue: Catalogue) -> str:
    if reply.intent is not None:
        return catalogue.title(reply.intent)
    if reply.suggestions:
        return "请群众选（" + " / ".join(catalogue.title(s) for s in reply.suggestions) + "）"
    return "没听懂"


def _key(reply: Reply) -> tuple[str | None, tuple[str, ...]]:
    return reply.intent, tuple(reply.suggestions) if reply.intent is None else ()


def _compare_set(path: str, before: list[Result], after: list[Result], old: Catalogue, new: Catalogue) -> SetComparison:
    changes = tuple(
        Change(a.case, _outcome(b.reply, old), _outcome(a.reply, new), b.is_right, a.is_right, b.is_useful, a.is_useful)
        for b, a in zip(before, after, strict=True) if _key(b.reply) != _key(a.reply)
    )
    emergency = [r for r in after if r.case.expect == "emergency"]

    def recall(results: list[Result]) -> float | None:
        cases = [r for r in results if r.case.expect == "emergency"]
        return sum(r.is_right for r in cases) / len(cases) if cases else None

    return SetComparison(path, len(after), figures(before), figures(after),
                         (recall(before), recall(after) if emergency else None), changes)


def compare(before: Catalogue, after: Catalogue, sets: Mapping[str, Sequence[Case]],
            conversations: Sequence[Conversation] = ()) -> Comparison:
    """Run every set on both catalogues (each loaded once, by the caller) and the conversations on `after`."""
    compared = []
    old_engine, new_engine = Engine(before), Engine(after)
    for path, cases in sets.items():
        compared.append(_compare_set(path, run_cases(old_engine, cases), run_cases(new_engine, cases), before, after))
    results = asyncio.run(run_conversations(conversations, after)) if conversations else []
    return Comparison(tuple(compared), tuple(results))


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def read_checks(paths: Sequence[Path], conversations_dir: Path | None,
                root: Path) -> tuple[dict[str, list[Case]], list[Conversation]]:
    """The cases of each set (by path as shown from root) and the conversation tests (none without the folder)."""
    sets = {_shown(path, root): load_cases(path) for path in paths}
    has_tests = conversations_dir is not None and any(conversations_dir.glob("*.y*ml"))
    found = load_conversations([conversations_dir]) if conversations_dir is not None and has_tests else []
    return sets, found


def format_comparison(comparison: Comparison, baseline: str) -> list[str]:
    """What changed, in Chinese: the figures before → after per set, the questions answered differently."""
    from bot.checks.conversations import format_failure

    lines = [f"和{baseline}比较："]
    for s in comparison.sets:
        lines += ["", f"评测集 {s.path}（{s.size} 个问题）："]
        for label, old, new, direction in s.rows():
            mark = {1: "（变好）", -1: "（变差）", 0: ""}[direction]
            lines.append(f"  {label}：{pct(old, 1.0)} → {pct(new, 1.0)}{mark}")
        if not s.changes:
            lines.append("  每个问题的回答都和原来一样。")
            continue
        lines.append(f"  回答变了的问题（{len(s.changes)} 个）：")
        order = {"变差": 0, "变了": 1, "变好": 2}
        for change in sorted(s.changes, key=lambda c: (order[c.mark], c.case.source))[:MAX_CHANGES_SHOWN]:
            text = change.case.text if len(change.case.text) <= MAX_TEXT else change.case.text[:MAX_TEXT] + "……"
            lines.append(f"    [{change.mark}] {s.path}:{change.case.source.line} “{text}”：{change.before} → {change.after}")
        if len(s.changes) > MAX_CHANGES_SHOWN:
            lines.append(f"    ……还有 {len(s.changes) - MAX_CHANGES_SHOWN} 个")
    if comparison.conversations:
        failed = comparison.failed_conversations
        lines += ["", f"对话测试：{len(comparison.conversations) - len(failed)} 个通过，{len(failed)} 个失败"]
        for result in failed:
            lines += [format_failure(result)]
    lines.append("")
    if comparison.is_worse:
        lines.append("结论：有指标变差或对话测试失败；请看上面标着“变差”的问题，改好后再运行 legalbot check。")
    elif any(s.is_better for s in comparison.sets):
        lines.append("结论：只有改进，没有变差。")
    elif any(s.changes for s in comparison.sets):
        lines.append("结论：有些回答变了，但各项指标没有变差。")
    else:
        lines.append("结论：和原来相比没有变化。")
    return lines
