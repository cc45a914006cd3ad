"""spacy_bilstm.debate_pooling: a party's line in a debate read from all its
speeches; order-free, weight 0 is the identity, weight 1 the party line."""
import random

import pytest
import spacy

from spacy_bilstm.debate_pooling import (
    choose_pooling_weight,
    party_line_groups,
    pool_debate_stance,
    pool_scores,
)
from spacy_bilstm.errors import InputError


def _cats(p_support: float):
    return {"oppose": 1.0 - p_support, "support": p_support}


def _accuracy(gold, pred):
    return sum(g == p for g, p in zip(gold, pred)) / len(gold)


def test_weight_zero_keeps_each_prediction():
    scores = [_cats(p) for p in (0.9, 0.2, 0.6, 0.45)]
    pooled = pool_scores(scores, ["a", "a", "b", "b"], 0.0)
    for before, after in zip(scores, pooled):
        assert after == pytest.approx(before, abs=1e-9)


def test_weight_one_gives_each_member_the_groups_line():
    # Party A's speeches mostly read as support, one as oppose: at weight 1
    # every A speech gets the geometric mean of the group's probabilities.
    scores = [_cats(p) for p in (0.9, 0.8, 0.3, 0.1)]
    pooled = pool_scores(scores, ["A", "A", "A", "B"], 1.0)
    assert pooled[0] == pytest.approx(pooled[1]) and pooled[1] == pytest.approx(pooled[2])
    assert pooled[2]["support"] > 0.5  # the dissenting reading follows the line
    assert pooled[3] == pytest.approx(scores[3])  # alone in its group
    for cats in pooled:
        assert sum(cats.values()) == pytest.approx(1.0)


def test_documents_without_a_group_keep_their_scores():
    scores = [_cats(p) for p in (0.9, 0.1, 0.2)]
    pooled = pool_scores(scores, [None, None, None], 1.0)
    for before, after in zip(scores, pooled):
        assert after == pytest.approx(before)


def test_pooling_does_not_depend_on_document_order():
    rng = random.Random(0)
    scores = [_cats(rng.random()) for _ in range(40)]
    groups = [rng.choice(["a", "b", "c", None]) for _ in range(40)]
    pooled = pool_scores(scores, groups, 0.5)
    order = list(range(40))
    rng.shuffle(order)
    shuffled = pool_scores([scores[i] for i in order], [groups[i] for i in order], 0.5)
    for position, i in enumerate(order):
        assert shuffled[position] == pytest.approx(pooled[i], abs=1e-12)


def test_zero_probabilities_are_clipped_not_infinite():
    pooled = pool_scores([_cats(1.0), _cats(0.7)], ["a", "a"], 1.0)
    assert all(0.0 < v < 1.0 for cats in pooled for v in cats.values())


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="weight must be between 0 and 1"):
        pool_scores([_cats(0.5)], ["a"], 1.5)
    with pytest.raises(ValueError, match="1 score dicts but 2 groups"):
        pool_scores([_cats(0.5)], ["a", "b"], 0.5)
    with pytest.raises(ValueError, match="document 1 has labels"):
        pool_scores([_cats(0.5), {"FAVOR": 1.0}], ["a", "a"], 0.5)


def test_dev_chooses_pooling_where_the_group_knows_better():
    # Each party follows one line per debate; single speeches are noisy
    # readings of it, right 70% of the time.
    rng = random.Random(1)
    gold, scores, groups = [], [], []
    for debate in range(30):
        for party in ("A", "B"):
            line = rng.choice(["oppose", "support"])
            for _ in range(6):
                right = rng.random() < 0.7
                p_line = 0.65 if right else 0.35
                gold.append(line)
                scores.append({line: p_line, ("support" if line == "oppose" else "oppose"): 1 - p_line})
                groups.append((debate, party))
    weight, results = choose_pooling_weight(gold, scores, groups, _accuracy)
    assert results[0.0] == pytest.approx(_accuracy(gold, [max(c, key=c.get) for c in scores]))
    assert weight > 0.0 and results[weight] > results[0.0] + 0.1


def test_dev_ties_keep_the_smaller_weight():
    gold = ["support", "oppose"]
    scores = [_cats(0.9), _cats(0.1)]
    weight, results = choose_pooling_weight(gold, scores, [None, None], _accuracy)
    assert set(results.values()) == {1.0} and weight == 0.0


@pytest.fixture()
def nlp():
    from spacy_bilstm import install_extensions

    install_extensions()
    return spacy.blank("en")


def _speech(nlp, text, p_support, meta):
    doc = nlp.make_doc(text)
    doc.cats = _cats(p_support)
    doc._.meta = meta
    return doc


def test_pool_debate_stance_sets_cats_and_counts_what_it_could_not_pool(nlp):
    docs = [
        _speech(nlp, "I support the bill.", 0.9, {"group": "d1", "party": "Lab"}),
        _speech(nlp, "This bill is flawed.", 0.4, {"group": "d1", "party": "Lab"}),
        _speech(nlp, "I oppose it.", 0.2, {"group": "d1", "party": "Con"}),
        _speech(nlp, "No party here.", 0.3, {"group": "d1"}),
        _speech(nlp, "No meta at all.", 0.6, None),
    ]
    report = pool_debate_stance(docs, 1.0)
    assert (report.n_docs, report.n_pooled, report.n_alone, report.n_missing, report.n_groups) == (5, 2, 3, 2, 2)
    assert docs[0].cats == pytest.approx(docs[1].cats)
    assert docs[1].cats["support"] > 0.5  # read with the rest of its party
    assert docs[2].cats == pytest.approx(_cats(0.2))
    assert docs[4].cats == pytest.approx(_cats(0.6))


def test_groups_read_custom_meta_keys(nlp):
    docs = [_speech(nlp, "Aye.", 0.5, {"bill": "052", "party": "R"}),
            _speech(nlp, "Nay.", 0.5, {"bill": "", "party": "D"})]
    assert party_line_groups(docs, debate_key="bill") == [("052", "R"), None]


def test_unpredicted_docs_are_refused_with_their_position(nlp):
    docs = [_speech(nlp, "Aye.", 0.5, {"group": "d", "party": "R"}), nlp.make_doc("Not run through a pipeline.")]
    with pytest.raises(InputError, match="document 1 has no predicted cats"):
        pool_debate_stance(docs, 0.5)
