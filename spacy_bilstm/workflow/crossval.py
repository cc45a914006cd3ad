"""k-fold cross-validation of a text classifier against its baselines.

A small corpus's dev split is too small to rank a model against the
party-only rule: with 48 dev speeches, the float reduction order of another
CPU moves macro F1 by 0.1. Cross-validation scores every document once,
each by a model that never saw its debate, so the ranking rests on the whole
corpus. For each fold, `spacy train` trains the config on the other folds
(less an early-stopping split, made the same way) and model-best predicts the
held-out fold; the party-only and majority baselines are fitted on the same
training folds. The pooled predictions are scored once, with a paired
bootstrap interval of the model's lead over party only.
"""
import json
import shutil
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ..corpora.docbins import read_docs
from ..errors import InputError

N_RESAMPLES = 1000


def _write_docs(docs, path: Path) -> None:
    from spacy.tokens import DocBin

    from ..io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        DocBin(docs=docs, store_user_data=True).to_disk(tmp)


def _predict(nlp, docs) -> List[str]:
    """The predicted label of each Doc, read from fresh Docs that carry its
    stance target and metadata (the model reads both)."""
    from ..baselines import gold_label
    from ..components.textcat import with_stance_targets

    contexts = [(doc.text, {"target": doc._.stance_target, "meta": doc._.meta}) for doc in docs]
    return [gold_label(doc) for doc, _ in nlp.pipe(with_stance_targets(nlp, contexts), as_tuples=True, batch_size=64)]


def cross_validate(
    config_path: Union[str, Path],
    data_path: Union[str, Path],
    work_dir: Union[str, Path],
    *,
    n_folds: int = 5,
    seed: int = 0,
    dev_fraction: float = 0.15,
    overrides: Optional[Mapping[str, Any]] = None,
    use_gpu: int = -1,
    group_by: Optional[str] = None,
) -> Dict[str, Any]:
    """Train and score a text classifier by k-fold cross-validation.

    config_path (Union[str, Path]): The training config (e.g. configs/lstm_textcat.cfg);
        its `paths.train` and `paths.dev` are set per fold.
    data_path (Union[str, Path]): All labelled Docs, one DocBin (with `_.meta`:
        "group" keeps debates whole, "party" gives the party-only baseline).
    work_dir (Union[str, Path]): Per-fold data and model-best go under it.
    n_folds (int): The number of folds.
    seed (int): The fold and early-stopping split seed.
    dev_fraction (float): The share of each fold's training part held out to
        pick model-best.
    overrides (Optional[Mapping[str, Any]]): Config overrides, as `spacy train` takes them.
    use_gpu (int): GPU id, or -1 for the CPU.
    group_by (Optional[str]): A meta key naming each doc's group (e.g.
        "debate_id"), used as meta "group"; None: the docs' own "group".
    RETURNS (Dict[str, Any]): Settings, how the folds were made ("folds_by":
        "group" with "n_groups", or "label"/"stratum"), pooled scores of the model and the
        baselines, the paired interval of model minus party only, per-fold
        scores and every document's fold, gold and predicted labels.
    RAISES (InputError): For a missing DocBin or one without labelled Docs.
    """
    import spacy
    from spacy.cli.train import train as spacy_train

    from ..baselines import (
        bootstrap_ci,
        classification_scores,
        gold_label,
        majority_baseline,
        paired_bootstrap,
        party_baseline,
    )
    from ..corpora.splits import doc_folds, doc_group, group_by_meta, split_docs, split_strategy

    data_path, work_dir = Path(data_path), Path(work_dir)
    docs = [doc for doc in read_docs(data_path) if doc.cats]
    if not docs:
        raise InputError("no labelled Docs (doc.cats is empty everywhere)", path=data_path, reason="no_labels")
    if group_by is not None:
        group_by_meta(docs, group_by, data_path)
    folds_by = split_strategy(docs)
    n_groups = len({doc_group(doc) for doc in docs}) if folds_by == "group" else None
    try:
        folds = doc_folds(docs, n_folds, seed)
    except ValueError as err:
        raise InputError(str(err), path=data_path, reason="bad_argument") from err
    gold = [gold_label(doc) for doc in docs]
    labels = sorted({label for doc in docs for label in doc.cats})
    parties = [(doc._.meta or {}).get("party") or None for doc in docs]
    has_party = all(party is not None for party in parties)
    model_pred: List[Optional[str]] = [None] * len(docs)
    party_pred: List[Optional[str]] = [None] * len(docs)
    majority_pred: List[Optional[str]] = [None] * len(docs)
    per_fold = []
    started = time.perf_counter()
    for fold in range(n_folds):
        held_out = [i for i, f in enumerate(folds) if f == fold]
        training = [i for i, f in enumerate(folds) if f != fold]
        fit, stop = split_docs([docs[i] for i in training], dev_fraction, seed)
        fold_dir = work_dir / f"fold-{fold}"
        _write_docs(fit, fold_dir / "train.spacy")
        _write_docs(stop, fold_dir / "dev.spacy")
        print(f"== fold {fold + 1}/{n_folds}: train {len(fit)}, early stopping {len(stop)}, "
              f"held out {len(held_out)} docs", flush=True)
        try:
            spacy_train(
                config_path,
                fold_dir / "model",
                use_gpu=use_gpu,
                overrides={**(overrides or {}), "paths.train": str(fold_dir / "train.spacy"),
                           "paths.dev": str(fold_dir / "dev.spacy")},
            )
        except ValueError as err:
            # A config the model cannot be built or initialised from (thinc's
            # ConfigValidationError is a ValueError too): one line, not a traceback.
            raise InputError(f"cannot train on fold {fold + 1}: {err}", path=config_path, reason="bad_config") from err
        # model-last is not used; the folds' disk use stays at one model each.
        shutil.rmtree(fold_dir / "model" / "model-last", ignore_errors=True)
        nlp = spacy.load(fold_dir / "model" / "model-best")
        predicted = _predict(nlp, [docs[i] for i in held_out])
        train_labels = [gold[i] for i in training]
        majority = majority_baseline(train_labels, len(held_out)).dev_pred
        if has_party:
            party = party_baseline([parties[i] for i in training], train_labels,
                                   [parties[i] for i in held_out]).dev_pred
        for k, i in enumerate(held_out):
            model_pred[i] = predicted[k]
            majority_pred[i] = majority[k]
            if has_party:
                party_pred[i] = party[k]
        fold_scores = classification_scores([gold[i] for i in held_out], predicted, labels)
        per_fold.append({"fold": fold, "n_train": len(fit), "n_stop": len(stop), "n_test": len(held_out),
                         "macro_f": fold_scores["macro_f"], "accuracy": fold_scores["accuracy"]})
        print(f"== fold {fold + 1}/{n_folds}: held-out macro F1 {fold_scores['macro_f']:.3f}", flush=True)
    systems = {"model": model_pred, "majority": majority_pred}
    if has_party:
        systems["party"] = party_pred
    scores: Dict[str, Any] = {}
    for name, pred in systems.items():
        result = classification_scores(gold, pred, labels)
        _, low, high = bootstrap_ci(gold, pred, labels, metric="macro_f", n_resamples=N_RESAMPLES, seed=seed)
        scores[name] = {"macro_f": result["macro_f"], "accuracy": result["accuracy"],
                        "macro_f_ci": [low, high], "per_label": result["per_label"]}
    comparison = None
    if has_party:
        diff, low, high = paired_bootstrap(gold, model_pred, party_pred, labels, metric="macro_f",
                                           n_resamples=N_RESAMPLES, seed=seed)
        comparison = {"macro_f_diff": diff, "ci": [low, high], "model_ahead": low > 0}
    return {
        "data": str(data_path),
        "config": str(config_path),
        "n_docs": len(docs),
        "n_folds": n_folds,
        "seed": seed,
        "folds_by": folds_by,
        "n_groups": n_groups,
        "labels": labels,
        "overrides": {key: value for key, value in (overrides or {}).items()},
        "seconds": round(time.perf_counter() - started, 1),
        "scores": scores,
        "model_vs_party": comparison,
        "folds": per_fold,
        "docs": [
            {"id": (doc._.meta or {}).get("id", i), "fold": folds[i], "gold": gold[i], "model": model_pred[i],
             "party": party_pred[i], "majority": majority_pred[i]}
            for i, doc in enumerate(docs)
        ],
    }


