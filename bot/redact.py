"""Personal data out of text: ID cards, phones, bank cards, e-mails and plates become typed placeholders."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

ID_CARD = "〔身份证号〕"
MOBILE = "〔手机号〕"
LANDLINE = "〔座机号〕"
BANK_CARD = "〔银行卡号〕"
EMAIL = "〔邮箱〕"
PLATE = "〔车牌号〕"
NUMBER = "〔长数字〕"  # a long number of no known shape: still someone's account, order or case number
PLACEHOLDERS = (ID_CARD, MOBILE, LANDLINE, BANK_CARD, EMAIL, PLATE, NUMBER)

# Chinese keyboards type the dots of an address as ． or 。
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-．＿－＋]+@[A-Za-z0-9\-－]+(?:[.．。][A-Za-z0-9\-－]+)*[.．。][A-Za-z]{2,}")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_PLATE_LETTER = "A-HJ-NP-Z"  # plates never use I or O
_PLATE = re.compile(
    rf"[{_PROVINCES}][{_PLATE_LETTER}][·•.\-－．\s]?(?=[{_PLATE_LETTER}0-9]{{0,5}}[0-9])"
    rf"[{_PLATE_LETTER}0-9]{{4,5}}[{_PLATE_LETTER}0-9挂学警港澳领](?![A-Za-z0-9])",
    re.IGNORECASE,
)
# Citizens group digits with spaces, dashes or brackets ("138 1234 5678", "(0570)1234567"); a run is
# digits joined by at most three such characters, with an ID card's X allowed at its very end.
_SEP = r"[\s\-‐‑‒–—―−._()－．＿（）]"
_RUN = re.compile(rf"\d(?:{_SEP}{{0,3}}\d)*[Xx]?")
_GROUP = re.compile(r"\d+[Xx]?")
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")
# Full-width Ａ-Ｚ ａ-ｚ ＠ (as NFKC folds them); full-width separators are matched where they stand.
_FULL_WIDTH = {ord("＠"): "@"} | {cp: chr(cp - 0xFEE0) for cp in [*range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
_PHONE_CONTEXT = re.compile(r"(?:电话|座机|固话|号码|热线|tel|phone)[^0-9]{0,6}$", re.IGNORECASE)
_MAX_DIGITS = 20  # nothing we redact is longer (a 19-digit card); bounds the segmentation work


@dataclass(frozen=True, slots=True)
class _Kind:
    placeholder: str
    weight: int  # how sure we are that digits of this shape are this kind (segmentation prefers sure ones)


# Weights per digit. A Luhn check passes by chance one time in ten, so it adds little; a digit left
# readable costs as much as a sure digit earns, so among the ways to split a run, fewer digits stay.
_SURE_ID, _MAYBE_ID = _Kind(ID_CARD, 30), _Kind(ID_CARD, 25)
_SURE_MOBILE, _SURE_LANDLINE = _Kind(MOBILE, 30), _Kind(LANDLINE, 30)
_LUHN_CARD, _CARD = _Kind(BANK_CARD, 27), _Kind(BANK_CARD, 25)
_LOCAL_LANDLINE, _LONG_NUMBER = _Kind(LANDLINE, 20), _Kind(NUMBER, 10)
_KEPT_COST = 30


def _is_date(digits: str) -> bool:
    """YYYYMMDD (or YYMMDD) with a plausible month and day, as inside an ID card number."""
    month, day = int(digits[-4:-2]), int(digits[-2:])
    year_ok = len(digits) == 6 or digits[:2] in {"18", "19", "20"}
    return year_ok and 1 <= month <= 12 and 1 <= day <= 31


def _luhn(digits: str) -> bool:
    total = 0
    for n, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if n % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _kind(digits: str, has_phone_context: bool) -> _Kind | None:
    """What a digit string (no separators; maybe ending in X) is, or None when it is nobody's number."""
    n = len(digits)
    if digits[-1] in "Xx":
        if n == 18:
            return _SURE_ID
        return _LONG_NUMBER if n >= 12 else None
    if n == 18:
        return _SURE_ID if _is_date(digits[6:14]) else _CARD
    if n == 15 and _is_date(digits[6:12]):
        return _MAYBE_ID
    if n == 11 and re.fullmatch(r"1[3-9]\d{9}", digits):
        return _SURE_MOBILE
    if n in (13, 15) and re.fullmatch(r"(?:86|0086)1[3-9]\d{9}", digits):
        return _SURE_MOBILE
    if digits[0] == "0" and 10 <= n <= 12:
        return _SURE_LANDLINE
    if 16 <= n <= 19:
        return _LUHN_CARD if _luhn(digits) else _CARD
    if n in (7, 8) and has_phone_context:
        return _LOCAL_LANDLINE
    if n >= 12:
        return _LONG_NUMBER
    return None


def _redact_run(run: str, has_phone_context: bool) -> str:
    """Split one run of digit groups into numbers, preferring sure kinds, and replace each number."""
    groups = [(m.start(), m.end(), m.group()) for m in _GROUP.finditer(run)]
    size = len(groups)
    # best[i]: (score, pieces) for groups[i:]; a piece covers groups[i:j] with a kind, or one group kept.
    best: list[tuple[int, list[tuple[int, int, _Kind | None]]]] = [(0, [])] * (size + 1)
    for i in range(size - 1, -1, -1):
        score, rest = best[i + 1]
        choice = (score - _KEPT_COST * len(groups[i][2]), [(i, i + 1, None), *rest])
        digits = ""
        for j in range(i, size):
            digits += groups[j][2]
            if len(digits) > _MAX_DIGITS and j > i:
                break
            kind = _kind(digits, has_phone_context)
            if kind is not None:
                candidate = best[j + 1][0] + kind.weight * len(digits)
                if candidate > choice[0]:
                    choice = (candidate, [(i, j + 1, kind), *best[j + 1][1]])
        best[i] = choice
    out = []
    cursor = 0
    for i, j, kind in best[0][1]:
        if kind is None:
            continue
        start, end = groups[i][0], groups[j - 1][1]
        out.append(run[cursor:start])
        out.append(kind.placeholder)
        cursor = end
    out.append(run[cursor:])
    return "".join(out)


def _fold(text: str) -> str:
    """Digits of any script to 0-9, full-width letters and ＠ to ASCII; the rest stays as written."""
    text = text.translate(_FULL_WIDTH)
    return _NON_ASCII_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)


def redact(text: str) -> str:
    """The text with personal numbers, e-mails and plates replaced by typed placeholders (〔手机号〕…)."""
    # Fold first: phones type full-width digits (１３８…) and ＠, and ｘ ends some ID numbers.
    if not text.isascii():
        text = _fold(text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    text = _PLATE.sub(PLATE, text)

    def number(m: re.Match[str]) -> str:
        context = _PHONE_CONTEXT.search(text, max(0, m.start() - 12), m.start()) is not None
        return _redact_run(m.group(), context)

    return _RUN.sub(number, text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # a malformed call: the handler reports it, as usual
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
