"""Figures in Chinese text, in Arabic digits or Chinese numerals, read as values so both notations compare."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL = {"十": 10, "百": 100, "千": 1000}
_LARGE = {"万": 10_000, "亿": 100_000_000}
_NUMERAL = "零〇一二两三四五六七八九十百千万亿"
_RUN = re.compile(rf"(?P<percent>百分之|千分之)?(?P<run>[{_NUMERAL}]+(?:点[{''.join(_DIGITS)}]+)?)(?P<about>余|多)?")
_ARABIC = re.compile(r"(?P<ordinal>第)?(?P<number>\d+(?:\.\d+)?)(?P<percent>%)?(?P<large>[万亿])?")
# What follows a number that counts or measures something: a Chinese numeral before one of these is a figure.
# Durations (天, 个月, 小时) and dates (年, 月, 日) are figures too. Not 是 (一是), 化 (三化), 站 (一站式).
_UNITS = ("个工作日", "工作日", "人次", "批次", "场次", "个月", "小时", "分钟", "万元", "周岁",
          "件", "个", "项", "名", "人", "位", "次", "场", "天", "日", "周", "年", "月", "岁", "元",
          "家", "份", "本", "批", "处", "台", "期", "条", "起", "例", "种", "类", "户", "所", "倍", "趟", "余", "多")
# Words in which a numeral names a thing, not an amount: 最多跑一次, 一件事 (one integrated service).
_TIMES = ("个工作日", "工作日", "个月", "小时", "分钟", "天", "日", "周", "年", "月")
_NOT_FIGURES = ("跑一次", "一件事", "一次性", "一站式", "一窗", "一门", "一网", "一地", "一支队伍")


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure as written (两百, 85%) and its value; percentages are a kind of their own."""

    written: str
    value: Decimal
    is_percent: bool = False
    is_ordinal: bool = False


def chinese_value(run: str) -> Decimal | None:
    """The value of a Chinese numeral (三千四百九十一 → 3491, 一万二 → 12000, 二〇二〇 → 2020), or None."""
    whole, _, fraction = run.partition("点")
    value = _integer(whole)
    if value is None:
        return None
    if fraction:
        digits = "".join(str(_DIGITS[ch]) for ch in fraction if ch in _DIGITS)
        if len(digits) != len(fraction):
            return None
        return Decimal(f"{value}.{digits}")
    return Decimal(value)


def _integer(run: str) -> int | None:
    if not run:
        return None
    if all(ch in _DIGITS for ch in run):  # read digit by digit: 二〇二〇, 一二三四八
        return int("".join(str(_DIGITS[ch]) for ch in run))
    total = section = digit = 0
    last_unit = 1
    for ch in run:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _SMALL:
            last_unit = _SMALL[ch]
            section += (digit or 1) * last_unit
            digit = 0
        elif ch in _LARGE:
            section += digit
            if section == 0:
                return None
            total += section * _LARGE[ch]
            last_unit, section, digit = _LARGE[ch], 0, 0
        else:
            return None
    # A trailing digit is one unit below the last one said: 一万二 is 12000, 两百五 is 250.
    if digit and last_unit >= 100 and run[-2:-1] in {*_SMALL, *_LARGE}:
        section += digit * last_unit // 10
    else:
        section += digit
    return total + section


def _is_figure_word(text: str, start: int, end: int, run: str) -> bool:
    """Whether the Chinese numeral text[start:end] states an amount (两百, 三天) rather than names a thing."""
    if start > 0 and text[start - 1] in "第初星礼周":  # 第一, 初三, 星期一
        return False
    around = text[max(0, start - 2):end + 3]
    if any(word in around for word in _NOT_FIGURES):
        return False
    if run in {"一", "〇", "零"}:  # "one" is an article far more often than an amount: 一个, 一下, 一次
        return False
    after = text[end:end + 4]
    if any(after.startswith(unit) for unit in _UNITS):
        return True
    return len(run) > 1 and any(ch in run for ch in "十百千万亿")  # 两百, 三千四百九十一, 十九


def figures_in(text: str, *, every: bool = False) -> list[Figure]:
    """The figures of a text, in order. Chinese numerals count when they state an amount; `every`
    reads all of them (for the report, where any number may be the one an answer restates)."""
    text = unicodedata.normalize("NFKC", text)
    found: list[tuple[int, Figure]] = []
    for m in _ARABIC.finditer(text):
        try:
            value = Decimal(m["number"])
        except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
            continue
        written = m.group(0).removesuffix(m["large"] or "")
        found.append((m.start(), Figure(written, value, bool(m["percent"]), bool(m["ordinal"]))))
        if m["large"] and every:  # 37万 is also 370000
            found.append((m.start(), Figure(m.group(0), value * _LARGE[m["large"]])))
    for m in _RUN.finditer(text):
        run = m["run"]
        value = chinese_value(run)
        if value is None:
            continue
        is_percent = bool(m["percent"])
        if is_percent and m["percent"] == "千分之":
            value = value / 10
        if not (every or is_percent or _is_figure_word(text, m.start("run"), m.end("run"), run)):
            continue
        written = (m["percent"] or "") + run + (m["about"] or "")
        time = next((t for t in _TIMES if text.startswith(t, m.end())), "")
        written += time if not every else ""  # quoted as a duration or date: 三天, 二〇二〇年
        found.append((m.start(), Figure(written, value, is_percent)))
    return [figure for _, figure in sorted(found, key=lambda pair: pair[0])]


def values_in(text: str) -> frozenset[tuple[Decimal, bool]]:
    """Every (value, is_percent) a text states, in either notation."""
    return frozenset((f.value.normalize(), f.is_percent) for f in figures_in(text, every=True))
