"""Linear baselines, their tuning on dev, the metrics and bootstrap intervals,
and that the baselines see the same documents as `lstm_textcat`."""
import json
import random

import pytest
import spacy
from spacy.tokens import DocBin

pytest.importorskip("sklearn")

from sklearn.metrics import f1_score, precision_score, recall_score  # noqa: E402

from spacy_bilstm.baselines import (  # noqa: E402
    bootstrap_ci,
    classification_scores,
    majority_baseline,
    mean_std,
    ngram_svm,
    paired_bootstrap,
    party_baseline,
    relabel_by_meta,
    text_data,
    tfidf_logreg,
)
from spacy_bilstm.corpora import read_textcat_jsonl, split_docs  # noqa: E402
from spacy_bilstm.corpora.spacy_readers import create_stance_corpus  # noqa: E402


def flipped_targets(n_per_cell: int, seed: int):
    """Tweets whose cue word means FAVOR for target A and AGAINST for target B.

    A pooled model cannot separate them (the words are shared); a model per
    target can.
    """
    rng = random.Random(seed)
    filler = ["the", "a", "today", "people", "really", "news", "think", "vote"]
    texts, labels, targets = [], [], []
    for target, mapping in (("A", {"up": "FAVOR", "down": "AGAINST"}), ("B", {"up": "AGAINST", "down": "FAVOR"})):
        for cue, label in mapping.items():
            for _ in range(n_per_cell):
                words = rng.sample(filler, 4) + [cue]
                rng.shuffle(words)
                texts.append(" ".join(words))
                labels.append(label)
                targets.append(target)
    return texts, labels, targets


LABELS = ["AGAINST", "FAVOR", "NONE"]


def test_svm_per_target_beats_pooled_and_majority():
    train = flipped_targets(12, seed=0)
    dev = flipped_targets(5, seed=1)
    test = flipped_targets(5, seed=2)
    kwargs = dict(test_texts=test[0], train_targets=train[2], dev_targets=dev[2], test_targets=test[2])
    per_target = ngram_svm(train[0], train[1], dev[0], dev[1], per_target=True, **kwargs)
    pooled = ngram_svm(train[0], train[1], dev[0], dev[1], per_target=False, **kwargs)
    majority = majority_baseline(train[1], len(dev[0]), len(test[0]))
    score = {
        name: classification_scores(test[1], result.test_pred, LABELS)["semeval_f"]
        for name, result in (("per_target", per_target), ("pooled", pooled), ("majority", majority))
    }
    assert score["per_target"] == 1.0
    assert score["per_target"] > score["pooled"]
    assert score["per_target"] > score["majority"]
    assert per_target.params["targets"] == ["A", "B"]
    assert (per_target.params["pooled_dev"], per_target.params["pooled_test"]) == (0, 0)


def test_svm_unseen_target_goes_to_pooled_model():
    train = flipped_targets(6, seed=0)
    dev_texts, dev_labels = ["vote up", "vote down"], ["FAVOR", "AGAINST"]
    result = ngram_svm(
        train[0], train[1], dev_texts, dev_labels, train_targets=train[2], dev_targets=["C", "A"]
    )
    assert (result.params["pooled_dev"], len(result.dev_pred)) == (1, 2)
    assert result.dev_pred[1] == "AGAINST"


@pytest.mark.parametrize("baseline", ["logreg", "svm"])
def test_C_is_chosen_on_dev_only(baseline):
    train = flipped_targets(8, seed=0)
    dev = flipped_targets(3, seed=1)
    seen = []

    def score(gold, pred):
        seen.append(list(gold))
        return classification_scores(gold, pred, LABELS)["macro_f"] + 0.0

    def run(test_texts):
        if baseline == "logreg":
            return tfidf_logreg(train[0], train[1], dev[0], dev[1], test_texts=test_texts, Cs=(0.01, 1.0, 100.0), score=score)
        return ngram_svm(
            train[0], train[1], dev[0], dev[1], test_texts=test_texts, train_targets=train[2],
            dev_targets=dev[2], test_targets=["A"] * len(test_texts), Cs=(0.01, 1.0, 100.0), score=score,
        )

    with_test = run(["up up up"] * 7)
    assert all(gold == dev[1] for gold in seen) and len(seen) == 3
    without_test = run([])
    # The choice cannot depend on the test texts, only on dev.
    assert with_test.params == without_test.params
    assert with_test.dev_pred == without_test.dev_pred
    assert with_test.params["C"] == max(with_test.params["dev_scores"], key=lambda C: (with_test.params["dev_scores"][C], -C))
    assert len(with_test.test_pred) == 7 and without_test.test_pred == []


