"""Personal data never survives redact(), the event log or the log lines: tables and generated cases."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalogue.loader import Catalogue
from bot.config import Settings
from bot.engine import Engine
from bot.service import redact as redact_module
from bot.service.redact import (
    BANK_CARD,
    EMAIL,
    ID_CARD,
    LANDLINE,
    MOBILE,
    NUMBER,
    PASSPORT,
    PLATE,
    QQ,
    WECHAT,
    RedactingFilter,
    redact,
)
from bot.service.runtime import services


@pytest.mark.parametrize(("text", "expected"), [
    ("我手机13812345678，帮我查一下", "我手机〔手机号〕，帮我查一下"),
    ("身份证33088119900101123X", "身份证〔身份证号〕"),
    ("身份证号330881199001011234办证", "身份证号〔身份证号〕办证"),
    ("老身份证330881900101123", "老身份证〔身份证号〕"),
    ("电话 0570-4021234", "电话 〔座机号〕"),
    ("打(0570)4021234找他", "打(〔座机号〕找他"),
    ("座机4021234", "座机〔座机号〕"),
    ("卡号 6222 0212 3456 7890 123", "卡号 〔银行卡号〕"),
    ("工资卡6222021234567890没到账", "工资卡〔银行卡号〕没到账"),
    ("+86 138 1234 5678", "+〔手机号〕"),
    ("138-1234-5678", "〔手机号〕"),
    ("邮箱 zhang.san+1@qq.com 谢谢", "邮箱 〔邮箱〕 谢谢"),
    ("邮箱abc@qq。com。谢谢", "邮箱〔邮箱〕。谢谢"),
    ("您好0@0.com。aa@0.com", "您好〔邮箱〕。〔邮箱〕"),  # 。 ends the first address, not a domain label of the second
    ("车牌浙H·12345被刮了", "车牌〔车牌号〕被刮了"),
    ("新能源浙HD12345", "新能源〔车牌号〕"),
    ("学车的浙h 1234学", "学车的〔车牌号〕"),
    ("订单号202012150001234567890", "订单号〔长数字〕"),
    # Full-width digits and letters, as Chinese phone keyboards type them.
    ("我手机１３８１２３４５６７８；", "我手机〔手机号〕；"),
    ("３３０８８１１９９００１０１１２３ｘ", "〔身份证号〕"),
    ("邮箱ａｂｃ＠ｑｑ．ｃｏｍ谢谢", "邮箱〔邮箱〕谢谢"),
    ("电话（０５７０）４０２１２３４", "电话（〔座机号〕"),
    # Two numbers side by side are two placeholders of the right kinds.
    ("13812345678 330881199001011234", "〔手机号〕 〔身份证号〕"),
    ("13812345678-13912345678", "〔手机号〕-〔手机号〕"),
    ("13812345678 6222021234567890", "〔手机号〕 〔银行卡号〕"),
    # Phones in Chinese numerals, with 幺 for 1 and 两 for 2, alone or mixed with digits.
    ("我电话一三八一二三四五六七八", "我电话〔手机号〕"),
    ("幺三九 两两三四 五六七八，打这个", "〔手机号〕，打这个"),
    ("手机：壹叁捌壹贰叁肆伍陆柒捌", "手机：〔手机号〕"),
    ("一五九-〇〇〇〇-一二三四", "〔手机号〕"),
    ("138一二三四5678", "〔手机号〕"),
    ("打一三八一二三四五六七八。兩點後", "打〔手机号〕。兩點後"),
    ("第一13812345678", "第一〔手机号〕"),
    ("座机四〇二一二三四", "座机〔座机号〕"),
    # QQ and WeChat numbers when a word says so; the word stays.
    ("QQ 123456789", "QQ 〔QQ号〕"),
    ("qq号12345678", "qq号〔QQ号〕"),
    ("我的QQ号码是：10001，加我", "我的QQ号码是：〔QQ号〕，加我"),
    ("扣扣 一二三四五六七八九", "扣扣 〔QQ号〕"),
    ("ＱＱ：１２３４５６７８９", "QQ：〔QQ号〕"),
    ("QQ群 987654321", "QQ群 〔QQ号〕"),
    ("微信号 abc_12345", "微信号 〔微信号〕"),
    ("vx: zhang-san88，谢谢", "vx: 〔微信号〕，谢谢"),
    ("加我VX：ｗｘｉｄ＿２０２０", "加我VX：〔微信号〕"),
    ("微信是wxid_abc123def", "微信是〔微信号〕"),
    ("wx 12345678", "wx 〔微信号〕"),
    ("V信A00000", "V信〔微信号〕"),
    ("搜我wxid_k2x9q7就行", "搜我〔微信号〕就行"),
    ("微信 13812345678", "微信 〔手机号〕"),
    # Passports: E or G and 8 digits, E + letter + 7 digits; any shape after 护照.
    ("护照E12345678丢了", "护照〔护照号〕丢了"),
    ("护照号码：G12345678", "护照号码：〔护照号〕"),
    ("护照号 EA1234567", "护照号 〔护照号〕"),
    ("passport e12345678", "passport 〔护照号〕"),
    ("护照是P1234567", "护照是〔护照号〕"),
    ("我的护照号是ＥＡ１２３４５６７，办签证", "我的护照号是〔护照号〕，办签证"),
])
def test_redacts_each_kind(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "法律援助怎么申请？拨打12348或者12345。",
    "2020年12月15日签的合同，欠了3.5万元，过了3个月",
    "2020-12-15 出的事，第(2020)浙0881民初1234号",
    "出了事先打110，受伤打120",
    "错误：YAML 格式错误（expected）；请检查这一行",
    "一二三四五六七，二〇二〇年十二月，三三两两，一(六)四",
    "QQ邮箱怎么登录？微信公众号叫江山司法，QQ音乐",
    "微信上说好了，vx也加了，wx不回",
    "G1234次高铁，E座，坐G7次",
    "",
])
def test_keeps_text_without_personal_data(text: str) -> None:
    assert redact(text) == text


def test_placeholders_are_distinct_and_digit_free() -> None:
    placeholders = [ID_CARD, MOBILE, LANDLINE, BANK_CARD, EMAIL, PLATE, NUMBER, QQ, WECHAT, PASSPORT]
    # Every placeholder the module defines is in the list above.
    assert sorted(placeholders) == sorted(v for v in vars(redact_module).values() if isinstance(v, str) and v.startswith("〔"))
    assert len(set(placeholders)) == len(placeholders)
    assert all(p.startswith("〔") and p.endswith("〕") for p in placeholders)
    assert not any(ch.isdigit() for p in placeholders for ch in p)
    assert redact(" ".join(placeholders)) == " ".join(placeholders)
    # A number after a placeholder that names a context (〔QQ号〕) is not taken for a QQ number again.
    assert redact("QQ号 12345 67890") == "QQ号 〔QQ号〕 67890"
    assert redact(redact("QQ号 12345 67890")) == "QQ号 〔QQ号〕 67890"


# ---------------------------------------------------------------- generated personal data

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_check(body: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


def _luhn_digit(body: str) -> str:
    total = 0
    for n, ch in enumerate(reversed(body)):
        d = int(ch) * (1 if n % 2 else 2)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def id_cards(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from("123456")) + draw(_digits(5))
    birth = draw(st.dates(min_value=__import__("datetime").date(1920, 1, 1))).strftime("%Y%m%d")
    body = region + birth + draw(_digits(3))
    check = _id_check(body) if draw(st.booleans()) else draw(st.sampled_from("0123456789Xx"))
    return body + check


mobiles = st.builds(lambda second, rest: "1" + second + rest, st.sampled_from("3456789"), _digits(9))
landlines = st.builds(
    lambda area, first, rest: "0" + area + first + rest,
    st.sampled_from(["10", "21", "570", "571", "574", "755"]), st.sampled_from("2345678"),
    st.integers(6, 7).flatmap(_digits),
)


@st.composite
def bank_cards(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["62", "4", "5", "9"]))
    body = prefix + draw(_digits(draw(st.integers(16, 19)) - 1 - len(prefix)))
    return body + (_luhn_digit(body) if draw(st.booleans()) else draw(_digits(1)))


emails = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.from_regex(r"[a-z0-9][a-z0-9._\-]{0,15}", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,8})?", fullmatch=True),
    st.sampled_from(["com", "cn", "net", "org", "gov.cn"]),
)
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
plates = st.one_of(
    st.builds(lambda p, a, tail: p + a + tail, st.sampled_from("浙沪苏京粤皖赣闽"), st.sampled_from(_PLATE_LETTERS),
              st.text(alphabet=_PLATE_LETTERS + "0123456789", min_size=4, max_size=4).map(lambda t: t + "7")),
    st.builds(lambda a, tail: "浙" + a + "D" + tail, st.sampled_from(_PLATE_LETTERS), _digits(5)),
)


def _group(digits: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i: i + size])
        i += size
    if i < len(digits):
        parts.append(digits[i:])
    return sep.join(p for p in parts if p)


@st.composite
def written(draw: st.DrawFn, value: str, kind: str) -> str:
    """One piece of personal data as a citizen might type it: grouped, dashed, full-width, prefixed."""
    if kind == "mobile" and draw(st.booleans()):
        value = _group(value, (3, 4, 4), draw(st.sampled_from([" ", "-", "－", "　"])))
        value = draw(st.sampled_from(["", "+86 ", "86"])) + value
    elif kind == "landline" and draw(st.booleans()):
        area = 3 if value[1] in "12" else 4
        value = draw(st.sampled_from([f"{value[:area]}-{value[area:]}", f"({value[:area]}){value[area:]}",
                                      f"（{value[:area]}）{value[area:]}", f"{value[:area]} {value[area:]}"]))
    elif kind == "card" and draw(st.booleans()):
        value = _group(value, (4, 4, 4, 4), draw(st.sampled_from([" ", "-"])))
    elif kind == "id" and draw(st.booleans()):
        value = _group(value, (6, 8), " ")
    if draw(st.booleans()):
        value = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)
    return value


KINDS = {"id": id_cards(), "mobile": mobiles, "landline": landlines, "card": bank_cards(),
         "email": emails, "plate": plates}
pieces = st.sampled_from(sorted(KINDS)).flatmap(lambda k: KINDS[k].flatmap(lambda v: written(v, k)))

_PHRASES = (
    "您好", "我想问一下", "法律援助怎么申请", "我家老人被骗了", "对方一直不还钱", "怎么办啊", "麻烦帮我看看",
    "邻居家装修吵得不行", "离婚以后孩子归谁", "老板拖欠工资", "能不能帮忙联系", "我的联系方式是", "电话", "手机",
    "身份证", "银行卡", "车牌", "邮箱", "，", "。", "！", "？", "……", " ", "　", "😭", "谢谢", "在吗",
)
chinese = st.lists(st.sampled_from(_PHRASES), max_size=80).map("".join)
# Something always stands between two pieces of personal data, if only a space.
gap = st.lists(st.sampled_from(_PHRASES), min_size=1, max_size=80).map("".join)
with_numbers = st.lists(st.sampled_from([*_PHRASES, "2020年", "第3条", "12348", "3.5万元", "12月15日"]),
                        min_size=1, max_size=80).map("".join)


def _core(piece: str) -> str:
    """The piece folded to ASCII with its separators removed: what must not be readable afterwards."""
    folded = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in piece)
    folded = folded.removeprefix("+86 ").removeprefix("86") if re.fullmatch(r"[+\d ()\-（）　－]+", folded) else folded
    return re.sub(r"[\s\-()（）－]", "", folded).lower()


def _stripped(text: str) -> str:
    folded = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in text)
    return re.sub(r"[\s\-()（）－]", "", folded).lower()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(gap, pieces), min_size=1, max_size=6), chinese)
def test_generated_personal_data_never_survives(parts: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f"{before}{piece}" for before, piece in parts) + tail
    out = redact(text)
    # The surrounding text has no Latin letters or digits, so none may be left at all.
    assert not re.search(r"[0-9A-Za-z@＠]", out), (text, out)
    assert not any(ch.isdigit() for ch in out), (text, out)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(with_numbers, pieces, st.sampled_from("，。 的吧")), min_size=1, max_size=4), with_numbers)
def test_generated_personal_data_never_survives_among_other_numbers(parts: list[tuple[str, str, str]],
                                                                    tail: str) -> None:
    text = "".join(f"{before}{piece}{after}" for before, piece, after in parts) + tail
    out = _stripped(redact(text))
    for _, piece, _ in parts:
        assert _core(piece) not in out, (piece, text, out)


@given(st.text(max_size=300))
def test_redact_is_total_and_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def test_redacting_filter_rewrites_log_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.redact")
    redacting = RedactingFilter()
    caplog.handler.addFilter(redacting)
    try:
        with caplog.at_level(logging.DEBUG, logger="tests.redact"):
            logger.debug("message text=%s from %s", "我手机13812345678", "浙H12345")
    finally:
        caplog.handler.removeFilter(redacting)  # pytest keeps this handler for the tests that follow
    assert caplog.messages == ["message text=我手机〔手机号〕 from 〔车牌号〕"]


def test_redacting_filter_leaves_a_malformed_call_to_the_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)
    assert RedactingFilter().filter(record)
    assert (record.msg, record.args) == ("%d items", ("many",))


# ---------------------------------------------------------------- Chinese numerals, QQ, WeChat, passports

_NUMERALS = {"0": "零〇", "1": "一幺壹", "2": "二两兩贰", "3": "三叁", "4": "四肆", "5": "五伍", "6": "六陆陸",
             "7": "七柒", "8": "八捌", "9": "九玖"}
_TO_DIGIT = {ord(ch): d for d, chars in _NUMERALS.items() for ch in chars}


@st.composite
def numeral_mobiles(draw: st.DrawFn) -> str:
    """A mobile with some or all digits as Chinese numerals (幺 for 1, 两 for 2), grouped or not."""
    digits = draw(mobiles)
    all_chinese = draw(st.booleans())
    written = "".join(draw(st.sampled_from(_NUMERALS[d])) if all_chinese or draw(st.booleans()) else d
                      for d in digits)
    if draw(st.booleans()):
        written = _group(written, (3, 4, 4), draw(st.sampled_from([" ", "-", "－", "　"])))
    return written


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _maybe_numerals(draw: st.DrawFn, digits: str) -> str:
    return "".join(draw(st.sampled_from(_NUMERALS[d])) for d in digits) if draw(st.booleans()) else digits


@st.composite
def qq_numbers(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(st.sampled_from("123456789")) + draw(st.integers(4, 10).flatmap(_digits))
    context = draw(st.sampled_from(["QQ", "qq", "Qq", "QQ号", "qq号", "QQ号码", "扣扣", "QQ群"]))
    gap = draw(st.sampled_from(["", " ", "：", ":", "是", "是：", "　"]))
    value = _maybe_numerals(draw, number) if context == "扣扣" or draw(st.booleans()) else number
    return context + gap + value, number


@st.composite
def wechat_ids(draw: st.DrawFn) -> tuple[str, str]:
    ident = draw(st.from_regex(r"[a-zA-Z][-_a-zA-Z0-9]{4,18}[0-9]", fullmatch=True))
    if draw(st.integers(0, 9)) == 0:
        ident = "wxid_" + ident
        return draw(st.sampled_from(["", "加", "搜"])) + ident, ident  # WeChat's default ids need no context
    context = draw(st.sampled_from(["微信", "微信号", "vx", "VX", "wx", "V信", "weixin", "微信号码"]))
    gap = draw(st.sampled_from(["", " ", "：", ": ", "是", "是："] if not context[-1].isascii() else [" ", "：", ": "]))
    return context + gap + ident, ident


@st.composite
def passports(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(st.one_of(
        st.builds(lambda d: "E" + d, _digits(8)),
        st.builds(lambda d: "G" + d, _digits(8)),
        st.builds(lambda a, d: "E" + a + d, st.sampled_from(_PLATE_LETTERS), _digits(7)),
    ))
    if draw(st.booleans()):
        number = number.lower()
    context = draw(st.sampled_from(["", "护照", "护照号", "护照号码", "护照号码是", "护照："]))
    return context + draw(st.sampled_from(["", " "])) + number, number


def _as_typed(piece: tuple[str, str]) -> st.SearchStrategy[tuple[str, str]]:
    """Half-width or, as Chinese phone keyboards type it, full-width (letters, digits, colons and all)."""
    written, value = piece
    return st.sampled_from([(written, value), (_full_width(written), value)])


contextual = st.one_of(numeral_mobiles().map(lambda m: (m, m)), qq_numbers(), wechat_ids(), passports()
                       ).flatmap(_as_typed)


def _comparable(text: str) -> str:
    """Folded (full-width, Chinese numerals), without separators, lower case: what must not stay readable."""
    folded = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in text).translate(_TO_DIGIT)
    return re.sub(r"[\s\-()（）－_＿]", "", folded).lower()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(gap, contextual), min_size=1, max_size=6), chinese)
def test_generated_numerals_qq_wechat_and_passports_never_survive(parts: list[tuple[str, tuple[str, str]]],
                                                                   tail: str) -> None:
    text = "".join(f"{before}{written}" for before, (written, _) in parts) + tail
    out = redact(text)
    kept = _comparable(out)
    for _, (written, value) in parts:
        assert _comparable(value) not in kept, (written, text, out)
    assert out.count("〔") >= len(parts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(with_numbers, contextual, st.sampled_from("，。 的吧")), min_size=1, max_size=4))
def test_generated_numerals_qq_wechat_and_passports_never_survive_among_other_numbers(
    parts: list[tuple[str, tuple[str, str], str]],
) -> None:
    text = "".join(f"{before}{written}{after}" for before, (written, _), after in parts)
    kept = _comparable(redact(text))
    around = _comparable("".join(f"{before} {after}" for before, _, after in parts))
    for _, (written, value), _ in parts:
        if _comparable(value) not in around:  # "12348" is a QQ number's shape too, and stays readable
            assert _comparable(value) not in kept, (written, text)


def test_a_long_chinese_message_is_redacted_throughout() -> None:
    """A 4,000-character story full of Chinese numerals and context words: every number is redacted
    (its cost is measured by bench/bench_redact.py, not here)."""
    story = ("我一九九八年来的江山，两个孩子，一三八一二三四五六七八是我电话，QQ 123456789 微信号 abc_12345，"
             "护照E12345678，三三两两的邻居，第一次找法律援助。") * 50
    out = redact(story)
    assert out.count(MOBILE) == out.count(QQ) == out.count(WECHAT) == out.count(PASSPORT) == 50


# ---------------------------------------------------------------- through the engine and event log

_EXAMPLE = 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.tuples(chinese, pieces, chinese), min_size=1, max_size=8))
def test_personal_data_never_reaches_database_or_logs(
    parts: list[tuple[str, str, str]], tmp_path: Path, shipped_catalogue: Catalogue,
    caplog: pytest.LogCaptureFixture,
) -> None:
    global _EXAMPLE
    _EXAMPLE += 1
    db = tmp_path / f"events-{_EXAMPLE}.db"
    messages = [f"{a}{piece}{b}" for a, piece, b in parts]
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        asyncio.run(_converse(shipped_catalogue, db, messages))
    stored = b"".join(p.read_bytes() for p in tmp_path.glob(f"events-{_EXAMPLE}.db*"))
    assert stored.count("〔".encode()) >= len(messages)
    for _, piece, _ in parts:
        core = _core(piece)
        for form in {core, core.upper(), piece, piece.lower()}:
            assert form.encode() not in stored, (piece, form)
            assert form not in caplog.text, (piece, form)


async def _converse(catalogue: Catalogue, db: Path, messages: list[str]) -> None:
    engine = Engine(catalogue)
    channel_log = logging.getLogger("bot.channels.test")
    async with services(engine, Settings(Path("intents"), Path("content"), db_path=db), watch=False):
        for n, text in enumerate(messages):
            channel_log.debug("message from %s: %s", n, text)  # as a channel logs text at DEBUG
            reply = await engine.reply(f"user{n}", text, channel="test")
            if reply.intent:
                engine.feedback(f"user{n}", reply.intent, n % 2 == 0, channel="test")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.tuples(chinese, contextual, chinese), min_size=1, max_size=6))
def test_numerals_qq_wechat_and_passports_never_reach_database_or_logs(
    parts: list[tuple[str, tuple[str, str], str]], tmp_path: Path, shipped_catalogue: Catalogue,
    caplog: pytest.LogCaptureFixture,
) -> None:
    global _EXAMPLE
    _EXAMPLE += 1
    db = tmp_path / f"events-{_EXAMPLE}.db"
    messages = [f"{a}{written}{b}" for a, (written, _), b in parts]
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        asyncio.run(_converse(shipped_catalogue, db, messages))
    with sqlite3.connect(db) as conn:
        stored = _comparable("\n".join(row[0] for row in conn.execute("SELECT text FROM events")))
    logged = _comparable(caplog.text)
    for _, (written, value), _ in parts:
        assert _comparable(value) not in stored, written
        assert _comparable(value) not in logged, written
