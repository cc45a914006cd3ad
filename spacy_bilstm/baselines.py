"""Baselines for stance and party classification, and the metrics to compare them.

Pure functions over texts and labels, so that a benchmark can feed them the
same documents (from the same readers and `corpora.split_docs`) as the
`lstm_textcat` variants:

* `majority_baseline` and `party_baseline`: the trivial floors
  (`stance_baselines` fits both to Docs for the workflow's report);
* `tfidf_logreg`: logistic regression on TF-IDF word n-grams;
* `ngram_svm`: a linear SVM on TF-IDF word 1-3-grams plus character
  2-5-grams, one model per stance target (as in the SemEval-2016 Task 6
  baseline), with a pooled model for targets it cannot train on.

Regularisation is tuned on the dev split only: each value of C is trained on
train and scored on dev, and the best one's model also predicts the test
texts. scikit-learn (the `compare` extra) is imported inside the functions,
so importing this module needs only numpy.

Metrics: `classification_scores` (accuracy, macro P/R/F1 and, for SemEval's
labels, the official mean F1 of FAVOR and AGAINST), `bootstrap_ci` (a
percentile interval over documents resampled with a fixed seed, averaging
several seeds' predictions of the same documents) and `paired_bootstrap`
(the interval of a difference between two systems on the same documents).
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Hashable, List, Optional, Sequence, Tuple, Union

import numpy

from .optional import require

FAVOR, AGAINST = "FAVOR", "AGAINST"
METRICS = ("accuracy", "macro_p", "macro_r", "macro_f", "semeval_f")
DEFAULT_CS = (0.01, 0.1, 1.0, 10.0, 100.0)

Labels = Sequence[str]
Scorer = Callable[[Labels, Labels], float]


@dataclass
class BaselineResult:
    """Predictions of one baseline and how it was tuned.

    dev_pred (List[str]): Predicted labels of the dev texts.
    test_pred (List[str]): Predicted labels of the test texts (empty if none).
    params (Dict[str, Any]): The chosen hyperparameters and the dev score of
        every candidate.
    """

    dev_pred: List[str]
    test_pred: List[str] = field(default_factory=list)
    params: Dict[str, Any] = field(default_factory=dict)


# --- documents -------------------------------------------------------------------


@dataclass
class TextData:
    """The fields of labelled Docs that the baselines read, in Doc order.

    texts (List[str]): Doc texts.
    labels (List[str]): Gold labels (the highest-scoring cat; ties to the
        label that sorts first).
    targets (List[Optional[str]]): ``doc._.stance_target``.
    parties (List[Optional[str]]): ``doc._.meta["party"]`` where present.
    """

    texts: List[str]
    labels: List[str]
    targets: List[Optional[str]]
    parties: List[Optional[str]]


def gold_label(doc) -> str:
    """The gold label of a single-label Doc (its highest cat).

    doc (Doc): A Doc from a `corpora.textcat_sources` reader.
    RETURNS (str): The label.
    """
    if not doc.cats:
        raise ValueError("the Doc has no cats")
    return max(sorted(doc.cats), key=lambda label: doc.cats[label])


def text_data(docs: Sequence[Any]) -> TextData:
    """Texts, labels, targets and parties of Docs, for the baselines.

    docs (Sequence[Doc]): Labelled Docs, e.g. one part of `corpora.split_docs`.
    RETURNS (TextData): Their fields, in order.
    """
    return TextData(
        [doc.text for doc in docs],
        [gold_label(doc) for doc in docs],
        [doc._.stance_target for doc in docs],
        [(doc._.meta or {}).get("party") for doc in docs],
    )


def relabel_by_meta(docs: Sequence[Any], key: str, labels: Optional[Sequence[str]] = None) -> Tuple[List[Any], int]:
    """Copies of Docs whose cats are ``doc._.meta[key]`` (e.g. the party).

    Docs without a non-empty value are left out and counted, so a caller can
    report read = used + skipped. Targets and meta are kept on the copies.

    docs (Sequence[Doc]): Labelled Docs.
    key (str): The meta field that becomes the label.
    labels (Optional[Sequence[str]]): The label set; default the sorted values seen.
    RETURNS (Tuple[List[Doc], int]): The relabelled Docs and the number left out.
    """
    values = [str((doc._.meta or {}).get(key) or "") for doc in docs]
    label_set = sorted(set(v for v in values if v)) if labels is None else list(labels)
    out = []
    for doc, value in zip(docs, values):
        if not value:
            continue
        if value not in label_set:
            raise ValueError(f"{key} {value!r} is not among the labels {label_set}")
        copy = doc.copy()
        copy.cats = {label: float(label == value) for label in label_set}
        out.append(copy)
    return out, len(docs) - len(out)


# --- trivial baselines -----------------------------------------------------------


def majority_label(labels: Labels) -> str:
    """The most frequent label; ties go to the label that sorts first.

    labels (Sequence[str]): Gold labels, at least one.
    RETURNS (str): The majority label.
    """
    if not labels:
        raise ValueError("majority_label needs at least one label")
    counts = Counter(labels)
    return min(counts, key=lambda label: (-counts[label], label))


def majority_baseline(train_labels: Labels, n_dev: int, n_test: int = 0) -> BaselineResult:
    """Predict the most frequent training label for every document.

    train_labels (Sequence[str]): Gold labels of the training documents.
    n_dev (int): Number of dev documents.
    n_test (int): Number of test documents.
    RETURNS (BaselineResult): The predictions; params has the label.
    """
    label = majority_label(train_labels)
    return BaselineResult([label] * n_dev, [label] * n_test, {"label": label})


def party_baseline(
    train_parties: Sequence[Hashable],
    train_labels: Labels,
    dev_parties: Sequence[Hashable],
    test_parties: Sequence[Hashable] = (),
) -> BaselineResult:
    """Predict the majority training label of the speaker's party.

    A party not seen in training gets the overall majority label.

    train_parties (Sequence[Hashable]): The party of each training document.
    train_labels (Sequence[str]): Gold labels of the training documents.
    dev_parties (Sequence[Hashable]): The party of each dev document.
    test_parties (Sequence[Hashable]): The party of each test document.
    RETURNS (BaselineResult): The predictions; params maps party to label
        and counts the dev and test documents of unseen parties.
    """
    _check_lengths(train_parties, train_labels)
    overall = majority_label(train_labels)
    by_party: Dict[Hashable, List[str]] = {}
    for party, label in zip(train_parties, train_labels):
        by_party.setdefault(party, []).append(label)
    rule = {party: majority_label(labels) for party, labels in by_party.items()}
    unseen = sum(1 for party in [*dev_parties, *test_parties] if party not in rule)
    return BaselineResult(
        [rule.get(party, overall) for party in dev_parties],
        [rule.get(party, overall) for party in test_parties],
        {"rule": {str(k): v for k, v in sorted(rule.items(), key=lambda kv: str(kv[0]))}, "unseen": unseen},
    )


def rebel_mask(groups: Sequence[Hashable], parties: Sequence[Hashable], labels: Labels) -> List[bool]:
    """Which documents are "rebel" speeches: their label differs from the
    majority label of the speaker's party in the same debate.

    The party-only baseline gets a rebel speech wrong whenever the party's
    line in that debate is its usual one, so scoring the rebels apart shows
    what the text adds. The majority counts every speech of the party in the
    debate, the document itself included; a party whose speeches in a debate
    are tied has no majority there, and none of them is a rebel. Documents
    without a party (None or "") are never rebels.

    groups (Sequence[Hashable]): The debate of each document (``meta["group"]``).
    parties (Sequence[Hashable]): The speaker's party of each document.
    labels (Sequence[str]): Gold labels.
    RETURNS (List[bool]): True for each rebel speech, in document order.
    """
    _check_lengths(groups, labels)
    _check_lengths(parties, labels)
    counts: Dict[Tuple[Hashable, Hashable], Counter] = {}
    for group, party, label in zip(groups, parties, labels):
        counts.setdefault((group, party), Counter())[label] += 1
    line: Dict[Tuple[Hashable, Hashable], Optional[str]] = {}
    for key, counter in counts.items():
        (top, n_top), *rest = counter.most_common()
        line[key] = None if rest and rest[0][1] == n_top else top
    return [
        party not in (None, "") and line[(group, party)] is not None and label != line[(group, party)]
        for group, party, label in zip(groups, parties, labels)
    ]


def stance_baselines(train_docs: Sequence[Any], dev_docs: Sequence[Any]) -> Dict[str, Any]:
    """The majority and party-only baselines, fitted on train and scored on
    dev with the macro F1 of `classification_scores`: the floors the
    workflow's report sets beside a trained stance model.

    Docs without cats cannot be scored and are left out, counted in
    "skipped" so that read = used + skipped.

    train_docs (Sequence[Doc]): Labelled training Docs (`_.meta["party"]` optional).
    dev_docs (Sequence[Doc]): Labelled dev Docs.
    RETURNS (Dict[str, Any]): "labels", "n_dev", "skipped" {"train", "dev"},
        "majority" {"label", "macro_f", "accuracy"} and, when the training
        Docs have parties, "party" {"macro_f", "accuracy", "parties"}.
    RAISES (ValueError): If either side has no labelled Doc.
    """
    train = text_data([doc for doc in train_docs if doc.cats])
    dev = text_data([doc for doc in dev_docs if doc.cats])
    for name, data in (("training", train), ("dev", dev)):
        if not data.labels:
            raise ValueError(f"no labelled {name} Docs (doc.cats is empty everywhere)")
    labels = sorted(set(train.labels) | set(dev.labels))

    def scored(predicted: List[str]) -> Dict[str, float]:
        scores = classification_scores(dev.labels, predicted, labels)
        return {"macro_f": scores["macro_f"], "accuracy": scores["accuracy"]}

    majority = majority_baseline(train.labels, len(dev.labels))
    result: Dict[str, Any] = {
        "labels": labels,
        "n_dev": len(dev.labels),
        "skipped": {"train": len(train_docs) - len(train.labels), "dev": len(dev_docs) - len(dev.labels)},
        "majority": {"label": majority.params["label"], **scored(majority.dev_pred)},
    }
    if any(train.parties):
        # A Doc without a party joins the group of the others without one.
        party = party_baseline([p or None for p in train.parties], train.labels, [p or None for p in dev.parties])
        result["party"] = {**scored(party.dev_pred), "parties": len(party.params["rule"])}
    return result


# --- linear baselines -------------------------------------------------------------


def tfidf_logreg(
    train_texts: Sequence[str],
    train_labels: Labels,
    dev_texts: Sequence[str],
    dev_labels: Labels,
    test_texts: Sequence[str] = (),
    Cs: Sequence[float] = DEFAULT_CS,
    ngram_range: Tuple[int, int] = (1, 2),
    score: Optional[Scorer] = None,
) -> BaselineResult:
    """Logistic regression on TF-IDF word n-grams, C tuned on dev.

    The vectoriser is fitted on the training texts only. Each C is trained on
    train and scored on dev with `score`; the best (the smallest C on a tie)
    predicts dev and test.

    train_texts (Sequence[str]): Training texts.
    train_labels (Sequence[str]): Their gold labels.
    dev_texts (Sequence[str]): Dev texts, for tuning.
    dev_labels (Sequence[str]): Their gold labels.
    test_texts (Sequence[str]): Texts to predict with the chosen model.
    Cs (Sequence[float]): Candidate inverse regularisation strengths.
    ngram_range (Tuple[int, int]): Word n-gram lengths.
    score (Optional[Callable]): score(gold, pred) to maximise on dev;
        default macro F1 over the labels of train and dev.
    RETURNS (BaselineResult): Predictions; params has "C" and "dev_scores".
    """
    require("sklearn", extra="compare", purpose="The TF-IDF logistic regression baseline")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    _check_lengths(train_texts, train_labels)
    _check_lengths(dev_texts, dev_labels)
    score = score or _default_scorer(train_labels, dev_labels)
    vectorizer = TfidfVectorizer(ngram_range=ngram_range, sublinear_tf=True, lowercase=True)
    X_train = vectorizer.fit_transform(train_texts)
    X_dev = vectorizer.transform(dev_texts)
    X_test = vectorizer.transform(test_texts) if len(test_texts) else None

    def fit(C: float):
        if len(set(train_labels)) < 2:
            return _Constant(train_labels[0])
        # lbfgs fits a multinomial model (liblinear would not take 3+ classes)
        # and is deterministic.
        model = LogisticRegression(C=C, solver="lbfgs", max_iter=2000)
        return model.fit(X_train, list(train_labels))

    return _tune(fit, X_dev, dev_labels, X_test, Cs, score)


def ngram_svm(
    train_texts: Sequence[str],
    train_labels: Labels,
    dev_texts: Sequence[str],
    dev_labels: Labels,
    test_texts: Sequence[str] = (),
    train_targets: Optional[Sequence[Optional[str]]] = None,
    dev_targets: Optional[Sequence[Optional[str]]] = None,
    test_targets: Optional[Sequence[Optional[str]]] = None,
    per_target: bool = True,
    Cs: Sequence[float] = DEFAULT_CS,
    score: Optional[Scorer] = None,
) -> BaselineResult:
    """Linear SVM on TF-IDF word 1-3-grams plus character 2-5-grams, C tuned on dev.

    With `per_target` and targets given, each target with at least two
    labels in training gets its own vectoriser and SVM (as in SemEval-2016
    Task 6's baseline); documents of other targets (unseen in training, as
    the motions of HanDeSeT's dev debates are, or with one training label)
    go to a model pooled over all training documents. One C is chosen for
    all models, by `score` over all dev documents.

    train_texts (Sequence[str]): Training texts.
    train_labels (Sequence[str]): Their gold labels.
    dev_texts (Sequence[str]): Dev texts, for tuning.
    dev_labels (Sequence[str]): Their gold labels.
    test_texts (Sequence[str]): Texts to predict with the chosen C.
    train_targets (Optional[Sequence[Optional[str]]]): Target per training text.
    dev_targets (Optional[Sequence[Optional[str]]]): Target per dev text.
    test_targets (Optional[Sequence[Optional[str]]]): Target per test text.
    per_target (bool): Train one model per target where targets are given.
    Cs (Sequence[float]): Candidate regularisation strengths.
    score (Optional[Callable]): score(gold, pred) to maximise on dev;
        default macro F1 over the labels of train and dev.
    RETURNS (BaselineResult): Predictions; params has "C", "dev_scores",
        "targets" (the targets with their own model) and "pooled_dev" /
        "pooled_test" (how many documents the pooled model predicted).
    """
    _check_lengths(train_texts, train_labels)
    _check_lengths(dev_texts, dev_labels)
    score = score or _default_scorer(train_labels, dev_labels)
    use_targets = per_target and train_targets is not None
    if use_targets:
        _check_lengths(train_texts, train_targets)
        dev_targets = list(dev_targets) if dev_targets is not None else [None] * len(dev_texts)
        test_targets = list(test_targets) if test_targets is not None else [None] * len(test_texts)
        _check_lengths(dev_texts, dev_targets)
        _check_lengths(test_texts, test_targets)
        by_target: Dict[str, List[int]] = {}
        for i, target in enumerate(train_targets):
            if target is not None:
                by_target.setdefault(target, []).append(i)
        own = sorted(t for t, idx in by_target.items() if len({train_labels[i] for i in idx}) >= 2)
    else:
        own = []
        dev_targets = [None] * len(dev_texts)
        test_targets = [None] * len(test_texts)
    groups: List[Tuple[Optional[str], List[int], List[int], List[int]]] = []
    for target in own:
        groups.append(
            (
                target,
                [i for i, t in enumerate(train_targets) if t == target],
                [i for i, t in enumerate(dev_targets) if t == target],
                [i for i, t in enumerate(test_targets) if t == target],
            )
        )
    own_set = set(own)
    pooled_dev = [i for i, t in enumerate(dev_targets) if t not in own_set]
    pooled_test = [i for i, t in enumerate(test_targets) if t not in own_set]
    if pooled_dev or pooled_test:
        groups.append((None, list(range(len(train_texts))), pooled_dev, pooled_test))
    # Vectorise each group once; only the SVM changes with C.
    prepared = []
    for target, tr, dv, te in groups:
        features = _svm_features()
        X_tr = features.fit_transform([train_texts[i] for i in tr])
        X_dv = features.transform([dev_texts[i] for i in dv]) if dv else None
        X_te = features.transform([test_texts[i] for i in te]) if te else None
        prepared.append((X_tr, [train_labels[i] for i in tr], dv, X_dv, te, X_te))
    dev_scores: Dict[float, float] = {}
    best: Optional[Tuple[float, float, List[str], List[str]]] = None
    for C in Cs:
        dev_pred = [""] * len(dev_texts)
        test_pred = [""] * len(test_texts)
        for X_tr, y_tr, dv, X_dv, te, X_te in prepared:
            model = _fit_svm(X_tr, y_tr, C)
            for indices, X, out in ((dv, X_dv, dev_pred), (te, X_te, test_pred)):
                if indices:
                    for i, label in zip(indices, model.predict(X)):
                        out[i] = str(label)
        value = score(dev_labels, dev_pred)
        dev_scores[C] = value
        if best is None or value > best[1]:
            best = (C, value, dev_pred, test_pred)
    assert best is not None, "Cs must not be empty"
    return BaselineResult(
        best[2],
        best[3],
        {
            "C": best[0],
            "dev_scores": dev_scores,
            "targets": own,
            "pooled_dev": len(pooled_dev),
            "pooled_test": len(pooled_test),
        },
    )


class _Constant:
    """A model for training data with one label: predicts that label."""

    def __init__(self, label: str) -> None:
        self.label = label

    def predict(self, X) -> List[str]:
        return [self.label] * X.shape[0]


def _svm_features():
    require("sklearn", extra="compare", purpose="The n-gram SVM baseline")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 3), sublinear_tf=True, lowercase=True)),
            ("char", TfidfVectorizer(analyzer="char", ngram_range=(2, 5), sublinear_tf=True, lowercase=True)),
        ]
    )


def _fit_svm(X, labels: Labels, C: float):
    from sklearn.svm import LinearSVC

    if len(set(labels)) < 2:
        return _Constant(labels[0])
    # dual=True suits n_features >> n_samples; random_state fixes liblinear's
    # coordinate order, so equal inputs give equal models.
    return LinearSVC(C=C, dual=True, max_iter=5000, random_state=0).fit(X, list(labels))


def _tune(fit, X_dev, dev_labels: Labels, X_test, Cs: Sequence[float], score: Scorer) -> BaselineResult:
    if not Cs:
        raise ValueError("Cs must not be empty")
    dev_scores: Dict[float, float] = {}
    best_C, best_value, best_model = None, None, None
    for C in Cs:
        model = fit(C)
        value = score(dev_labels, [str(p) for p in model.predict(X_dev)])
        dev_scores[C] = value
        if best_value is None or value > best_value:
            best_C, best_value, best_model = C, value, model
    dev_pred = [str(p) for p in best_model.predict(X_dev)]
    test_pred = [str(p) for p in best_model.predict(X_test)] if X_test is not None else []
    return BaselineResult(dev_pred, test_pred, {"C": best_C, "dev_scores": dev_scores})


def _check_lengths(a: Sequence, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"length mismatch: {len(a)} items but {len(b)} labels/keys")


def _default_scorer(train_labels: Labels, dev_labels: Labels) -> Scorer:
    labels = sorted(set(train_labels) | set(dev_labels))
    return lambda gold, pred: classification_scores(gold, pred, labels)["macro_f"]


# --- metrics -------------------------------------------------------------------------


def classification_scores(gold: Labels, pred: Labels, labels: Labels) -> Dict[str, Any]:
    """Accuracy, macro P/R/F1 and per-label P/R/F1 (0 where undefined).

    With FAVOR and AGAINST among the labels, also "semeval_f": SemEval-2016
    Task 6's measure, the mean F1 of FAVOR and AGAINST.

    gold (Sequence[str]): Gold labels.
    pred (Sequence[str]): Predicted labels, same length.
    labels (Sequence[str]): The label set the macro averages run over.
    RETURNS (Dict[str, Any]): The scores.
    """
    _check_lengths(gold, pred)
    if not gold:
        raise ValueError("classification_scores needs at least one document")
    tp, n_pred, n_gold = _counts(gold, pred, labels, numpy.arange(len(gold))[None, :])
    per = _prf(tp, n_pred, n_gold)
    scores: Dict[str, Any] = {
        "accuracy": sum(1 for g, p in zip(gold, pred) if g == p) / len(gold),
        "macro_p": float(per[0].mean()),
        "macro_r": float(per[1].mean()),
        "macro_f": float(per[2].mean()),
        "per_label": {
            label: {"p": float(per[0][0, k]), "r": float(per[1][0, k]), "f": float(per[2][0, k])}
            for k, label in enumerate(labels)
        },
    }
    if FAVOR in labels and AGAINST in labels:
        scores["semeval_f"] = (scores["per_label"][FAVOR]["f"] + scores["per_label"][AGAINST]["f"]) / 2
    return scores


def bootstrap_ci(
    gold: Labels,
    preds: Union[Labels, Sequence[Labels]],
    labels: Labels,
    metric: str = "macro_f",
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Tuple[float, float, float]:
    """A percentile bootstrap interval of a metric over resampled documents.

    `preds` may be one prediction list or several (e.g. one per training
    seed, all of the same documents): each resample draws documents with
    replacement and scores every prediction list on them; the statistic is
    their mean. The resamples depend only on `seed` and the number of
    documents, so the interval is reproducible.

    gold (Sequence[str]): Gold labels of the test documents.
    preds (Union[Sequence[str], Sequence[Sequence[str]]]): Predictions.
    labels (Sequence[str]): The label set.
    metric (str): One of "accuracy", "macro_p", "macro_r", "macro_f", "semeval_f".
    n_resamples (int): Number of bootstrap resamples.
    level (float): Coverage of the interval, in (0, 1).
    seed (int): Seed of the resampling.
    RETURNS (Tuple[float, float, float]): (point estimate, low, high).
    """
    runs = _as_runs(preds)
    point = float(numpy.mean([_metric(gold, run, labels, metric, None) for run in runs]))
    idx = _resample(len(gold), n_resamples, seed)
    values = numpy.mean([_metric(gold, run, labels, metric, idx) for run in runs], axis=0)
    low, high = numpy.quantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return point, float(low), float(high)


def paired_bootstrap(
    gold: Labels,
    preds_a: Union[Labels, Sequence[Labels]],
    preds_b: Union[Labels, Sequence[Labels]],
    labels: Labels,
    metric: str = "macro_f",
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Tuple[float, float, float]:
    """The bootstrap interval of metric(a) - metric(b) on the same documents.

    Both systems are scored on the same resamples, so the interval reflects
    the difference, not each system's own spread. An interval that contains
    0 means the difference is within the noise of the test set.

    gold (Sequence[str]): Gold labels.
    preds_a (Union[Sequence[str], Sequence[Sequence[str]]]): System A (one or several runs).
    preds_b (Union[Sequence[str], Sequence[Sequence[str]]]): System B (one or several runs).
    labels (Sequence[str]): The label set.
    metric (str): As in `bootstrap_ci`.
    n_resamples (int): Number of bootstrap resamples.
    level (float): Coverage of the interval.
    seed (int): Seed of the resampling.
    RETURNS (Tuple[float, float, float]): (difference, low, high).
    """
    runs_a, runs_b = _as_runs(preds_a), _as_runs(preds_b)
    point = float(
        numpy.mean([_metric(gold, r, labels, metric, None) for r in runs_a])
        - numpy.mean([_metric(gold, r, labels, metric, None) for r in runs_b])
    )
    idx = _resample(len(gold), n_resamples, seed)
    diff = numpy.mean([_metric(gold, r, labels, metric, idx) for r in runs_a], axis=0) - numpy.mean(
        [_metric(gold, r, labels, metric, idx) for r in runs_b], axis=0
    )
    low, high = numpy.quantile(diff, [(1 - level) / 2, 1 - (1 - level) / 2])
    return point, float(low), float(high)


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value).

    values (Sequence[float]): E.g. one score per seed.
    RETURNS (Tuple[float, float]): (mean, std).
    """
    array = numpy.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def _as_runs(preds: Union[Labels, Sequence[Labels]]) -> List[Labels]:
    if preds and not isinstance(preds[0], str):
        return list(preds)  # type: ignore[arg-type]
    return [preds]  # type: ignore[list-item]


def _resample(n: int, n_resamples: int, seed: int) -> numpy.ndarray:
    if n == 0:
        raise ValueError("cannot bootstrap zero documents")
    return numpy.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def _counts(gold: Labels, pred: Labels, labels: Labels, idx: numpy.ndarray):
    index = {label: k for k, label in enumerate(labels)}
    # Labels outside the label set are coded -1: they count as wrong, never as a hit.
    g = numpy.asarray([index.get(x, -1) for x in gold])[idx]
    p = numpy.asarray([index.get(x, -1) for x in pred])[idx]
    tp = numpy.stack([((g == k) & (p == k)).sum(axis=1) for k in range(len(labels))], axis=1)
    n_pred = numpy.stack([(p == k).sum(axis=1) for k in range(len(labels))], axis=1)
    n_gold = numpy.stack([(g == k).sum(axis=1) for k in range(len(labels))], axis=1)
    return tp, n_pred, n_gold


def _prf(tp: numpy.ndarray, n_pred: numpy.ndarray, n_gold: numpy.ndarray):
    with numpy.errstate(divide="ignore", invalid="ignore"):
        p = numpy.where(n_pred > 0, tp / numpy.maximum(n_pred, 1), 0.0)
        r = numpy.where(n_gold > 0, tp / numpy.maximum(n_gold, 1), 0.0)
        f = numpy.where(p + r > 0, 2 * p * r / numpy.where(p + r > 0, p + r, 1.0), 0.0)
    return p, r, f


def _metric(gold: Labels, pred: Labels, labels: Labels, metric: str, idx: Optional[numpy.ndarray]):
    """The metric on the full set (idx None, a float) or per resample (an array)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    _check_lengths(gold, pred)
    rows = numpy.arange(len(gold))[None, :] if idx is None else idx
    tp, n_pred, n_gold = _counts(gold, pred, labels, rows)
    if metric == "accuracy":
        g = numpy.asarray(gold, dtype=object)[rows]
        values = (g == numpy.asarray(pred, dtype=object)[rows]).mean(axis=1)
    else:
        p, r, f = _prf(tp, n_pred, n_gold)
        if metric == "semeval_f":
            if FAVOR not in labels or AGAINST not in labels:
                raise ValueError("semeval_f needs FAVOR and AGAINST among the labels")
            ks = [list(labels).index(FAVOR), list(labels).index(AGAINST)]
            values = f[:, ks].mean(axis=1)
        else:
            values = {"macro_p": p, "macro_r": r, "macro_f": f}[metric].mean(axis=1)
    return float(values[0]) if idx is None else values