def test_tfidf_logreg_separates_words():
    texts = ["good fine great", "great good", "fine good nice", "bad awful", "awful terrible bad", "bad worse"]
    labels = ["pos", "pos", "pos", "neg", "neg", "neg"]
    result = tfidf_logreg(texts, labels, ["nice good", "terrible"], ["pos", "neg"], test_texts=["great", "awful"])
    assert result.dev_pred == ["pos", "neg"] and result.test_pred == ["pos", "neg"]
    assert set(result.params["dev_scores"]) == {0.01, 0.1, 1.0, 10.0, 100.0}
    texts3 = texts + ["maybe perhaps", "perhaps unsure", "unsure maybe so"]
    labels3 = labels + ["none"] * 3
    result = tfidf_logreg(texts3, labels3, ["good", "awful", "perhaps"], ["pos", "neg", "none"], Cs=(10.0,))
    assert result.dev_pred == ["pos", "neg", "none"]


def test_majority_and_party_baselines():
    assert majority_baseline(["b", "a", "b", "a"], 2, 1).dev_pred == ["a", "a"]  # ties: first sorted
    result = party_baseline(["L", "L", "C", "C", "C"], ["y", "y", "n", "n", "y"], ["C", "L", "X"], ["L"])
    assert result.dev_pred == ["n", "y", "y"]  # unseen X: overall majority and result.test_pred == ["y"]
    assert result.params["unseen"] == 1


def test_scores_match_sklearn():
    rng = random.Random(3)
    gold = [rng.choice(LABELS) for _ in range(200)]
    pred = [g if rng.random() < 0.6 else rng.choice(LABELS) for g in gold]
    scores = classification_scores(gold, pred, LABELS)
    assert scores["macro_f"] == pytest.approx(f1_score(gold, pred, labels=LABELS, average="macro"))
    assert scores["macro_p"] == pytest.approx(precision_score(gold, pred, labels=LABELS, average="macro"))
    assert scores["macro_r"] == pytest.approx(recall_score(gold, pred, labels=LABELS, average="macro"))
    per = f1_score(gold, pred, labels=["FAVOR", "AGAINST"], average=None)
    assert scores["semeval_f"] == pytest.approx(per.mean())


def test_bootstrap_interval_contains_point_and_is_deterministic():
    rng = random.Random(4)
    gold = [rng.choice(LABELS) for _ in range(150)]
    runs = [[g if rng.random() < 0.7 else rng.choice(LABELS) for g in gold] for _ in range(3)]
    for metric in ("accuracy", "macro_f", "semeval_f"):
        point, low, high = bootstrap_ci(gold, runs[0], LABELS, metric=metric, n_resamples=300)
        assert low <= point <= high and low < high
        assert point == pytest.approx(classification_scores(gold, runs[0], LABELS)[metric])
        assert bootstrap_ci(gold, runs[0], LABELS, metric=metric, n_resamples=300) == (point, low, high)
        assert bootstrap_ci(gold, runs[0], LABELS, metric=metric, n_resamples=300, seed=1) != (point, low, high)
    point, low, high = bootstrap_ci(gold, runs, LABELS, n_resamples=300)
    mean, std = mean_std([classification_scores(gold, run, LABELS)["macro_f"] for run in runs])
    assert point == pytest.approx(mean) and low <= point <= high and std > 0


