"""normalize(): one canonical form for what citizens type and what operators write."""

from __future__ import annotations

import pytest

from bot.matching.normalize import drop_latin_fillers, normalize, strip_fillers, to_simplified


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # full-width letters, digits and punctuation from phone keyboards (NFKC)
        ("ＡＢＣ１２３４８", "abc12348"),
        ("法律援助？！", "法律援助"),
        ("法律援助　怎么申请", "法律援助怎么申请"),  # ideographic space
        # 繁體 to Simplified
        ("我媽想申請法律援助", "我妈想申请法律援助"),
        ("離婚財產怎麼分", "离婚财产怎么分"),
        # casefolding
        ("HELLO", "hello"),
        ("Hello World", "helloworld"),
        # punctuation, emoji, spaces, symbols
        ("法律援助😀😀怎么 申请。", "法律援助怎么申请"),
        ("“全程代办”，（矛调中心）", "全程代办矛调中心"),
        ("👍🙏❤️", ""),
        ("   \t\n", ""),
        ("___---", ""),
        ("", ""),
        # zero-width and bidi characters that hide inside words
        ("法\u200b律\ufeff援\u200d助", "法律援助"),
        ("公\u202e证", "公证"),
        ("soft\u00adhyphen", "softhyphen"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_normalize_keeps_digits_and_decimals_as_digits() -> None:
    # the decimal point is punctuation; the digits must survive for matching "12348"
    assert normalize("拨打 12348，成功率99.45%") == "拨打12348成功率9945"


@pytest.mark.parametrize(
    "text",
    ["法律援助", "我妈想申请法律援助", "公证处在哪里", "hello12348"],
)
def test_normalize_is_idempotent_on_ordinary_text(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


def test_simplified_and_traditional_spellings_meet() -> None:
    assert normalize("請問法律援助怎麼申請") == normalize("请问法律援助怎么申请")


def test_to_simplified_leaves_simplified_text_alone() -> None:
    assert to_simplified("法律援助怎么申请") == "法律援助怎么申请"
    assert to_simplified("調解") == "调解"


FILLERS = ("请问一下", "请问", "那个", "嗯嗯", "嗯", "啊")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请问一下法律援助", "法律援助"),
        ("那个嗯法援啊", "法援"),
        ("嗯嗯公证", "公证"),
        ("法律援助", "法律援助"),
        # a message made only of fillers is kept: there must be something to match
        ("嗯嗯", "嗯嗯"),
        ("请问", "请问"),
    ],
)
def test_strip_fillers(text: str, expected: str) -> None:
    assert strip_fillers(text, FILLERS) == expected



@pytest.mark.parametrize(
    ("prepared", "expected"),
    [
        ("can i talk to a human", "talk human"),  # Latin fillers go as whole words
        ("a lawyer for my family", "lawyer family"),  # never out of other words ("a" in "lawyer")
        ("hi", "hi"),  # nothing but fillers: the text stays
        ("请问 can 法律援助", "请问 法律援助"),  # Chinese fillers are left to strip_fillers
    ],
)
def test_latin_fillers_are_dropped_as_whole_words(prepared: str, expected: str) -> None:
    fillers = ("can", "i", "to", "a", "for", "my", "hi", "请问")
    assert " ".join(drop_latin_fillers(prepared, fillers).split()) == expected
    assert strip_fillers("alawyer", fillers) == "alawyer"  # squashed text keeps its Latin letters
