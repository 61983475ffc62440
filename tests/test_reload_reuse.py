"""What a reload reuses: the parse of every YAML file not saved since, and the prefilter's postings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bot.catalogue.loader import load_catalogue
from bot.catalogue.yamlfile import read_yaml
from bot.errors import Problem
from bot.matching.index import Postings, Prefilter, _grams
from catalogue_copy import NEW_EXAMPLE, CatalogueCopy


def test_an_unchanged_file_is_not_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("intents:\n  - id: a\n    id: b\n", encoding="utf-8")
    first: list[Problem] = []
    parsed = read_yaml(path, "a.yaml", first)
    again: list[Problem] = []
    assert read_yaml(path, "a.yaml", again) is parsed
    assert again == first and len(first) == 1  # the duplicate key is reported every time
    path.write_text("intents:\n  - id: c\n", encoding="utf-8")
    edited: list[Problem] = []
    changed = read_yaml(path, "a.yaml", edited)
    assert changed is not parsed and changed["intents"][0]["id"] == "c" and not edited
    assert changed["intents"].line == 2


def test_reload_after_an_edit_sees_the_edit(tmp_path: Path) -> None:
    copy = CatalogueCopy(tmp_path / "catalogue")
    before = load_catalogue(copy.intents, copy.content)
    copy.add_example()
    after = load_catalogue(copy.intents, copy.content)
    assert NEW_EXAMPLE in after.intents["legal_aid"].examples
    assert NEW_EXAMPLE not in before.intents["legal_aid"].examples
    copy.restore()
    assert load_catalogue(copy.intents, copy.content).intents["legal_aid"].examples == before.intents["legal_aid"].examples


def test_postings_hold_each_grams_rows_in_order() -> None:
    keys = ["法律援助", "援助", "", "法律", "律师费用", "援助"]
    flags = [False, False, False, True, False, False]
    reserved = [False, True, False, False, False, True]
    prefilter = Prefilter.build(keys, flags, reserved)
    for gram in {g for k in keys for g in _grams(k)}:
        want = [i for i, k in enumerate(keys) if not flags[i] and gram in _grams(k)]
        if want:
            assert prefilter.rows[gram].tolist() == want
            assert prefilter.weights[gram] == math.log(prefilter.examples / len(want)) * len(gram)
        else:
            assert gram not in prefilter.rows
        kept = [i for i in want if reserved[i]]
        assert (prefilter.reserved[gram].tolist() if gram in prefilter.reserved else []) == kept
    assert len(Postings.of([])[0]) == 0
