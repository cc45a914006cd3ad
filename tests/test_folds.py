"""Cross-validation folds (`corpora.splits`): groups stay whole, folds are
even, every item is in exactly one fold, and the seed alone decides them."""
import random
from collections import Counter

import pytest
import spacy

from spacy_bilstm.corpora import doc_folds, grouped_folds, stratified_folds
from spacy_bilstm.extensions import install_extensions


def _groups(n_groups: int, seed: int):
    rng = random.Random(seed)
    return [(g, i) for g in range(n_groups) for i in range(rng.randint(1, 9))]


@pytest.mark.parametrize("seed", range(5))
def test_grouped_folds_keep_groups_whole_and_even(seed):
    items = _groups(25, seed)
    folds = grouped_folds(items, lambda item: item[0], 5, seed=seed)
    assert len(folds) == len(items) and set(folds) == set(range(5))
    by_group = {}
    for (group, _), fold in zip(items, folds):
        assert by_group.setdefault(group, fold) == fold  # one fold per group
    sizes = Counter(folds).values()
    # Greedy largest-first: no fold exceeds another by more than the largest group (9).
    assert max(sizes) - min(sizes) <= 9


def test_grouped_folds_depend_on_the_seed_and_not_on_item_order():
    items = _groups(25, 0)
    first = grouped_folds(items, lambda item: item[0], 5, seed=0)
    assert grouped_folds(items, lambda item: item[0], 5, seed=0) == first
    assert grouped_folds(items, lambda item: item[0], 5, seed=1) != first
    reordered = list(reversed(items))
    folds = grouped_folds(reordered, lambda item: item[0], 5, seed=0)
    assert dict(zip(reordered, folds)) == dict(zip(items, first))


def test_stratified_folds_spread_each_stratum():
    items = [("FAVOR" if i % 3 else "AGAINST", i) for i in range(100)]
    folds = stratified_folds(items, lambda item: item[0], 4, seed=0)
    sizes = Counter(folds)
    assert max(sizes.values()) - min(sizes.values()) <= 1
    for label in ("FAVOR", "AGAINST"):
        per_fold = Counter(f for item, f in zip(items, folds) if item[0] == label)
        assert max(per_fold.values()) - min(per_fold.values()) <= 1


@pytest.mark.parametrize("n_folds, n_groups", [(1, 5), (6, 5)])
def test_impossible_fold_counts_are_refused(n_folds, n_groups):
    with pytest.raises(ValueError, match="fold"):
        grouped_folds(list(range(n_groups)), lambda item: item, n_folds)


def test_doc_folds_use_the_debate_groups():
    install_extensions()
    nlp = spacy.blank("en")
    docs = []
    for debate in range(6):
        for i in range(3):
            doc = nlp.make_doc(f"speech {i}")
            doc._.meta = {"group": f"debate-{debate}"}
            doc.cats = {"support": 1.0, "oppose": 0.0}
            docs.append(doc)
    folds = doc_folds(docs, 3, seed=0)
    for debate in range(6):
        assert len({folds[3 * debate + i] for i in range(3)}) == 1
    assert sorted(Counter(folds).values()) == [6, 6, 6]


def test_group_by_meta_names_the_groups_and_the_document_without_one():
    from spacy_bilstm.corpora.splits import group_by_meta, split_strategy
    from spacy_bilstm.errors import InputError

    install_extensions()
    nlp = spacy.blank("en")
    docs = []
    for i in range(12):
        doc = nlp.make_doc(f"speech {i}")
        doc._.meta = {"debate_id": f"deb-{i // 4}", "source": "speeches.jsonl", "line": i + 1}
        docs.append(doc)
    # Without "group" the docs are stratified: a debate may fall on both sides.
    assert split_strategy(docs) == "label"
    assert group_by_meta(docs, "debate_id") == 3
    assert split_strategy(docs) == "group"
    assert [d._.meta["group"] for d in docs] == [f"deb-{i // 4}" for i in range(12)]
    folds = doc_folds(docs, 3, seed=0)
    assert all(len({f for d, f in zip(docs, folds) if d._.meta["group"] == g}) == 1 for g in ("deb-0", "deb-1", "deb-2"))
    docs[7]._.meta = {"source": "speeches.jsonl", "line": 8, "debate_id": ""}
    with pytest.raises(InputError) as err:
        group_by_meta(docs, "debate_id")
    assert str(err.value).startswith("speeches.jsonl:8: meta 'debate_id' is missing or empty")