def write_crossval(result: Mapping[str, Any], path: Union[str, Path]) -> None:
    """Write a `cross_validate` result as JSON (atomically).

    result (Mapping[str, Any]): From `cross_validate`.
    path (Union[str, Path]): The JSON file.
    """
    from ..io import atomic_open

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(Path(path), "w") as f:
        json.dump(result, f, indent=2)


def crossval_lines(result: Mapping[str, Any]) -> Sequence[str]:
    """The result in a few plain lines, for the terminal and the report.

    result (Mapping[str, Any]): From `cross_validate`.
    RETURNS (Sequence[str]): One line per system, then the comparison.
    """
    folds_by = result.get("folds_by")
    if folds_by == "group":
        made = f"{result['n_groups']} groups (meta 'group', e.g. debates) kept whole"
    elif folds_by is not None:
        # Speeches of one debate then sit in training and in the held-out fold.
        made = f"stratified by {'meta stratum' if folds_by == 'stratum' else 'label and target'}, no groups"
    lines = [f"{result['n_folds']}-fold cross-validation over {result['n_docs']} documents "
             f"(every document scored once, by a model that never saw its fold"
             f"{'; folds: ' + made if folds_by is not None else ''}):"]
    names = {"model": "model", "party": "party only", "majority": "majority class"}
    for name, label in names.items():
        if name in result["scores"]:
            s = result["scores"][name]
            low, high = s["macro_f_ci"]
            lines.append(f"  {label:<15} macro F1 {s['macro_f']:.3f} [{low:.3f}, {high:.3f}], "
                         f"accuracy {s['accuracy']:.3f}")
    comparison = result.get("model_vs_party")
    if comparison:
        low, high = comparison["ci"]
        verdict = "ahead of" if comparison["model_ahead"] else ("behind" if high < 0 else "within the noise of")
        lines.append(f"  model − party only: {comparison['macro_f_diff']:+.3f} [{low:+.3f}, {high:+.3f}] "
                     f"(paired bootstrap 95%): the model is {verdict} the party-only rule")
    return lines
