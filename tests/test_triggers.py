"""Danger triggers: the first one named, spread phrases, and what a written phrase beats."""

from __future__ import annotations

from bot.matching.phonetic import sound_keys
from bot.matching.triggers import Trigger, find_trigger, folded_only, starts


def _trigger(text: str) -> Trigger:
    return Trigger("emergency", text, sound_keys(text.replace("…", ""))[0])


def _find(message: str, *phrases: str) -> str | None:
    found = find_trigger(message, sound_keys(message)[0], [_trigger(p) for p in phrases])
    return found.text if found else None


def test_the_first_danger_named_wins_whatever_the_catalogue_order() -> None:
    assert _find("孩子误喝了农药", "喝了农药", "误喝") == "误喝"
    assert _find("他拿刀砍我流了好多血", "流了好多血", "拿刀") == "拿刀"


def test_at_one_place_the_longer_phrase_wins() -> None:
    assert _find("他被打伤了", "被打", "被打伤") == "被打伤"


def test_a_written_phrase_beats_a_homophone_at_the_same_place() -> None:
    assert _find("孕妇大出血", "打出血", "大出血") == "大出血"
    assert _find("孕妇大出血", "打出血") == "打出血"  # alone, the homophone still counts: recall first


def test_a_spread_trigger_needs_its_parts_in_order_and_close() -> None:
    assert _find("孩子在超市门口不见了", "孩子…不见") == "孩子…不见"
    assert _find("不见了孩子", "孩子…不见") is None
    assert _find("孩子" + "很久很久以前的事情说来话长" + "不见", "孩子…不见") is None
    assert _find("被老板叫人打了", "被…打了") == "被…打了"


def _combo(text: str) -> Trigger:
    return Trigger("emergency", text, sound_keys(text)[0])


def _find_combo(message: str, combo: str) -> bool:
    return find_trigger(message, sound_keys(message)[0], [_combo(combo)]) is not None


def test_a_combination_is_any_first_word_then_soon_any_word_of_then() -> None:
    combo = "孩子|闺女|老人…不见|走丢|联系不上"
    assert _find_combo("我家闺女在商场走丢了", combo)
    assert _find_combo("老人一早出门到现在联系不上", combo)
    assert not _find_combo("走丢的孩子", combo)  # order matters
    assert not _find_combo("孩子的作业本不小心掉进水里了", combo)


def test_a_combination_finds_words_of_two_syllables_by_sound_but_not_single_ones() -> None:
    assert _find_combo("孩子不剪了", "孩子|儿子…不见|丢了")  # 不剪: a typo of 不见
    assert not _find_combo("哇，不见了", "娃…不见")  # 哇 sounds like 娃, one syllable: no


def test_the_first_words_of_a_combination_are_where_the_index_looks() -> None:
    assert {"孩", "闺"} <= starts(_combo("孩子|闺女…不见"))
    assert starts(_combo("救命")) == {"救", sound_keys("救命")[0][0]}


def test_a_phrase_is_also_found_with_the_experienced_aspect_inside() -> None:
    assert _find("以前割过腕", "割腕") == "割腕"  # 割腕 said as done once: 割过腕
    assert _find("割过的腕", "割腕") is None


def test_a_combination_can_bar_characters_between_its_parts() -> None:
    combo = "孩子|儿子…找不到|不见¦的"  # combos' not_between: [的]
    assert _find_combo("孩子在商场找不到了", combo)
    assert not _find_combo("孩子的出生证明找不到了", combo)  # about a paper, not a child
    assert not _find_combo("孩子的出生证明找不倒了", combo)  # by sound too


def _folded_only(message: str, phrase: str) -> bool:
    folded, exact = sound_keys(message)
    return folded_only(message, folded, exact, _trigger(phrase))


def test_a_find_through_an_accent_fold_is_told_from_a_typo() -> None:
    assert _folded_only("老板欠了我钱", "抢了我")  # qian is not qiang: only the ang/an fold joins them
    assert _folded_only("他要弄屎我", "要弄死")  # shi is not si: only the sh/s fold
    assert not _folded_only("他又在大我", "在打我")  # the same syllable typed with another character
    assert not _folded_only("有人抢了我的包", "抢了我")  # as written
    assert not _folded_only("今天天气很好", "抢了我")  # not there at all
