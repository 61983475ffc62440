"""Personal data out of text: ID cards, phones, bank cards, e-mails, plates, QQ, WeChat and passports become placeholders."""

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
QQ = "〔QQ号〕"
WECHAT = "〔微信号〕"
PASSPORT = "〔护照号〕"

# Digits written as Chinese numerals (一三八…, 幺 for 1, 两 for 2, the 大写 forms, 繁體 兩 陸 貳 參).
_NUMERAL_DIGITS = {"0": "零〇", "1": "一幺壹", "2": "二两兩贰貳", "3": "三叁參", "4": "四肆", "5": "五伍",
                   "6": "六陆陸", "7": "七柒", "8": "八捌", "9": "九玖"}
_NUMERALS = "".join(_NUMERAL_DIGITS.values())
_NONZERO_NUMERALS = "".join(chars for digit, chars in _NUMERAL_DIGITS.items() if digit != "0")
_TO_DIGITS = {ord(ch): digit for digit, chars in _NUMERAL_DIGITS.items() for ch in chars}

# Chinese keyboards type the dots of an address as ． or 。
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-．＿－＋]+@[A-Za-z0-9\-－]+(?:[.．。][A-Za-z0-9\-－]+)*[.．。][A-Za-z]{2,}"
                    # A domain ends where no address goes on: 。 also ends a sentence before the next address.
                    r"(?![A-Za-z0-9\-－]*[@＠])")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_PLATE_LETTER = "A-HJ-NP-Z"  # plates never use I or O
_PLATE = re.compile(
    rf"[{_PROVINCES}][{_PLATE_LETTER}][·•.\-－．\s]?(?=[{_PLATE_LETTER}0-9]{{0,5}}[0-9])"
    rf"[{_PLATE_LETTER}0-9]{{4,5}}[{_PLATE_LETTER}0-9挂学警港澳领](?![A-Za-z0-9])",
    re.IGNORECASE,
)
# Citizens group digits with spaces, dashes or brackets ("138 1234 5678", "(0570)1234567"); a run is
# digits (or Chinese numerals) joined by at most three such characters, with an ID card's X allowed at its
# very end. A group is digits, or numerals: "第一13812345678" splits into 一 and a mobile.
_SEP = r"[\s\-‐‑‒–—―−._()－．＿（）]"
_MIN_DIGITS = 7  # nothing shorter is redacted as a number (a local landline after 电话 is the shortest)
_RUN = re.compile(rf"[\d{_NUMERALS}](?:{_SEP}{{0,3}}[\d{_NUMERALS}]){{{_MIN_DIGITS - 1},}}[Xx]?")
_GROUP = re.compile(rf"\d+[Xx]?|[{_NUMERALS}]+")
# A QQ number, WeChat id or passport number is only recognisable after a word that says so ("QQ号 12345678",
# "vx: abc_123", "护照 E1234567"); the word stays, the value after it (digits, numerals or an id) goes.
# Each value has its own shape here, so a word followed by something else is passed over, not swallowed.
# 〔 before QQ: the placeholder 〔QQ号〕 names a context itself, and must not make a later number a QQ number.
_GAP = r"[\s:：=＝是为]{0,3}"
_CONTEXT = re.compile(
    rf"(?:qq(?<![A-Za-z〔]..)|扣扣)(?:群|号码|号)?{_GAP}"
    rf"(?P<qq>[1-9{_NONZERO_NUMERALS}][0-9{_NUMERALS}]{{4,10}})(?![0-9{_NUMERALS}])"
    rf"|(?:微信|v信|薇信|(?:(?:vx|wx)(?<![A-Za-z]..)|(?:weixin|wechat)(?<![A-Za-z]......))(?![A-Za-z]))"
    rf"(?:号码|号)?{_GAP}"
    rf"(?P<wechat>[A-Za-z][-_A-Za-z0-9－＿]{{5,}}|[0-9]{{5,12}}(?![0-9]))"
    rf"|(?:护照(?:号码|号)?|passport(?<![A-Za-z]........)(?:\s?(?:no|number))?){_GAP}"
    rf"(?P<passport>[A-Za-z]{{1,2}}[0-9]{{6,9}})(?![0-9])",
    re.IGNORECASE,
)
# The first characters of the words above: a charset the engine scans fast, so most messages skip _CONTEXT.
_CONTEXT_FIRST = re.compile("[QqVvWwPp扣微薇护]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
# Chinese passports without a word before them: E or G and 8 digits, or E, a letter and 7 digits.
_PASSPORT = re.compile(r"[EG](?<![A-Za-z].)(?:\d{8}|(?<=E)[A-HJ-NP-Z]\d{7})(?!\d)", re.IGNORECASE)
_WXID = re.compile(r"wxid(?<![A-Za-z]....)[_＿][-_A-Za-z0-9－＿]{4,}", re.IGNORECASE)  # WeChat's own default ids
_NON_ASCII_DIGIT = re.compile(r"[^\D0-9]")  # a digit, but not 0-9: a charset, so the engine scans fast
# Full-width Ａ-Ｚ ａ-ｚ ＠ (as NFKC folds them); full-width separators are matched where they stand.
_FULL_WIDTH = {ord("＠"): "@"} | {cp: chr(cp - 0xFEE0) for cp in [*range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
_HAS_FULL_WIDTH = re.compile("[Ａ-Ｚａ-ｚ＠]")
# 〕: a word before a number already replaced ("电话〔手机号〕 1234567") is that number's, not the next one's.
_PHONE_CONTEXT = re.compile(r"(?:电话|座机|固话|号码|热线|tel|phone)[^0-9〕]{0,6}$", re.IGNORECASE)
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
    if n == 11 and _MOBILE.fullmatch(digits):
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
    groups = [(m.start(), m.end(), m.group().translate(_TO_DIGITS)) for m in _GROUP.finditer(run)]
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
    if _HAS_FULL_WIDTH.search(text):  # translate() looks up every character: only when there is one to fold
        text = text.translate(_FULL_WIDTH)
    return _NON_ASCII_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)


def _contextual(m: re.Match[str]) -> str:
    """The word that names the value, then 〔QQ号〕, 〔微信号〕 or 〔护照号〕 (〔手机号〕 for a mobile used as a WeChat id)."""
    kind = m.lastgroup or "wechat"
    placeholder = {"qq": QQ, "passport": PASSPORT}.get(kind, WECHAT)
    if kind == "wechat" and _MOBILE.fullmatch(m[kind]):
        placeholder = MOBILE
    return m.string[m.start():m.start(kind)] + placeholder


def redact(text: str) -> str:
    """The text with personal numbers, e-mails, plates and ids replaced by typed placeholders (〔手机号〕…)."""
    # Fold first: phones type full-width digits (１３８…) and ＠, and ｘ ends some ID numbers.
    if not text.isascii():
        text = _fold(text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    # Values that need no word before them go first, so a word's value is never the front of one of them.
    text = _WXID.sub(WECHAT, text)
    text = _PASSPORT.sub(PASSPORT, text)
    if _CONTEXT_FIRST.search(text):
        text = _CONTEXT.sub(_contextual, text)
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
