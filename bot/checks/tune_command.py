"""`legalbot tune EVAL… [--holdout FILE] [--guard FILE] [--write]`: the fit, printed for operators in Chinese."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.catalogue.cache import catalogue_loader
from bot.checks.evaluation import load_cases
from bot.checks.tune import NAMES, EvalSet, Fit, Tally, Tuner, TuneError, matcher_file, write_thresholds
from bot.config import Settings

ROLES = {"fit": "拟合", "holdout": "留出", "guard": "把关"}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _change(old: str, new: str) -> str:
    return f"{old} → {new}" if old != new else f"{old}（不变）"


def _lines(name: str, before: Tally, after: Tally, max_wrong: float, *, guard: bool = False) -> list[str]:
    lines = [f"{name}（{after.cases} 个问题，{after.in_scope} 个该答、{after.out_of_scope} 个不该答）："]
    if not guard:
        share_before = before.answered_right / before.in_scope if before.in_scope else None
        share_after = after.answered_right / after.in_scope if after.in_scope else None
        lines += [
            f"  答对（该答的答对了，不该答的没答）：{_change(str(before.right), str(after.right))}",
            f"  直接答对：{_change(_pct(share_before), _pct(share_after))}",
            f"  答错意图：{_change(f'{before.wrong} 个', f'{after.wrong} 个')}",
            f"  不该答的被硬答：{_change(f'{before.false_accepts} 个', f'{after.false_accepts} 个')}",
            f"  答错率（两项合计 ÷ 问题数，上限 {_pct(max_wrong)}）：{_change(_pct(before.wrong_rate), _pct(after.wrong_rate))}",
        ]
    if after.emergencies:
        lines.append(f"  紧急求助识别（{after.emergencies} 个）：{_change(_pct(before.recall), _pct(after.recall))}")
    return lines


def format_fit(fit: Fit, seconds: float | None = None) -> str:
    """The before → after table of the thresholds, then each set's figures before → after."""
    fitting = [s for s in fit.sets if s.role == "fit"]
    cases = sum(len(s.cases) for s in fitting)
    lines = [f"在 {len(fitting)} 个评测集（{cases} 个问题）上拟合阈值：答对的越多越好，"
             f"答错率（答错意图 + 不该答的被硬答）不超过 {_pct(fit.max_wrong)}，紧急求助识别不能下降；"
             f"一样好时取离现在最近的值。"]
    took = f"，用时 {seconds:.0f} 秒" if seconds is not None else ""
    lines += [f"试了 {fit.tried} 组阈值{took}。", "", f"{'阈值':<20}现在 → 建议"]
    old, new = fit.current.values(), fit.fitted.values()
    for name in NAMES:
        lines.append(f"{name:<22}{_change(f'{old[name]:.2f}', f'{new[name]:.2f}')}")
    lines += ["", "各评测集的结果（现在的阈值 → 建议的阈值）："]
    for s in fit.sets:
        lines += _lines(f"[{ROLES[s.role]}] {s.path}", fit.before[s.path], fit.after[s.path], fit.max_wrong,
                        guard=s.role == "guard")
    if len(fitting) > 1:
        lines += _lines("[拟合] 合计", fit.pooled(fit.before, "fit"), fit.pooled(fit.after, "fit"), fit.max_wrong)
    lines.append("")
    lines.append("说明：[拟合] 的评测集用来找阈值；[留出] 的只用来检验，不参与拟合；[把关] 的只看紧急求助识别不能下降。")
    return "\n".join(lines)


def _verdict(fit: Fit) -> str:
    if fit.pooled(fit.after, "fit").wrong_rate > fit.max_wrong:
        return (f"结论：试过的阈值都不能让答错率降到 {_pct(fit.max_wrong)} 以内；建议的是答错最少的一组。"
                "答错多半要靠改例句来减少，请用 legalbot eval --failures 看看答错的问题。")
    if fit.fitted == fit.current:
        return "结论：现在的阈值已经是最好的，不用改。"
    held = [s for s in fit.sets if s.role == "holdout"]
    if not held:
        return "结论：拟合出了新的阈值。没有留出集检验，建议加上 --holdout 再看一次。"
    before, after = fit.pooled(fit.before, "holdout"), fit.pooled(fit.after, "holdout")
    if after.right >= before.right and after.wrong_total <= before.wrong_total:
        return "结论：新的阈值在留出集上不比现在差。"
    return "结论：新的阈值在留出集上变差了，很可能是只适合拟合用的评测集（过拟合）；建议不要写入。"


def run_tune(settings: Settings, files: Sequence[Path], *, holdout: Sequence[Path] = (),
             guards: Sequence[Path] = (), max_wrong: float = 0.01, write: bool = False,
             out: TextIO | None = None) -> int:
    """0 when fitted (and written, with --write); 1 when the fitted values would lose an emergency."""
    out = out or sys.stdout
    catalogue = catalogue_loader(settings)(settings.intents_dir, settings.content_dir)
    sets = [EvalSet(path, tuple(load_cases(path)), role)
            for role, paths in (("fit", files), ("holdout", holdout), ("guard", guards)) for path in paths]
    started = time.perf_counter()
    fit = Tuner(catalogue, sets, max_wrong).search()
    print(format_fit(fit, time.perf_counter() - started), file=out)
    print(_verdict(fit), file=out)
    if not write:
        if fit.fitted != fit.current:
            print("没有写入任何文件；确认要用新的阈值，请加上 --write 再运行一次。", file=out)
        return 0
    if not fit.recall_kept:
        print("没有写入：用新的阈值，有评测集的紧急求助识别下降了。紧急求助不能因为调阈值而漏掉。", file=out)
        return 1
    if fit.fitted == fit.current:
        return 0
    path = matcher_file(settings.intents_dir)
    changed = {n: v for n, v in fit.fitted.values().items() if v != fit.current.values()[n]}
    write_thresholds(path, changed)
    print(f"已写入 {path}：只改了 {'、'.join(changed)} 的数值，注释和顺序不变。"
          "请运行 legalbot check 看看改动前后的对比，再提交。", file=out)
    return 0


__all__ = ["TuneError", "format_fit", "run_tune"]
