"""Personal data never survives redact(), the event log or the log lines: tables and generated cases."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalogue import Catalogue
from bot.config import Settings
from bot.engine import Engine
from bot.redact import (
    BANK_CARD,
    EMAIL,
    ID_CARD,
    LANDLINE,
    MOBILE,
    NUMBER,
    PLATE,
    RedactingFilter,
    redact,
)
from bot.runtime import services


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
])
def test_redacts_each_kind(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "法律援助怎么申请？拨打12348或者12345。",
    "2020年12月15日签的合同，欠了3.5万元，过了3个月",
    "2020-12-15 出的事，第(2020)浙0881民初1234号",
    "出了事先打110，受伤打120",
    "错误：YAML 格式错误（expected）；请检查这一行",
    "",
])
def test_keeps_text_without_personal_data(text: str) -> None:
    assert redact(text) == text


def test_placeholders_are_distinct_and_digit_free() -> None:
    placeholders = [ID_CARD, MOBILE, LANDLINE, BANK_CARD, EMAIL, PLATE, NUMBER]
    assert len(set(placeholders)) == len(placeholders)
    assert not any(ch.isdigit() or ch.isascii() for p in placeholders for ch in p)
    assert redact(" ".join(placeholders)) == " ".join(placeholders)


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


@settings(max_examples=400)
@given(st.lists(st.tuples(gap, pieces), min_size=1, max_size=6), chinese)
def test_generated_personal_data_never_survives(parts: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f"{before}{piece}" for before, piece in parts) + tail
    out = redact(text)
    # The surrounding text has no Latin letters or digits, so none may be left at all.
    assert not re.search(r"[0-9A-Za-z@＠]", out), (text, out)
    assert not any(ch.isdigit() for ch in out), (text, out)


@settings(max_examples=300)
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
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger="tests.redact"):
        logger.debug("message text=%s from %s", "我手机13812345678", "浙H12345")
    assert caplog.messages == ["message text=我手机〔手机号〕 from 〔车牌号〕"]


def test_redacting_filter_leaves_a_malformed_call_to_the_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)
    assert RedactingFilter().filter(record)
    assert (record.msg, record.args) == ("%d items", ("many",))


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
