"""What a reload reuses (the parse of every YAML file not saved since, the rows prepared before, the
learned model and the lexicon's foreign nouns) and that it builds the index a fresh load builds."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.catalogue.cache import CatalogueLoader
from bot.catalogue.loader import load_catalogue
from bot.catalogue.yamlfile import read_yaml
from bot.engine import Engine
from bot.errors import Problem
from bot.matching.blocks import blocks_of, kept_of
from bot.matching.index import Index
from bot.matching.prefilter import Grams, Postings, Prefilter, gram_set
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
    for gram in {g for k in keys for g in gram_set(k)}:
        want = [i for i, k in enumerate(keys) if not flags[i] and gram in gram_set(k)]
        if want:
            assert prefilter.rows[gram].tolist() == want
            assert prefilter.weights[gram] == math.log(prefilter.examples / len(want)) * len(gram)
        else:
            assert gram not in prefilter.rows
        kept = [i for i in want if reserved[i]]
        assert (prefilter.reserved[gram].tolist() if gram in prefilter.reserved else []) == kept
    assert len(Postings.of(Grams.of([], []))[0]) == 0


def _reload_in_a_process(folder: Path, copy: CatalogueCopy, seed: str) -> int:
    """A fresh process (its own string hashing) that starts from the cache, then reloads after an edit."""
    script = (
        "import sys\nfrom pathlib import Path\nsys.path.insert(0, 'tests')\n"
        "from bot.catalogue.cache import CatalogueLoader\nfrom catalogue_copy import NEW_EXAMPLE\n"
        f"folder, intents, content = Path({str(folder)!r}), Path({str(copy.intents)!r}), Path({str(copy.content)!r})\n"
        "loader = CatalogueLoader(folder)\nloader(intents, content)\nassert loader.hits == 1\n"
        "legal = intents / 'public_legal_services.yaml'\noriginal = legal.read_text(encoding='utf-8')\n"
        "legal.write_text(original.replace('    examples:\\n', f'    examples:\\n      - {NEW_EXAMPLE}' + sys.argv[1] + '\\n', 1), encoding='utf-8')\n"
        "try:\n    loader(intents, content)\nfinally:\n    legal.write_text(original, encoding='utf-8')\n"
        "loader.flush()\nassert loader.builds == 1\nprint(loader.reused_rows)\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", script, seed], cwd=root, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": seed})
    return int(done.stdout.strip())


def test_a_new_process_reuses_the_cached_rows_on_reload(tmp_path: Path) -> None:
    copy = CatalogueCopy(tmp_path / "catalogue")
    loader = CatalogueLoader(tmp_path / "cache")
    built = loader(copy.intents, copy.content)
    loader.flush()
    rows = len(built.index)
    # Other hash seeds than this process's: the matcher settings must still compare equal.
    for seed in ("1", "2"):
        assert _reload_in_a_process(tmp_path / "cache", copy, seed) >= rows - 1


def _contents(index: Index) -> dict[str, object]:
    """Everything in an index, as plain values; the learned model as each n-gram's weight per class
    (its column numbers may differ after retraining, and no guess depends on them)."""
    out: dict[str, object] = {}
    for name in Index.__dataclass_fields__:
        value = getattr(index, name)
        if name == "prefilter":
            value = (value.size, value.examples, dict(value.weights),
                     {g: value.rows[g].tolist() for g in value.rows},
                     {g: value.reserved[g].tolist() for g in value.reserved})
        elif name == "learned":
            model = value
            value = (model.classes, model.default.tolist(), model.prior.tolist(), {
                gram: dict(zip(model.posted[model.starts[col]: model.starts[col + 1]].tolist(),
                               model.lift[model.starts[col]: model.starts[col + 1]].tolist(), strict=True))
                for gram, col in model.columns.items()})
        elif isinstance(value, Mapping):
            value = dict(value)
        out[name] = value
    return out


def test_a_reload_that_reuses_rows_builds_what_a_fresh_load_builds(tmp_path: Path) -> None:
    copy = CatalogueCopy(tmp_path / "catalogue")
    loader = CatalogueLoader(tmp_path / "cache")
    first = loader(copy.intents, copy.content)
    loader.flush()
    noun = first.index.foreign[0]  # an everyday noun no example used: the edit makes it used, the restore unused
    edited = f"{NEW_EXAMPLE}{noun}"
    restarted = CatalogueLoader(tmp_path / "cache")  # as `serve` starts: from the cache, then reloads
    assert restarted(copy.intents, copy.content) is not None and restarted.hits == 1
    for edit, used in ((lambda: copy.add_example(edited), True), (copy.restore, False)):
        edit()
        reloaded = restarted(copy.intents, copy.content)
        assert restarted.reused_rows >= len(first.index) - 5
        fresh = load_catalogue(copy.intents, copy.content)
        assert _contents(reloaded.index) == _contents(fresh.index)
        assert (noun in reloaded.index.foreign) is not used
    copy.add_example(edited)
    reply = Engine(restarted(copy.intents, copy.content)).respond("u", edited)
    assert reply.intent == "legal_aid" and reply.confidence == 1.0  # the edited example itself


def test_a_reload_recounts_the_spread_of_a_topic_word_an_edit_starts_using(tmp_path: Path) -> None:
    """Topic words no changed example holds keep their spread; one the new example holds is counted again."""
    copy = CatalogueCopy(tmp_path / "catalogue")
    loader = CatalogueLoader(None)
    first = loader(copy.intents, copy.content).index
    word = next(first.texts[i] for i, n in sorted(first.keyword_spread.items())
                if n == 1 and first.owners[i] != "legal_aid" and len(first.texts[i]) >= 3)
    copy.add_example(f"{NEW_EXAMPLE}顺便问下{word}")
    reloaded = loader(copy.intents, copy.content).index
    fresh = load_catalogue(copy.intents, copy.content).index
    assert dict(reloaded.keyword_spread) == dict(fresh.keyword_spread)
    assert [n for i, n in reloaded.keyword_spread.items() if reloaded.texts[i] == word] == [2]


def test_a_reload_prepares_the_rows_of_changed_intents_only(tmp_path: Path) -> None:
    copy = CatalogueCopy(tmp_path / "catalogue")
    first = load_catalogue(copy.intents, copy.content)
    intents = list(first.intents.values())
    made: list[str] = []

    def prepare(example: str) -> tuple[str, str, str]:
        made.append(example)
        return (example, example, example)

    before = blocks_of(intents, first.out_of_scope, first.followups, prepare, None, {})
    assert len(made) == sum(len(set(i.examples) | set(i.keywords)) for i in intents) + len(
        set(first.out_of_scope)) + len(set(first.followups))
    made.clear()
    changed = replace(intents[1], examples=(*intents[1].examples, NEW_EXAMPLE))
    after = blocks_of([intents[0], changed, *intents[2:]], first.out_of_scope, first.followups, prepare, None,
                      {(b.kind, b.owner): b for b in before})
    rows = list(dict.fromkeys((*changed.examples, *changed.keywords)))  # the changed intent's rows, in order
    assert made == rows and list(after[1].texts) == rows
    assert after[0] is before[0] and all(a is b for a, b in zip(after[2:], before[2:], strict=True))


def test_a_reload_in_one_process_builds_what_a_fresh_load_builds(tmp_path: Path) -> None:
    copy = CatalogueCopy(tmp_path / "catalogue")
    loader = CatalogueLoader(None)  # every reload in this process: the blocks of the one before are reused
    loader(copy.intents, copy.content)
    for edit in (copy.add_example, copy.restore, lambda: copy.add_example(f"{NEW_EXAMPLE}吗")):
        edit()
        reloaded = loader(copy.intents, copy.content)
        assert _contents(reloaded.index) == _contents(load_catalogue(copy.intents, copy.content).index)


def test_grams_with_rows_replaced_give_the_postings_of_grams_made_afresh() -> None:
    keys = ["法律援助", "援助", "律师", "法律", "律师费用", "援助法律", "助"]
    grams = Grams.of(keys, [True] * len(keys))
    for start, end, middle in ((2, 3, ["律法", "援律师"]), (0, 2, []), (5, 7, ["法"]), (3, 3, ["费用律师"])):
        now = keys[:start] + middle + keys[end:]
        replaced = grams.replaced(start, end, middle)
        fresh = Grams.of(now, [True] * len(now))
        assert replaced is not None and replaced.rows == len(now)
        mask = np.array([len(k) > 2 for k in now], dtype=bool)
        for got, want in ((Postings.of(replaced, mask)[0], Postings.of(fresh, mask)[0]),
                          (Postings.of(replaced)[0], Postings.of(fresh)[0])):
            assert {g: got[g].tolist() for g in got} == {g: want[g].tolist() for g in want}
            assert list(got) == list(want)  # the same gram numbers in the same order
        assert replaced.bigrams(mask) == fresh.bigrams(mask)
    assert grams.replaced(1, 2, ["新字"]) is None  # a character no row had: made afresh instead


def test_the_read_ahead_keeps_the_cached_index_in_blocks_for_the_first_reload(tmp_path: Path) -> None:
    copy = CatalogueCopy(tmp_path / "catalogue")
    first = CatalogueLoader(tmp_path / "cache")
    first(copy.intents, copy.content)
    first.flush()
    restarted = CatalogueLoader(tmp_path / "cache")  # as `serve` starts: from the cache, then reads ahead
    cached = restarted(copy.intents, copy.content)
    assert restarted.hits == 1 and kept_of(cached.index) is None
    restarted.read_ahead(copy.intents, copy.content)
    kept = kept_of(cached.index)
    assert kept is not None and [k for b in kept.blocks for k in b.keys] == list(cached.index.keys)
    copy.add_example()
    reloaded = restarted(copy.intents, copy.content)
    assert kept_of(reloaded.index) is not None and kept_of(cached.index) is None  # only the last index's
    assert _contents(reloaded.index) == _contents(load_catalogue(copy.intents, copy.content).index)