def test_paired_bootstrap_tells_noise_from_difference():
    rng = random.Random(5)
    gold = [rng.choice(LABELS) for _ in range(300)]
    good = [g if rng.random() < 0.9 else rng.choice(LABELS) for g in gold]
    bad = [g if rng.random() < 0.3 else rng.choice(LABELS) for g in gold]
    diff, low, high = paired_bootstrap(gold, good, bad, LABELS, n_resamples=300)
    assert 0 < low <= diff <= high
    assert paired_bootstrap(gold, good, good, LABELS, n_resamples=300) == (0.0, 0.0, 0.0)


def test_baselines_and_lstm_textcat_see_identical_docs(tmp_path):
    """From one reader and one split, the baselines' texts and labels equal
    what `lstm_textcat` trains and is scored on via StanceCorpus DocBins."""
    rng = random.Random(6)
    records = []
    for i in range(40):
        records.append(
            {
                "text": f"Speech {i} says {rng.choice(['yes', 'no', 'maybe'])} to motion {i % 5}.",
                "label": rng.choice(["support", "oppose"]),
                "target": f"motion {i % 5}",
                "meta": {"group": f"debate{i % 8}", "party": rng.choice(["Lab", "Con"])},
            }
        )
    path = tmp_path / "speeches.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf8")
    nlp = spacy.blank("en")
    docs = list(read_textcat_jsonl(path, nlp))
    train, dev = split_docs(docs, 0.25, seed=0)
    # Debates stay whole: no group on both sides.
    assert not {d._.meta["group"] for d in train} & {d._.meta["group"] for d in dev}
    for part_name, part in (("train", train), ("dev", dev)):
        for task_docs in (part, relabel_by_meta(part, "party", labels=["Con", "Lab"])[0]):
            baseline = text_data(task_docs)
            bin_path = tmp_path / f"{part_name}-{len(baseline.texts)}-{baseline.labels[0]}.spacy"
            DocBin(docs=task_docs, store_user_data=True).to_disk(bin_path)
            examples = list(create_stance_corpus(bin_path)(nlp))
            assert [eg.predicted.text for eg in examples] == baseline.texts
            seen = text_data([eg.reference for eg in examples])
            assert seen.labels == baseline.labels
            assert [eg.predicted._.stance_target for eg in examples] == baseline.targets
            assert seen.parties == baseline.parties


def test_relabel_by_party_counts_missing(tmp_path):
    lines = [
        {"text": "a", "label": "y", "meta": {"party": "D"}},
        {"text": "b", "label": "n", "meta": {"party": ""}},
        {"text": "c", "label": "n", "meta": {"party": "R"}},
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in lines), encoding="utf8")
    docs = list(read_textcat_jsonl(path, spacy.blank("en")))
    relabelled, missing = relabel_by_meta(docs, "party")
    assert missing == 1
    assert [d.cats for d in relabelled] == [{"D": 1.0, "R": 0.0}, {"D": 0.0, "R": 1.0}]
    assert docs[0].cats == {"n": 0.0, "y": 1.0}  # the originals are untouched


def test_rebel_mask_marks_speeches_against_the_party_line_in_their_debate():
    from spacy_bilstm.baselines import rebel_mask

    groups = ["d1", "d1", "d1", "d1", "d2", "d2", "d2"]
    parties = ["Lab", "Lab", "Lab", "Con", "Lab", "Lab", "Con"]
    labels = ["yes", "yes", "no", "no", "no", "no", "no"]
    # d1: Labour's line is yes, so the one Labour "no" rebels; the lone
    # Conservative is its own party's line. d2: Labour votes no, with no rebel.
    assert rebel_mask(groups, parties, labels) == [False, False, True, False, False, False, False]


def test_rebel_mask_has_no_rebels_where_a_party_is_split_evenly_or_has_no_party():
    from spacy_bilstm.baselines import rebel_mask

    groups = ["d1", "d1", "d1", "d1"]
    parties = ["Lab", "Lab", None, None]
    labels = ["yes", "no", "yes", "no"]
    assert rebel_mask(groups, parties, labels) == [False, False, False, False]


def test_rebel_mask_rejects_fields_of_different_lengths():
    from spacy_bilstm.baselines import rebel_mask

    with pytest.raises(ValueError, match="length mismatch"):
        rebel_mask(["d1"], ["Lab", "Con"], ["yes"])
