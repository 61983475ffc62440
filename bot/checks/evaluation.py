"""Evaluation sets: read the cases, run them through the engine, score them as spec/evaluation.md says."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.catalogue.model import EMERGENCY
from bot.engine import Engine, Reply
from bot.matching.ranking import examine
from bot.errors import BotError, Problem, Source
from bot.report.summary import pct
from bot.catalogue.yamlfile import LineDict, LineList, read_yaml

_ids = itertools.count()
_NUMBERS = re.compile(r"(?<!\d)(110|119|120)(?!\d)")


@dataclass(frozen=True, slots=True)
class Case:
    """One message to send, what it should get, and its tags; dialogue turns share a conversation."""

    text: str
    expect: str | None
    tags: frozenset[str]
    source: Source
    dialogue: str | None = None
    safety: bool | None = None  # a mention of violence or self-harm without danger now: safety line expected
    number: str | None = None  # danger now: the emergency number that must come first (110, 120, 119)


@dataclass(frozen=True, slots=True)
class Result:
    """A case and the reply it got."""

    case: Case
    reply: Reply

    @property
    def is_right(self) -> bool:
        """The reply answered the expected intent (or its dotted child), or stayed silent for out of scope."""
        got, want = self.reply.intent, self.case.expect
        if want is None:
            return got is None
        return got is not None and (got == want or got.startswith(want + "."))

    @property
    def is_useful(self) -> bool:
        """Right, or a clarify that offered the expected intent."""
        want = self.case.expect
        if self.is_right:
            return True
        return (want is not None and self.reply.intent is None
                and any(s == want or s.startswith(want + ".") for s in self.reply.suggestions))

    @property
    def is_danger_script(self) -> bool:
        """The reply is the emergency script (110/120/119 first)."""
        return self.reply.intent == EMERGENCY

    @property
    def first_number(self) -> str | None:
        """The first emergency number the reply names."""
        found = _NUMBERS.search(self.reply.text)
        return found.group(0) if found else None

    @property
    def is_wrong(self) -> bool:
        """An in-scope case answered with another intent: a citizen confidently told the wrong thing."""
        return self.case.expect is not None and self.reply.intent is not None and not self.is_right


class EvaluationFileError(BotError):
    """An evaluation file cannot be read; carries the problems with file:line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


def load_cases(path: Path) -> list[Case]:
    """Read an evaluation file (a YAML list of cases and dialogues)."""
    problems: list[Problem] = []
    src = str(path)
    data = read_yaml(path, src, problems)
    if not problems and not isinstance(data, LineList):
        problems.append(Problem(Source(src, 1), "an evaluation file is a YAML list of cases"))
    cases: list[Case] = []
    if isinstance(data, LineList):
        for item, line in zip(data, data.item_lines, strict=True):
            cases.extend(_read_case(item, src, line, problems))
    if problems:
        raise EvaluationFileError(problems)
    return cases


def _tags(item: LineDict) -> frozenset[str]:
    tags = item.get("tags") or []
    return frozenset(str(t) for t in tags) if isinstance(tags, list) else frozenset()


def _read_case(item: object, src: str, line: int, problems: list[Problem]) -> list[Case]:
    if not isinstance(item, LineDict):
        problems.append(Problem(Source(src, line), "each case is a mapping with text/expect or dialogue/turns"))
        return []
    if "dialogue" in item:
        turns = item.get("turns")
        if not isinstance(turns, LineList) or not turns:
            problems.append(Problem(Source(src, line), f"dialogue {item['dialogue']!r} has no turns"))
            return []
        name = f"{item['dialogue']}#{next(_ids)}"
        out = []
        for turn, turn_line in zip(turns, turns.item_lines, strict=True):
            # A turn keeps its own safety and number: a danger turn inside a dialogue is scored as one.
            out += [replace(c, tags=c.tags | _tags(item) | {"multi_turn"}, dialogue=name)
                    for c in _read_case(turn, src, turn_line, problems)]
        return out
    text = item.get("text")
    if not isinstance(text, str) or "expect" not in item:
        problems.append(Problem(Source(src, line), "a case needs 'text' and 'expect' (an intent id or null)"))
        return []
    expect = item["expect"]
    safety, number = item.get("safety"), item.get("number")
    return [Case(text, None if expect is None else str(expect), _tags(item), Source(src, line),
                 safety=safety if isinstance(safety, bool) else None,
                 number=None if number is None else str(number))]


