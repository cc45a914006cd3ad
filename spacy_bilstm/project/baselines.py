"""Stance baselines that a classifier must beat: the majority class, and the
majority class of the speaker's party (on political corpora party predicts
stance partly, so a model that only reads the party name is no better).

Both are fitted on the training DocBin and scored on the dev DocBin with the
macro-averaged F1 over the label set, as spaCy's `cats_macro_f` is.
"""
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from spacy.tokens import Doc

from ..errors import InputError


def gold_label(doc: Doc) -> Optional[str]:
    """The single gold label of an exclusive-class Doc (None if none is set)."""
    positive = [label for label, value in sorted(doc.cats.items()) if value >= 0.5]
    return positive[0] if len(positive) == 1 else None


def party_of(doc: Doc) -> str:
    """The speaker's party from ``doc._.meta["party"]``, or "" if unknown."""
    party = (doc._.meta or {}).get("party")
    return str(party) if party else ""


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Macro-averaged F1 over `labels` (a label never predicted nor gold scores 0).

    gold (Sequence[str]): The gold labels.
    predicted (Sequence[str]): The predicted labels, aligned with `gold`.
    labels (Sequence[str]): The label set.
    RETURNS (float): The mean of the per-label F1 scores, 0-1.
    """
    total = 0.0
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted) if g == label and p != label)
        total += 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return total / len(labels) if labels else 0.0


def read_docs(path: Path) -> List[Doc]:
    """All Docs of a DocBin, with their `_.meta` and stance targets.

    path (Path): The .spacy file.
    RETURNS (List[Doc]): The Docs, in file order.
    RAISES (InputError): If the file does not exist.
    """
    import spacy
    from spacy.tokens import DocBin

    from ..extensions import install_extensions

    if not path.is_file():
        raise InputError("DocBin not found", path=path, reason="missing_file")
    install_extensions()
    return list(DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab))


def stance_baselines(train_path: Union[str, Path], dev_path: Union[str, Path]) -> Dict[str, object]:
    """Majority and party-only baselines, fitted on train, scored on dev.

    train_path (Union[str, Path]): Training DocBin (labelled, `_.meta["party"]` optional).
    dev_path (Union[str, Path]): Dev DocBin.
    RETURNS (Dict[str, object]): "labels", "n_dev", "majority" {"label",
        "macro_f", "accuracy"} and, when the Docs have parties, "party"
        {"macro_f", "accuracy", "parties"}.
    RAISES (InputError): If a file is missing or has no labelled Docs.
    """
    train = [(doc, gold_label(doc)) for doc in read_docs(Path(train_path))]
    dev = [(doc, gold_label(doc)) for doc in read_docs(Path(dev_path))]
    train = [(doc, label) for doc, label in train if label is not None]
    dev = [(doc, label) for doc, label in dev if label is not None]
    for path, docs in ((train_path, train), (dev_path, dev)):
        if not docs:
            raise InputError("no Docs with exactly one gold label", path=path, reason="no_labels")
    labels = sorted({label for _, label in train} | {label for _, label in dev})
    counts = Counter(label for _, label in train)
    # Ties go to the alphabetically first label, so the result is deterministic.
    majority = min(counts, key=lambda label: (-counts[label], label))
    gold = [label for _, label in dev]

    def scored(predicted: List[str]) -> Dict[str, float]:
        accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold)
        return {"macro_f": macro_f1(gold, predicted, labels), "accuracy": accuracy}

    result: Dict[str, object] = {
        "labels": labels,
        "n_dev": len(dev),
        "majority": {"label": majority, **scored([majority] * len(dev))},
    }
    if any(party_of(doc) for doc, _ in train):
        by_party: Dict[str, Counter] = {}
        for doc, label in train:
            by_party.setdefault(party_of(doc), Counter())[label] += 1
        party_majority = {
            party: min(c, key=lambda label: (-c[label], label)) for party, c in by_party.items()
        }
        predicted = [party_majority.get(party_of(doc), majority) for doc, _ in dev]
        result["party"] = {**scored(predicted), "parties": len(by_party)}
    return result
