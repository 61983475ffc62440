"""sound_key(): homophones that pinyin input produces land on the same key; other words do not."""

from __future__ import annotations

import pytest

from bot.matching.normalize import normalize
from bot.matching.phonetic import fold, sound_key


def key(text: str) -> str:
    return sound_key(normalize(text))


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("法律缘助", "法律援助"),  # 缘/援 yuan
        ("法律援住", "法律援助"),  # 住/助 zhu
        ("公正", "公证"),  # 正/证 zheng
        ("人民调节", "人民调解"),  # 节/解 jie
        ("行政复意", "行政复议"),  # 意/议 yi
        ("森请", "申请"),  # southern accents: sh -> s
        ("法律资讯", "法律咨询"),  # 资讯/咨询 zixun
        ("我媽想申請", "我妈想申请"),  # Traditional spelling, same sound
    ],
)
def test_homophone_typos_share_a_key(typed: str, meant: str) -> None:
    assert key(typed) == key(meant)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("法律援助", "公证"),
        ("人民调解", "行政复议"),
        ("打工", "打我"),
        ("打官司", "打我"),
    ],
)
def test_different_words_have_different_keys(a: str, b: str) -> None:
    assert key(a) != key(b)


@pytest.mark.parametrize(
    ("syllable", "folded"),
    [("zhang", "zan"), ("shi", "si"), ("chen", "cen"), ("ying", "yin"), ("zheng", "zen"), ("an", "an"), ("yuan", "yuan")],
)
def test_fold(syllable: str, folded: str) -> None:
    assert fold(syllable) == folded


def test_latin_letters_and_digits_stay_as_they_are() -> None:
    assert sound_key("hello12348") == "hello12348"


def test_empty_text_has_an_empty_key() -> None:
    assert sound_key("") == ""


def test_key_is_stable_across_calls() -> None:
    assert sound_key("法律援助") == sound_key("法律援助")


def test_every_reading_pypinyin_gives_has_a_fixed_code() -> None:
    """Keys must not depend on the order characters were first seen: match workers key messages apart."""
    from pypinyin import Style, lazy_pinyin
    from pypinyin.pinyin_dict import pinyin_dict

    from bot.matching.phonetic import CODED_SYLLABLES, fold

    readings = {lazy_pinyin(chr(c), style=Style.NORMAL)[0] for c in pinyin_dict}
    readings = {r for r in readings if r.isascii() and r.isalpha()}
    assert readings | {fold(r) for r in readings} <= CODED_SYLLABLES