def run_cases(engine: Engine, cases: Iterable[Case]) -> list[Result]:
    """Send every case through the engine; each single case is a fresh user, a dialogue one user."""
    results = []
    for n, case in enumerate(cases):
        user = f"eval:{case.dialogue}" if case.dialogue else f"eval:case{n}"
        results.append(Result(case, engine.respond(user, case.text, channel="eval")))
    return results


def run_model_alone(engine: Engine, cases: Iterable[Case]) -> list[Result]:
    """Each case answered by the learned model's first guess alone (no context, no thresholds)."""
    index = engine.catalogue.index
    results = []
    for case in cases:
        guesses = examine(case.text, index).learned.guesses
        intent = guesses[0] if guesses and guesses[0] else None
        results.append(Result(case, Reply(intent, 1.0 if intent else 0.0, "")))
    return results


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of spec/evaluation.md over one group of results (all, or one tag)."""

    in_scope: int
    accuracy: float
    useful: float
    wrong: float
    out_of_scope: int
    false_accept: float
    clarified: float


def _rate(n: int, total: int) -> float:
    return n / total if total else 0.0


def figures(results: Sequence[Result]) -> Figures:
    """Answer accuracy, useful and wrong rates in scope; false-accept and clarified rates out of scope."""
    ins = [r for r in results if r.case.expect is not None]
    oos = [r for r in results if r.case.expect is None]
    return Figures(
        len(ins),
        _rate(sum(r.is_right for r in ins), len(ins)),
        _rate(sum(r.is_useful for r in ins), len(ins)),
        _rate(sum(r.is_wrong for r in ins), len(ins)),
        len(oos),
        _rate(sum(r.reply.intent is not None for r in oos), len(oos)),
        _rate(sum(r.reply.intent is None and bool(r.reply.suggestions) for r in oos), len(oos)),
    )


@dataclass(frozen=True, slots=True)
class Safety:
    """How the bot tells danger now from danger mentioned (spec/evaluation.md's `safety`)."""

    danger_script_not_now: float  # share of all messages not in danger now that got the emergency script
    numbers: int  # danger-now cases that name the number expected first
    number_right: float
    mentioned: int  # cases marked `safety: true`
    mentioned_right: float  # answered with the service asked about and the safety line


@dataclass(frozen=True, slots=True)
class Summary:
    """Overall and per-tag figures, emergency recall and the most confused pairs."""

    overall: Figures
    by_tag: dict[str, Figures]
    emergency_recall: float | None
    confusions: list[tuple[tuple[str, str], int]]
    failures: list[Result] = field(default_factory=list)
    safety: Safety | None = None


def safety_figures(results: Sequence[Result]) -> Safety:
    """The 110 script for people not in danger now, the right number first, and mentions answered with safety."""
    not_now = [r for r in results if r.case.expect != EMERGENCY]
    numbered = [r for r in results if r.case.expect == EMERGENCY and r.case.number]
    mentioned = [r for r in results if r.case.safety]
    return Safety(_rate(sum(r.is_danger_script for r in not_now), len(not_now)),
                  len(numbered), _rate(sum(r.is_right and r.first_number == r.case.number for r in numbered),
                                       len(numbered)),
                  len(mentioned), _rate(sum(r.is_right and r.reply.safety for r in mentioned), len(mentioned)))


def summarize(results: Sequence[Result]) -> Summary:
    """Compute everything `legalbot eval` prints."""
    tags = sorted({t for r in results for t in r.case.tags})
    by_tag = {t: figures([r for r in results if t in r.case.tags]) for t in tags}
    emergency = [r for r in results if r.case.expect == "emergency"]
    recall = _rate(sum(r.is_right for r in emergency), len(emergency)) if emergency else None
    confused = Counter(
        (r.case.expect or "null", r.reply.intent or "null")
        for r in results if not r.is_right and r.reply.intent is not None
    )
    failures = [r for r in results if not r.is_right or (r.case.safety is not None and r.reply.safety != r.case.safety)
                or (r.case.number is not None and r.first_number != r.case.number)]
    return Summary(figures(results), by_tag, recall, confused.most_common(10), failures, safety_figures(results))


def _padded_pct(x: float) -> str:
    """A share as a percentage padded to six places, for the aligned tables."""
    return pct(x, 1.0).rjust(6)


def format_sides(sides: Sequence[tuple[str, Figures]]) -> str:
    """Fuzzy matching alone, the learned model alone and the two combined, side by side."""
    lines = [f"{'':<22}{'accuracy':>10}{'useful':>9}{'wrong':>8}{'f.accept':>10}"]
    for name, f in sides:
        lines.append(f"{name:<22}{_padded_pct(f.accuracy):>10}{_padded_pct(f.useful):>9}{_padded_pct(f.wrong):>8}{_padded_pct(f.false_accept):>10}")
    return "\n".join(lines)


def format_summary(summary: Summary, *, show_failures: bool = False) -> str:
    """A plain-text report: the overall figures, a per-tag table and the most confused pairs."""
    o = summary.overall
    lines = [
        f"in-scope cases: {o.in_scope}   out-of-scope cases: {o.out_of_scope}",
        f"answer accuracy {_padded_pct(o.accuracy)}   useful {_padded_pct(o.useful)}   wrong answers {_padded_pct(o.wrong)}",
        f"false accepts   {_padded_pct(o.false_accept)}   clarified out of scope {_padded_pct(o.clarified)}",
    ]
    if summary.emergency_recall is not None:
        lines.append(f"emergency recall {_padded_pct(summary.emergency_recall)}")
    safety = summary.safety
    if safety is not None:
        line = f"110 script when not in danger now {_padded_pct(safety.danger_script_not_now)}"
        if safety.numbers:
            line += f"   right number first {_padded_pct(safety.number_right)} of {safety.numbers}"
        if safety.mentioned:
            line += f"   mentions answered with safety line {_padded_pct(safety.mentioned_right)} of {safety.mentioned}"
        lines.append(line)
    lines += ["", f"{'tag':<12}{'n':>5}{'accuracy':>10}{'useful':>9}{'wrong':>8}{'oos n':>7}{'f.accept':>10}{'clarif.':>9}"]
    for tag, f in summary.by_tag.items():
        ins = (f"{_padded_pct(f.accuracy):>10}{_padded_pct(f.useful):>9}{_padded_pct(f.wrong):>8}" if f.in_scope
               else f"{'-':>10}{'-':>9}{'-':>8}")
        out = f"{_padded_pct(f.false_accept):>10}{_padded_pct(f.clarified):>9}" if f.out_of_scope else f"{'-':>10}{'-':>9}"
        lines.append(f"{tag:<12}{f.in_scope:>5}{ins}{f.out_of_scope:>7}{out}")
    if summary.confusions:
        lines += ["", "most confused (expected -> answered):"]
        lines += [f"  {want} -> {got}: {n}" for (want, got), n in summary.confusions]
    if show_failures and summary.failures:
        lines += ["", "cases not answered right:"]
        for r in summary.failures:
            got = r.reply.intent or (f"clarify{list(r.reply.suggestions)}" if r.reply.suggestions else "fallback")
            extra = (f" safety={r.reply.safety}" if r.case.safety is not None else "") + (
                f" number={r.first_number}" if r.case.number is not None else "")
            lines.append(f"  {r.case.source}: {r.case.text!r} expected {r.case.expect} got {got} "
                         f"({r.reply.confidence:.2f}){extra}")
    return "\n".join(lines)
