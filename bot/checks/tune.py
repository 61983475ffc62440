"""`legalbot tune`: fit the matcher's thresholds on labelled evaluation sets, for the most right
answers with at most 1% of them wrong, and write them into matcher.yaml on request.

Each candidate is scored by replaying every case (dialogues with their context) through the real
engine with the candidate's thresholds. Ranking depends on thresholds in a few places (clauses
are ranked alone only when the whole message is not answered, a story's tail only counts above
clarify_threshold), so re-deciding stored rankings would not be faithful; instead one Memo keeps
the threshold-free work (normalising, prefiltering, scoring a query against the examples) and
replays cost a fraction of the first run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from bot.catalogue.loader import Catalogue
from bot.catalogue.model import EMERGENCY
from bot.checks.evaluation import Case, Result, run_cases
from bot.engine import Engine
from bot.errors import BotError
from bot.matching.index import Index
from bot.matching.ranking import Examined, Memo, examine


class TuneError(BotError):
    """The thresholds cannot be fitted or written; the message says why, in Chinese, for operators."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The four numbers of intents/matcher.yaml that `legalbot tune` fits."""

    answer_threshold: float
    clarify_threshold: float
    ambiguity_gap: float
    clear_margin: float

    @classmethod
    def of(cls, catalogue: Catalogue) -> Thresholds:
        s = catalogue.settings
        return cls(s.answer_threshold, s.clarify_threshold, s.ambiguity_gap, s.clear_margin)

    def values(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def with_value(self, name: str, value: float) -> Thresholds:
        return replace(self, **{name: round(value, 2)})

    def is_valid(self) -> bool:
        """What `legalbot validate` accepts: values from 0 to 1, clarify_threshold ≤ answer_threshold."""
        return all(0.0 <= v <= 1.0 for v in self.values().values()) and self.clarify_threshold <= self.answer_threshold

    def distance(self, other: Thresholds) -> float:
        """How far apart, in fine steps: ties go to the candidate nearest the current values."""
        return sum(abs(a - b) for a, b in zip(self.values().values(), other.values().values(), strict=True)) / FINE


# Each threshold's range and its coarse step; every one is then refined in steps of FINE.
RANGES: Mapping[str, tuple[float, float, float]] = {
    "answer_threshold": (0.40, 0.90, 0.05),
    "clarify_threshold": (0.20, 0.70, 0.05),
    "ambiguity_gap": (0.00, 0.16, 0.02),
    "clear_margin": (0.04, 0.40, 0.04),
}
FINE = 0.01
NAMES = tuple(RANGES)


def grid(name: str, around: float, step: float) -> list[float]:
    """The values tried for one threshold: its usual range by the coarse step, or, by FINE, one coarse
    step either side of `around` (which may leave the usual range)."""
    low, high, coarse = RANGES[name]
    if step >= coarse:
        count = round((high - low) / coarse)
        return [round(low + k * coarse, 2) for k in range(count + 1)]
    count = round(coarse / step)
    values = (round(around + k * step, 2) for k in range(-count, count + 1))
    return [v for v in values if 0.0 <= v <= 1.0]


@dataclass(frozen=True, slots=True)
class Tally:
    """What one set of results counts: right answers, wrong ones in and out of scope, emergencies found."""

    cases: int = 0
    in_scope: int = 0
    right: int = 0  # the expected intent answered, or an out-of-scope message not answered
    answered_right: int = 0  # in scope and answered with the expected intent
    wrong: int = 0  # in scope, answered with another intent
    out_of_scope: int = 0
    false_accepts: int = 0  # out of scope, answered anyway
    emergencies: int = 0
    emergencies_found: int = 0

    @property
    def wrong_total(self) -> int:
        """Citizens confidently told something they did not ask: wrong answers plus false accepts."""
        return self.wrong + self.false_accepts

    @property
    def wrong_rate(self) -> float:
        return self.wrong_total / self.cases if self.cases else 0.0

    @property
    def recall(self) -> float | None:
        return self.emergencies_found / self.emergencies if self.emergencies else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def tally(results: Iterable[Result]) -> Tally:
    """Count a set's results (spec/evaluation.md's definitions of right, wrong and false accept)."""
    counts = dict.fromkeys((f.name for f in fields(Tally)), 0)
    for r in results:
        counts["cases"] += 1
        counts["right"] += r.is_right
        if r.case.expect is None:
            counts["out_of_scope"] += 1
            counts["false_accepts"] += r.reply.intent is not None
            continue
        counts["in_scope"] += 1
        counts["answered_right"] += r.is_right
        counts["wrong"] += r.is_wrong
        if r.case.expect == EMERGENCY:
            counts["emergencies"] += 1
            counts["emergencies_found"] += r.is_right
    return Tally(**counts)


@dataclass(frozen=True, slots=True)
class EvalSet:
    """An evaluation file and its cases; `role` is "fit", "holdout" (scored, never fitted) or "guard"
    (only its emergency recall counts: it may not drop)."""

    path: Path
    cases: tuple[Case, ...]
    role: str


@dataclass(frozen=True, slots=True)
class Fit:
    """The outcome: current and fitted thresholds, each set's figures under both, and the search's size."""

    current: Thresholds
    fitted: Thresholds
    before: Mapping[Path, Tally]
    after: Mapping[Path, Tally]
    sets: tuple[EvalSet, ...]
    tried: int
    max_wrong: float

    def pooled(self, figures: Mapping[Path, Tally], role: str) -> Tally:
        return sum((figures[s.path] for s in self.sets if s.role == role), Tally())

    @property
    def recall_kept(self) -> bool:
        """No set finds fewer emergencies with the fitted values than with the current ones."""
        return all((self.after[s.path].recall or 0.0) >= (self.before[s.path].recall or 0.0) for s in self.sets)


def with_thresholds(catalogue: Catalogue, t: Thresholds) -> Catalogue:
    """The catalogue deciding with other thresholds; rows, words and weights shared."""
    settings = replace(catalogue.settings, **t.values())
    return replace(catalogue, settings=settings, index=replace(catalogue.index, settings=settings))


class Tuner:
    """Scores candidate thresholds on the sets (each candidate once) and searches for the best."""

    def __init__(self, catalogue: Catalogue, sets: Sequence[EvalSet], max_wrong: float = 0.01) -> None:
        self.catalogue = catalogue
        self.sets = tuple(sets)
        self.max_wrong = max_wrong
        self.memo = Memo()
        self.scored: dict[tuple[Thresholds, Path], Tally] = {}
        self.current = Thresholds.of(catalogue)

    def _examiner(self) -> Callable[[str, Index], Examined]:
        memo = self.memo
        return lambda text, index: examine(text, index, memo)

    def score(self, t: Thresholds, evalset: EvalSet) -> Tally:
        """The set's figures with these thresholds: every case replayed through a fresh engine."""
        key = (t, evalset.path)
        if key not in self.scored:
            engine = Engine(with_thresholds(self.catalogue, t), examiner=self._examiner())
            self.scored[key] = tally(run_cases(engine, evalset.cases))
        return self.scored[key]

    def _fitting(self, t: Thresholds) -> Tally:
        return sum((self.score(t, s) for s in self.sets if s.role == "fit"), Tally())

    def keeps_recall(self, t: Thresholds) -> bool:
        """Danger found with the current values is found with these, on every fitting and guard set."""
        for s in self.sets:
            if s.role == "holdout":
                continue
            now, then = self.score(t, s).recall, self.score(self.current, s).recall
            if then is not None and (now or 0.0) < then:
                return False
        return True

    def _key(self, t: Thresholds) -> tuple[bool, int, float]:
        """What the search maximises: within the wrong-answer bound, right answers, then nearness to now."""
        fit = self._fitting(t)
        allowed = fit.wrong_rate <= self.max_wrong + 1e-12
        return (allowed, fit.right if allowed else -fit.wrong_total, -t.distance(self.current))

    def _better(self, t: Thresholds, best: Thresholds) -> bool:
        # Guard sets are scored only for a candidate that would win: most never get that far.
        return t.is_valid() and self._key(t) > self._key(best) and self.keeps_recall(t)

    def search(self) -> Fit:
        """Coordinate search: each threshold over its range by a coarse step, in turn, until nothing
        improves; then the same in steps of 0.01 around the best values."""
        best = self.current
        for step in (1.0, FINE):
            for _ in range(4):  # rounds; stops early when a round changes nothing
                start = best
                for name in NAMES:
                    for value in grid(name, getattr(best, name), step):
                        candidate = best.with_value(name, value)
                        if candidate != best and self._better(candidate, best):
                            best = candidate
                if best == start:
                    break
        return self._fit(best)

    def _fit(self, fitted: Thresholds) -> Fit:
        before = {s.path: self.score(self.current, s) for s in self.sets}
        after = {s.path: self.score(fitted, s) for s in self.sets}
        tried = len({t for t, _ in self.scored})
        return Fit(self.current, fitted, before, after, self.sets, tried, self.max_wrong)


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def write_thresholds(path: Path, values: Mapping[str, float]) -> None:
    """Rewrite only the numbers of these settings in a matcher file: comments, order and the
    column where each line's comment starts stay as they were."""
    text = path.read_text(encoding="utf-8")
    for name, value in values.items():
        pattern = re.compile(rf"^(\s+{name}:\s*)(\d+(?:\.\d+)?|\.\d+)([ \t]*)(?=#|$)", re.MULTILINE)

        def put(m: re.Match[str], value: float = value) -> str:
            number = _number(value)
            pad = m.group(3)
            if pad:  # keep the comment's column where the old number left room
                pad = " " * max(1, len(m.group(2)) + len(pad) - len(number))
            return m.group(1) + number + pad

        text, found = pattern.subn(put, text, count=1)
        if not found:
            raise TuneError(f"{path} 里没有找到“{name}: 数值”这一行；请先在 matcher: 下手工加上这一行，再运行 legalbot tune --write")
    path.write_text(text, encoding="utf-8")


def matcher_file(intents_dir: Path) -> Path:
    """The file of intents/ whose top level holds `matcher:`."""
    for path in sorted(intents_dir.glob("*.y*ml")):
        if re.search(r"^matcher:", path.read_text(encoding="utf-8"), re.MULTILINE):
            return path
    raise TuneError(f"{intents_dir} 里没有找到写着 matcher: 的文件；阈值无处可写")
