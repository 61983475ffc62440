"""Retraining the learned model from the one before (bot.matching.retrain) gives train()'s model."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from bot.catalogue.cache import CatalogueLoader
from bot.catalogue.loader import Catalogue, load_catalogue
from bot.checks.pytest_plugin import SHIPPED_CONTENT, SHIPPED_INTENTS
from bot.matching.index import learned_documents
from bot.matching.learned import LearnedModel, train
from bot.matching.retrain import retrain
from catalogue_copy import NEW_EXAMPLE, CatalogueCopy

Document = tuple[str, str, str]


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue(SHIPPED_INTENTS, SHIPPED_CONTENT)


def _documents(catalogue: Catalogue) -> list[Document]:
    index = catalogue.index
    return learned_documents(index.kinds, index.owners, index.texts, index.keys, index.foreign)


def _weights(model: LearnedModel) -> dict[str, dict[int, float]]:
    """Each n-gram's weight per class: what the model is, whatever its column numbers."""
    out = {}
    for gram, col in model.columns.items():
        begin, end = model.starts[col], model.starts[col + 1]
        out[gram] = dict(zip(model.posted[begin:end].tolist(), model.lift[begin:end].tolist(), strict=True))
    return out


def _same(got: LearnedModel | None, want: LearnedModel | None, documents: list[Document]) -> None:
    assert got is not None and want is not None
    assert got.classes == want.classes
    assert _weights(got) == _weights(want)
    assert np.array_equal(got.default, want.default) and np.array_equal(got.prior, want.prior)
    for _, core, key in documents[::7]:
        for cut in (3, 8, 40):
            assert got.guesses(core[:cut], key[:cut]) == want.guesses(core[:cut], key[:cut])


def test_retrain_after_edits_equals_training_afresh(shipped: Catalogue) -> None:
    documents = _documents(shipped)
    rng = random.Random(5)
    model, before = shipped.index.learned, documents
    for step in range(6):
        after = list(before)
        for _ in range(rng.randint(1, 6)):
            after.pop(rng.randrange(len(after)))
        for n in range(rng.randint(0, 6)):
            label, core, key = rng.choice(documents)
            after.append((label, f"{core}新词{step}{n}", f"{key}x{step}"))  # new n-grams, some later removed
        after.append(rng.choice(documents))  # the same document twice counts twice
        model = retrain(model, before, after)
        _same(model, train(after), after)
        before = after


def test_unchanged_documents_keep_the_model(shipped: Catalogue) -> None:
    documents = _documents(shipped)
    assert retrain(shipped.index.learned, documents, list(reversed(documents))) is shipped.index.learned


def test_a_new_class_or_many_changes_train_afresh(shipped: Catalogue) -> None:
    documents = _documents(shipped)
    with_class = [*documents, ("brand_new_topic", "全新的话题", "全新的话题")]
    _same(retrain(shipped.index.learned, documents, with_class), train(with_class), with_class)
    half = documents[: len(documents) // 2]
    _same(retrain(shipped.index.learned, documents, half), train(half), half)


def test_reload_through_the_loader_retrains_to_the_fresh_model(tmp_path: Path) -> None:
    copy = CatalogueCopy(tmp_path / "catalogue")
    loader = CatalogueLoader(tmp_path / "cache")
    loader(copy.intents, copy.content)
    loader.flush()
    restarted = CatalogueLoader(tmp_path / "cache")  # a serving process that started from the cache
    assert restarted(copy.intents, copy.content) is not None and restarted.hits == 1
    copy.add_example()
    reloaded = restarted(copy.intents, copy.content)
    restarted.flush()
    fresh = load_catalogue(copy.intents, copy.content)
    assert NEW_EXAMPLE in reloaded.intents["legal_aid"].examples
    _same(reloaded.index.learned, fresh.index.learned, _documents(fresh))
    assert reloaded.index.foreign == fresh.index.foreign  # the nouns learned as out of scope, kept from the cache


def test_a_noun_an_example_starts_using_is_no_longer_learned_as_out_of_scope(tmp_path: Path) -> None:
    copy = CatalogueCopy(tmp_path / "catalogue")
    loader = CatalogueLoader(tmp_path / "cache")
    before = loader(copy.intents, copy.content)
    noun = before.index.foreign[0]
    copy.add_example(f"{noun}的事能申请法律援助吗")
    after = loader(copy.intents, copy.content)
    loader.flush()
    assert noun not in after.index.foreign
    _same(after.index.learned, load_catalogue(copy.intents, copy.content).index.learned, _documents(after))
