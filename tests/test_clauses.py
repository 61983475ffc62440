"""Splitting a message into clauses, and telling which of them ask."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.matching.clauses import asks, split
from bot.matching.normalize import prepare

QUESTION_WORDS = tuple(yaml.safe_load((Path(__file__).parent.parent / "intents" / "words.yaml").read_text(
    encoding="utf-8"))["words"]["question_words"])


def texts(message: str) -> list[str]:
    return [c.text for c in split(prepare(message), QUESTION_WORDS)]


@pytest.mark.parametrize(("message", "clauses"), [
    ("房东不退押金，人民调解管不管", ["房东不退押金", "人民调解管不管"]),
    ("公证处在哪😭急死了", ["公证处在哪", "急死了"]),
    ("亲子鉴定 法院要的 在哪做", ["亲子鉴定", "法院要的", "在哪做"]),
    ("手 机 上 能 续 吗 ？？ 烦 死 了", ["手机上能续吗", "烦死了"]),  # typed letter by letter
    ("有没有 app 可以办营业执照，烦", ["有没有 app 可以办营业执照", "烦"]),  # a Latin word keeps its neighbours
    ("法律援助怎么申请", ["法律援助怎么申请"]),
    ("温 州的公租房怎么申请", ["温州的公租房怎么申请"]),  # a lone character typed apart
])
def test_clauses_are_split_at_punctuation_emoji_and_spaces_between_words(message: str, clauses: list[str]) -> None:
    assert texts(message) == clauses


@pytest.mark.parametrize(("clause", "asking"), [
    ("人民调解管不管", True),  # A不A
    ("手机上能续吗", True),
    ("去哪里办", True),
    ("有没有免费的律师", True),
    ("房东不退押金", False),
    ("烦死了", False),
])
def test_a_clause_asks_by_its_question_words(clause: str, asking: bool) -> None:
    assert asks(clause, QUESTION_WORDS) is asking


def test_a_question_mark_makes_the_clause_before_it_ask() -> None:
    first, second = split(prepare("房东不退押金？烦死了"), QUESTION_WORDS)
    assert first.asks
    assert not second.asks


@given(st.text(max_size=60))
def test_clauses_keep_every_letter_in_order(message: str) -> None:
    prepared = prepare(message)
    kept = "".join(c.text for c in split(prepared, QUESTION_WORDS)).replace(" ", "")
    assert kept == "".join(re.findall(r"[^\W_]", prepared))
