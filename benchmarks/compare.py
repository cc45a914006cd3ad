"""Issue 8: linear baselines, seeds and intervals, party classification, ablations.

One run writes `benchmarks/COMPARISON.md` and two plots
(`comparison_systems.png`, `comparison_ablations.png`):

    python benchmarks/compare.py                      # (spacy project run compare)
    python benchmarks/compare.py --seeds 3 --budget 60
    python benchmarks/compare.py --quick              # smoke test, tiny data, own output folder

Tasks: stance on HanDeSeT, ConVote and SemEval-2016, and the speaker's party
from the speech text on HanDeSeT and ConVote. Systems: majority class,
party only (stance), TF-IDF word 1-2-gram logistic regression, linear SVM on
word 1-3-grams plus character 2-5-grams (one per target where the data has
targets, as in SemEval's baseline), and the `lstm_textcat` variants, each
neural one trained with `--seeds` seeds. A compact ablation of the BiLSTM
(embeddings, cell, direction, width, dropout) runs on one corpus.

Protocol. Corpora, splits, configs and GloVe come from `stance_systems.py`
(imported, not copied): `split_docs(docs, 0.2, seed=0)` gives train and
test -- grouped by debate for HanDeSeT and ConVote (debates stay whole), by
target and label for SemEval -- and 15% of train, split the same way, is
the dev split. Linear baselines tune C on dev; neural systems keep their
best epoch on dev; this script uses test only for the reported numbers.
But the shipped defaults of `configs/lstm_textcat.cfg` (the party with its
prior, the char n-gram partner, per-target weights) were chosen in
`bench_textcat.py` runs whose "dev" split is this test split (RESULTS.md,
"Stance defaults"): the test rows of the shipped configuration are not
independent of that choice, and the held-out sets outside this repository
are the independent check. The party task relabels the very same split
documents with `meta["party"]`.

Per system: mean +- std of the per-seed test scores, a bootstrap 95%
interval (documents resampled 1000 times with seed 0, the seeds' scores
averaged per resample), and a paired bootstrap interval of the difference
to the best system on the same task; a difference whose interval contains 0
is within the noise of the test set.
"""
import argparse
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import stance_systems as systems
from common import ROOT, WORK, command_line, machine_description, today

from spacy_bilstm.baselines import gold_label
from spacy_bilstm.corpora.docbins import read_docs
from spacy_bilstm.debate_pooling import party_line_groups

OUT_DIR = WORK / "compare"
REPORT = ROOT / "benchmarks" / "COMPARISON.md"
TASKS: List[Tuple[str, str]] = [
    ("handeset", "stance"),
    ("convote", "stance"),
    ("semeval", "stance"),
    ("handeset", "party"),
    ("convote", "party"),
]
LINEAR = ["majority", "party", "tfidf_logreg", "ngram_svm"]
NEURAL = [
    "mean_embed", "lstm", "bilstm", "bilstm_target",
    "bilstm_ngram", "bilstm_target_ngram", "bilstm_ngram_party", "bilstm_target_ngram_party",
]
# Rows derived from a trained system's runs without training: its predicted
# probabilities pooled over the speeches of the same party in the same debate
# (pooled_runs). They read the party (as a grouping), so they count as
# text + party in the targets.
POOLED = {
    "bilstm_ngram": "bilstm_ngram_pooled",
    "bilstm_ngram_party": "bilstm_ngram_party_pooled",
}
NEURAL += list(POOLED.values())
# The main comparison: the shipped model (BiLSTM + char n-gram partner, with
# the target where the corpus has one) reading the text only, and reading the
# text and the speaker's party. The plain BiLSTMs are ablation rows now.
DEFAULT_NEURAL = ["bilstm_ngram", "bilstm_target_ngram", "bilstm_ngram_party", "bilstm_target_ngram_party"]
# Peers every neural row is paired with on the same test documents.
PEERS = {"ngram_svm": "vs SVM", "party": "vs party only"}
LABELS = {
    **systems.LABELS,
    "tfidf_logreg": "TF-IDF word 1-2-gram logistic regression",
    "ngram_svm": "linear SVM, word 1-3 + char 2-5-grams",
    "bilstm_ngram_pooled": "BiLSTM + char n-grams, pooled by debate and party",
    "bilstm_ngram_party_pooled": "BiLSTM + char n-grams + party, pooled by debate and party",
}
MODEL = "components.lstm_textcat.model."
# Each ablation changes one setting of the main comparison's BiLSTM on the
# ablation corpus (stance_systems' settings for that corpus, e.g. fine-tuned
# GloVe and dropout 0.5 on SemEval). A variant that equals the reference in
# every setting it names is not run again: the reference row is that run.
ABLATIONS: Dict[str, Tuple[str, Dict[str, Any]]] = {
    "emb_random": ("embeddings: random (no GloVe)", {"static_vectors": None}),
    "emb_glove_frozen": ("embeddings: GloVe, frozen", {"static_vectors": dict(systems.GLOVE_VECTORS, finetune=False)}),
    "emb_glove_init": ("embeddings: GloVe-initialised, fine-tuned",
                       {"static_vectors": dict(systems.GLOVE_VECTORS, finetune=True)}),
    "cell_gru": ("cell: GRU", {"cell": "gru"}),
    "cell_rnn": ("cell: Elman RNN", {"cell": "rnn"}),
    "unidirectional": ("unidirectional", {"bidirectional": False}),
    "width_32": ("width 32", {"hidden_width": 32}),
    "width_128": ("width 128", {"hidden_width": 128}),
    "dropout_0": ("dropout 0.0", {"dropout": 0.0}),
    "dropout_0.3": ("dropout 0.3", {"dropout": 0.3}),
    "dropout_0.5": ("dropout 0.5", {"dropout": 0.5}),
}


def reference_model(corpus: str) -> Dict[str, Any]:
    """The BiLSTM's model settings on `corpus`, as the main comparison trains it."""
    return dict(_reference_model(corpus))


@functools.lru_cache(maxsize=None)
def _reference_model(corpus: str) -> Dict[str, Any]:
    # Read once per corpus: every ablation row's label asks for it.
    config = systems.system_config(corpus, "bilstm", Path("vectors"), [])
    return dict(config["components"]["lstm_textcat"]["model"])


def reference_label(corpus: str) -> str:
    """Describe the reference BiLSTM by its effective settings."""
    model = reference_model(corpus)
    if not model["static_vectors"]:
        embeddings = "random embeddings"
    else:
        embeddings = "GloVe fine-tuned" if model["static_vectors"]["finetune"] else "GloVe frozen"
    direction = "bidirectional" if model["bidirectional"] else "unidirectional"
    return (f"reference: {embeddings}, {model['cell'].upper()}, {direction}, width {model['hidden_width']}, "
            f"dropout {model['dropout']}")


def ablation_variants(corpus: str, names: List[str]) -> List[str]:
    """The variants that differ from the reference BiLSTM on `corpus`."""
    model = reference_model(corpus)
    return [
        name for name in names
        if name != "reference" and any(model.get(key) != value for key, value in ABLATIONS[name][1].items())
    ]


def ablation_label(entry: Dict, corpus: str) -> str:
    return ABLATIONS[entry["variant"]][0] if entry["variant"] else reference_label(corpus)


QUICK_SIZES = {"fit": 80, "stop": 40, "dev": 60}
QUICK_CS = (0.1, 1.0, 10.0)
N_RESAMPLES = 1000


# --- data ---------------------------------------------------------------------


def task_paths(corpus: str, task: str, quick: bool) -> Dict[str, Path]:
    """DocBins of the train ("fit"), dev ("stop") and test ("dev") parts of a
    task, built from stance_systems' split (cached)."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from spacy_bilstm.baselines import relabel_by_meta
    from spacy_bilstm.io import atomic_path

    stance = systems.prepare_data(corpus)
    if task == "stance" and not quick:
        return stance
    out = OUT_DIR / ("data-quick" if quick else "data") / f"{corpus}_{task}"
    paths = {name: out / f"{name}.spacy" for name in stance}
    if all(path.exists() for path in paths.values()):
        return paths
    vocab = Vocab()
    parts = {name: read_docs(path, vocab) for name, path in stance.items()}
    if quick:
        # The first documents of each part: still whole debates' worth of
        # the same split, just fewer.
        parts = {name: docs[: QUICK_SIZES[name]] for name, docs in parts.items()}
    if task == "party":
        parties = sorted({(d._.meta or {}).get("party") or "" for docs in parts.values() for d in docs} - {""})
        relabelled = {}
        for name, docs in parts.items():
            relabelled[name], missing = relabel_by_meta(docs, "party", labels=parties)
            if missing:
                print(f"[{corpus}/party] {name}: {missing} of {len(docs)} documents have no party, left out")
        parts = relabelled
    for name, docs in parts.items():
        with atomic_path(paths[name]) as tmp:
            DocBin(docs=docs, store_user_data=True).to_disk(tmp)
    return paths


def primary_metric(corpus: str, task: str) -> str:
    return "semeval_f" if (corpus, task) == ("semeval", "stance") else "macro_f"


# --- linear baselines -----------------------------------------------------------------


def run_linear(corpus: str, task: str, quick: bool) -> List[Dict]:
    """All linear and trivial baselines of one task, with test predictions."""
    from spacy.vocab import Vocab

    from spacy_bilstm.baselines import (
        DEFAULT_CS,
        classification_scores,
        majority_baseline,
        ngram_svm,
        party_baseline,
        text_data,
        tfidf_logreg,
    )

    paths = task_paths(corpus, task, quick)
    vocab = Vocab()
    docs = {name: read_docs(path, vocab) for name, path in paths.items()}
    train, dev, test = (text_data(docs[name]) for name in ("fit", "stop", "dev"))
    labels = sorted(docs["fit"][0].cats)
    metric = primary_metric(corpus, task)

    def score(gold, pred):
        return classification_scores(gold, pred, labels)[metric]

    Cs = QUICK_CS if quick else DEFAULT_CS
    has_targets = any(t is not None for t in train.targets)
    results = []
    for system in LINEAR:
        start = time.perf_counter()
        if system == "majority":
            result = majority_baseline(train.labels, len(dev.texts), len(test.texts))
        elif system == "party":
            if task != "stance" or any(p is None for p in train.parties + dev.parties + test.parties):
                continue
            result = party_baseline(train.parties, train.labels, dev.parties, test.parties)
        elif system == "tfidf_logreg":
            result = tfidf_logreg(train.texts, train.labels, dev.texts, dev.labels, test.texts, Cs=Cs, score=score)
        else:
            result = ngram_svm(
                train.texts, train.labels, dev.texts, dev.labels, test.texts,
                train_targets=train.targets, dev_targets=dev.targets, test_targets=test.targets,
                per_target=has_targets, Cs=Cs, score=score,
            )
        params = {k: v for k, v in result.params.items() if k not in ("rule", "targets")}
        results.append(
            {
                "corpus": corpus, "task": task, "system": system, "variant": "",
                "labels": labels, "gold": test.labels, "seeds": [None], "preds": [result.test_pred],
                "train_s": [round(time.perf_counter() - start, 1)], "params": params,
            }
        )
        print(f"[{corpus}/{task}] {system}: {json.dumps(params)}", flush=True)
    return results


# --- neural systems ----------------------------------------------------------------------


def fit_seeded(
    config, fit_path: Path, stop_path: Path, seed: int, max_epochs: int, patience: int, metric: str, tag: str = ""
):
    """Train a pipeline from `config` with one seed: the seed goes into the
    weight init (`training.seed`), dropout and the shuffle order. Each epoch
    is scored on the dev DocBin; the best epoch's weights are kept.

    RETURNS (Tuple[Language, Dict]): The pipeline and its training record.
    """
    import random

    from spacy.training import Example
    from spacy.training.initialize import init_nlp
    from spacy.util import fix_random_seed, registry

    from spacy_bilstm.baselines import classification_scores

    config["training"]["seed"] = seed
    config["paths"]["train"] = str(fit_path)
    config["paths"]["dev"] = str(stop_path)
    if "corpora" in config and "train" in config["corpora"]:
        config["corpora"]["train"]["path"] = str(fit_path)
        config["corpora"]["dev"]["path"] = str(stop_path)
    fix_random_seed(seed)
    nlp = init_nlp(config)
    T = registry.resolve(nlp.config["training"], schema=None)
    optimizer, batcher, dropout = T["optimizer"], T["batcher"], T["dropout"]
    fit = [Example(systems.copy_with_user_data(nlp, d), d) for d in read_docs(fit_path, nlp.vocab)]
    stop = read_docs(stop_path, nlp.vocab)
    labels = sorted(fit[0].reference.cats)
    rng = random.Random(seed)
    start = time.perf_counter()
    best, best_bytes, best_epoch, curve = -1.0, None, 0, []
    for epoch in range(1, max_epochs + 1):
        rng.shuffle(fit)
        for batch in batcher(fit):
            nlp.update(batch, sgd=optimizer, drop=dropout)
        value = classification_scores([gold_label(d) for d in stop], predict(nlp, stop), labels)[metric]
        curve.append(round(value, 4))
        print(f"[{tag} seed {seed}] epoch {epoch} {time.perf_counter() - start:5.0f}s dev {metric} {value:.4f}",
              flush=True)
        if value > best:
            best, best_epoch, best_bytes = value, epoch, nlp.to_bytes()
        elif epoch - best_epoch >= patience:
            break
    train_s = time.perf_counter() - start
    nlp.from_bytes(best_bytes)
    record = {"labels": labels, "train_s": round(train_s, 1), "epochs": len(curve), "best_epoch": best_epoch,
              "dev_curve": curve}
    return nlp, record


def predict(nlp, docs) -> List[str]:
    """Predicted labels, on copies that carry the stance target."""
    return [gold_label(d) for d in predict_docs(nlp, docs)]


def predict_docs(nlp, docs) -> List[Any]:
    """Predicted Docs (cats and meta), on copies that carry the stance target."""
    inputs = [systems.copy_with_user_data(nlp, d) for d in docs]
    return list(nlp.pipe(inputs, batch_size=64))


def train_seeded(spec: Dict) -> Dict:
    """Child process: train one neural system with one seed (stance_systems'
    config), keep its best epoch on dev, predict test."""
    import torch

    torch.set_num_threads(1)
    corpus, task, system, seed = spec["corpus"], spec["task"], spec["system"], spec["seed"]
    paths = task_paths(corpus, task, spec["quick"])
    settings = dict(systems.CORPUS_SETTINGS[corpus])
    if spec["quick"]:
        settings.update(max_epochs=1, patience=1)
    config = systems.system_config(corpus, system, systems.prepare_vectors(), spec["overrides"])
    tag = f"{corpus}/{task}/{system}{spec['variant'] and '/' + spec['variant']}"
    nlp, record = fit_seeded(
        config, paths["fit"], paths["stop"], seed, settings["max_epochs"], settings["patience"],
        primary_metric(corpus, task), tag,
    )
    test = read_docs(paths["dev"], nlp.vocab)
    test_docs = predict_docs(nlp, test)
    result = {
        "corpus": corpus, "task": task, "system": system, "variant": spec["variant"], "seed": seed,
        "gold": [gold_label(d) for d in test], "pred": [gold_label(d) for d in test_docs], **record,
    }
    if system in POOLED and not spec["variant"]:
        # For the pooled rows (pooled_runs): probabilities and (debate, party)
        # groups of dev, where the pooling weight is chosen, and of test.
        stop = read_docs(paths["stop"], nlp.vocab)
        stop_docs = predict_docs(nlp, stop)
        result.update(
            scores=[d.cats for d in test_docs], groups=party_line_groups(test_docs),
            stop_gold=[gold_label(d) for d in stop], stop_scores=[d.cats for d in stop_docs],
            stop_groups=party_line_groups(stop_docs),
        )
    return result


def pooled_runs(runs: List[Dict]) -> List[Dict]:
    """The pooled rows: each run of a system in POOLED, its test predictions
    pooled by debate and party (`spacy_bilstm.debate_pooling`) with the weight
    that scores best on its own dev (early-stopping) split. No training: the
    same model's probabilities, read together per party and debate."""
    from spacy_bilstm.baselines import classification_scores
    from spacy_bilstm.debate_pooling import choose_pooling_weight, pool_scores

    derived = []
    for run in runs:
        if run["system"] not in POOLED or run["variant"] or not any(run.get("groups") or []):
            continue
        metric = primary_metric(run["corpus"], run["task"])
        groups = [tuple(g) if g else None for g in run["groups"]]
        stop_groups = [tuple(g) if g else None for g in run["stop_groups"]]
        weight, dev_scores = choose_pooling_weight(
            run["stop_gold"], run["stop_scores"], stop_groups,
            lambda gold, pred: classification_scores(gold, pred, run["labels"])[metric],
        )
        pooled = pool_scores(run["scores"], groups, weight)
        derived.append({
            **run, "system": POOLED[run["system"]], "pred": [max(c, key=c.get) for c in pooled],
            "pooling_weight": weight, "pooling_dev": {str(w): round(v, 4) for w, v in dev_scores.items()},
        })
        print(f"[{run['corpus']}/{run['task']}] {POOLED[run['system']]} seed {run['seed']}: weight {weight} "
              f"(dev {json.dumps(derived[-1]['pooling_dev'])})", flush=True)
    return derived


def neural_jobs(args) -> List[Dict]:
    """The (task, system, variant, seed) runs, main comparison first."""
    jobs = []
    for corpus, task in args.tasks:
        for system in args.systems:
            if system in systems.TARGET_SYSTEMS and (corpus == "convote" or task == "party"):
                continue  # No target to condition on: it would be the BiLSTM again.
            if system in systems.PARTY_SYSTEMS and (corpus == "semeval" or task == "party"):
                continue  # No party to read, or the party is the very label to predict.
            for seed in range(args.seeds):
                jobs.append({"corpus": corpus, "task": task, "system": system, "variant": "", "seed": seed,
                             "overrides": [], "quick": args.quick})
    variants = ablation_variants(args.ablation_corpus, args.ablations)
    if variants and "bilstm" not in args.systems:
        # The ablations change one setting of the plain BiLSTM: train it too,
        # as a row of the ablation corpus's main table.
        for seed in range(args.seeds):
            jobs.append({"corpus": args.ablation_corpus, "task": "stance", "system": "bilstm", "variant": "",
                         "seed": seed, "overrides": [], "quick": args.quick})
    for variant in variants:
        settings = ABLATIONS[variant][1]
        overrides = [f"{MODEL}{key}={json.dumps(value)}" for key, value in settings.items()]
        for seed in range(args.seeds):
            jobs.append({"corpus": args.ablation_corpus, "task": "stance", "system": "bilstm", "variant": variant,
                         "seed": seed, "overrides": overrides, "quick": args.quick})
    # Seed-major order: when the budget runs out, every system and variant
    # has as many seeds as the others (give or take one), not all or none.
    main = sorted((j for j in jobs if not j["variant"]), key=lambda j: j["seed"])
    ablations = sorted((j for j in jobs if j["variant"]), key=lambda j: j["seed"])
    return main + ablations


def run_jobs(jobs: List[Dict], n_parallel: int, deadline: float) -> Tuple[List[Dict], List[Dict]]:
    """Run jobs in child processes (one thread each). A job is skipped (and
    returned as such) if it would end after the deadline, judging by the
    longest finished run on the same corpus."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    runs_dir = OUT_DIR / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    pending, running, done, skipped = list(jobs), [], [], []
    longest: Dict[str, float] = {}
    while pending or running:
        while pending and len(running) < n_parallel:
            job = pending.pop(0)
            if time.time() + longest.get(job["corpus"], 0.0) > deadline:
                skipped.append(job)
                continue
            name = "_".join(str(job[k]) for k in ("corpus", "task", "system", "variant", "seed") if job[k] != "")
            out = runs_dir / f"{name}{'-quick' if job['quick'] else ''}.json"
            cmd = [sys.executable, __file__, "--child", json.dumps({**job, "out": str(out)})]
            running.append((subprocess.Popen(cmd, env=env), out, job, time.time()))
        time.sleep(1.0)
        for entry in list(running):
            proc, out, job, started = entry
            if proc.poll() is not None:
                running.remove(entry)
                if proc.returncode != 0:
                    sys.exit(f"training {out.stem} failed with exit code {proc.returncode}")
                longest[job["corpus"]] = max(longest.get(job["corpus"], 0.0), time.time() - started)
                done.append(json.loads(out.read_text()))
    return done, skipped


def group_runs(runs: List[Dict]) -> List[Dict]:
    """One entry per (task, system, variant) with the predictions of every seed."""
    groups: Dict[Tuple, Dict] = {}
    for run in sorted(runs, key=lambda r: r["seed"]):
        key = (run["corpus"], run["task"], run["system"], run["variant"])
        entry = groups.setdefault(key, {
            "corpus": run["corpus"], "task": run["task"], "system": run["system"], "variant": run["variant"],
            "labels": run["labels"], "gold": run["gold"], "seeds": [], "preds": [], "train_s": [],
            "params": {"epochs (best)": []},
        })
        if run["gold"] != entry["gold"]:
            raise ValueError(f"seeds of {key} were scored on different test documents")
        entry["seeds"].append(run["seed"])
        entry["preds"].append(run["pred"])
        entry["train_s"].append(run["train_s"])
        entry["params"]["epochs (best)"].append(f"{run['epochs']} ({run['best_epoch']})")
        if "pooling_weight" in run:
            entry["params"].setdefault("pooling weight (dev)", []).append(run["pooling_weight"])
    return list(groups.values())


# --- report ------------------------------------------------------------------------------


def summarise(entries: List[Dict], metric_of, seed: int = 0) -> None:
    """Add scores, intervals and the paired difference to the best entry of
    each task (in place)."""
    from spacy_bilstm.baselines import bootstrap_ci, classification_scores, mean_std, paired_bootstrap

    for entry in entries:
        metric = metric_of(entry)
        per_seed = [classification_scores(entry["gold"], p, entry["labels"]) for p in entry["preds"]]
        entry["metric"] = metric
        entry["mean"], entry["std"] = mean_std([s[metric] for s in per_seed])
        entry["accuracy"] = mean_std([s["accuracy"] for s in per_seed])[0]
        _, entry["low"], entry["high"] = bootstrap_ci(
            entry["gold"], entry["preds"], entry["labels"], metric=metric, n_resamples=N_RESAMPLES, seed=seed
        )
    by_task: Dict[Tuple[str, str], List[Dict]] = {}
    for entry in entries:
        by_task.setdefault((entry["corpus"], entry["task"]), []).append(entry)
    for group in by_task.values():
        best = max(group, key=lambda e: e["mean"])
        peers = {e["system"]: e for e in group if e["system"] in PEERS and not e.get("variant")}
        for entry in group:
            entry["best"] = entry is best
            if entry is not best:
                entry["diff"] = paired_bootstrap(
                    entry["gold"], entry["preds"], best["preds"], entry["labels"],
                    metric=entry["metric"], n_resamples=N_RESAMPLES, seed=seed,
                )
            entry["vs"] = {
                name: paired_bootstrap(
                    entry["gold"], entry["preds"], peer["preds"], entry["labels"],
                    metric=entry["metric"], n_resamples=N_RESAMPLES, seed=seed,
                )
                for name, peer in peers.items()
                if peer is not entry and entry["system"] in NEURAL
            }


def _fmt_params(params: Dict) -> str:
    shown = []
    for key, value in params.items():
        if key == "dev_scores":
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        shown.append(f"{key}={value}")
    return "; ".join(shown)


def _interval(diff) -> str:
    d, low, high = diff
    return f"{d:+.3f} [{low:+.3f}, {high:+.3f}]"


def _row(entry: Dict, name: str) -> str:
    n = len(entry["seeds"])
    score = f"{entry['mean']:.3f} ± {entry['std']:.3f}" if n > 1 else f"{entry['mean']:.3f}"
    if entry["best"]:
        diff, noise = "best", ""
    else:
        diff = _interval(entry["diff"])
        noise = "yes" if entry["diff"][1] <= 0 <= entry["diff"][2] else "no"
    vs = " | ".join(_interval(entry["vs"][peer]) if peer in entry.get("vs", {}) else "" for peer in PEERS)
    return (f"| {name} | {n} | {score} | [{entry['low']:.3f}, {entry['high']:.3f}] | {entry['accuracy']:.3f} | "
            f"{diff} | {noise} | {vs} | {sum(entry['train_s']) / n:.0f} | {_fmt_params(entry['params'])} |")


TABLE_HEAD = (
    "| {first} | seeds | score | 95% CI | accuracy | Δ to best [95% CI] | within noise | "
    + " | ".join(f"Δ {label} [95% CI]" for label in PEERS.values())
    + " | train s | settings |\n|---|---|---|---|---|---|---|" + "---|" * len(PEERS) + "---|---|"
)


def rebel_rows(main: List[Dict], rebels: Dict[Tuple[str, str], List[bool]]) -> List[str]:
    """Accuracy on the rebel speeches of each parliamentary stance task: those
    against the majority of the speaker's party in their debate, which the
    party-only rule gets wrong. Chance is 0.5 on these two-label tasks."""
    from spacy_bilstm.baselines import bootstrap_ci

    lines = [
        "## Rebel speeches: against the speaker's party line in the debate",
        "",
        "A speech is a rebel when its label differs from the majority label of its party's speeches in the "
        "same debate (`spacy_bilstm.baselines.rebel_mask`; a party split evenly in a debate has no rebels). "
        "The party-only rule predicts the party's usual line, so it gets them wrong unless the party's line "
        "in that debate is the unusual one: these rows show what reading the text adds. Accuracy on the rebels "
        "alone, mean over seeds, with a bootstrap 95% interval; chance is 0.500.",
        "",
        "| corpus | system | rebels / test speeches | accuracy on rebels | 95% CI | above chance |",
        "|---|---|---|---|---|---|",
    ]
    for (corpus, task), mask in rebels.items():
        for entry in (e for e in main if (e["corpus"], e["task"]) == (corpus, task)):
            gold = [g for g, rebel in zip(entry["gold"], mask) if rebel]
            if not gold:
                continue
            preds = [[p for p, rebel in zip(run, mask) if rebel] for run in entry["preds"]]
            point, low, high = bootstrap_ci(gold, preds, entry["labels"], metric="accuracy",
                                            n_resamples=N_RESAMPLES, seed=0)
            entry.setdefault("rebels", {"n": len(gold), "accuracy": point, "low": low, "high": high})
            lines.append(
                f"| {corpus} | {LABELS[entry['system']]} | {len(gold)} / {len(mask)} | {point:.3f} | "
                f"[{low:.3f}, {high:.3f}] | {'yes' if low > 0.5 else 'no'} |"
            )
    return lines + [""]


def test_rebels(quick: bool) -> Dict[Tuple[str, str], List[bool]]:
    """The rebel mask of the test documents of each stance task with parties."""
    from spacy.vocab import Vocab

    from spacy_bilstm.baselines import rebel_mask, text_data

    masks = {}
    for corpus, task in TASKS:
        if task != "stance":
            continue
        docs = read_docs(task_paths(corpus, task, quick)["dev"], Vocab())
        data = text_data(docs)
        if any(p is None for p in data.parties):
            continue
        masks[(corpus, task)] = rebel_mask([(d._.meta or {}).get("group") for d in docs], data.parties, data.labels)
    return masks


def findings(main: List[Dict]) -> List[str]:
    """What the tables say, task by task: the best neural system against the
    best linear text baseline, with the paired bootstrap interval of the
    difference, and the party-only baseline where there is one."""
    from spacy_bilstm.baselines import paired_bootstrap

    lines = [
        "## Findings",
        "",
        "Best `lstm_textcat` system (by mean over seeds) against the best linear text baseline of each task: "
        "Δ = neural − linear on test, with its paired bootstrap 95% interval.",
        "",
    ]
    for corpus, task in TASKS:
        group = [e for e in main if (e["corpus"], e["task"]) == (corpus, task)]
        neural = [e for e in group if e["system"] in NEURAL]
        linear = [e for e in group if e["system"] in ("tfidf_logreg", "ngram_svm")]
        if not neural or not linear:
            continue
        best_neural = max(neural, key=lambda e: e["mean"])
        best_linear = max(linear, key=lambda e: e["mean"])
        diff, low, high = paired_bootstrap(
            best_neural["gold"], best_neural["preds"], best_linear["preds"], best_neural["labels"],
            metric=best_neural["metric"], n_resamples=N_RESAMPLES, seed=0,
        )
        if low > 0:
            verdict = "beats"
        elif high < 0:
            verdict = "loses to"
        else:
            verdict = "is within the noise of"
        line = (
            f"- **{corpus}, {task}**: {LABELS[best_neural['system']]} ({best_neural['mean']:.3f}) {verdict} "
            f"the {LABELS[best_linear['system']]} ({best_linear['mean']:.3f}): Δ {diff:+.3f} [{low:+.3f}, {high:+.3f}]."
        )
        party = [e for e in group if e["system"] == "party"]
        if party and party[0]["mean"] > max(best_neural["mean"], best_linear["mean"]):
            line += f" The speaker's party alone ({party[0]['mean']:.3f}) beats both."
        lines.append(line)
    semeval = {e["system"]: e for e in main if (e["corpus"], e["task"]) == ("semeval", "stance")}
    neural = [e for name, e in semeval.items() if name in NEURAL]
    if neural and "ngram_svm" in semeval:
        best = max(neural, key=lambda e: e["mean"])
        svm = semeval["ngram_svm"]
        gap = best["mean"] - svm["mean"]
        lines += [
            "",
            f"**Target (SemEval-2016 Task A, mean F1 of FAVOR and AGAINST):** the best `lstm_textcat` configuration, "
            f"{LABELS[best['system']]}, scores {best['mean']:.3f} against {svm['mean']:.3f} for the SVM n-gram "
            f"baseline trained in the same run: it {'beats' if gap > 0 else 'does not beat'} it, "
            f"by {abs(gap):.3f}.",
        ]
    lines.append("")
    return lines


def target_findings(main: List[Dict]) -> List[str]:
    """The stance targets, each with its paired interval: text + party above
    party only, text only above the SVM, and SemEval at 0.70 and above the SVM."""
    lines = ["**Targets (issue 16)**, paired bootstrap 95% intervals on the same test documents:", ""]
    for corpus, task in TASKS:
        if task != "stance":
            continue
        group = {e["system"]: e for e in main if (e["corpus"], e["task"]) == (corpus, task)}
        reads_party = (*systems.PARTY_SYSTEMS, *POOLED.values())
        text_only = [e for name, e in group.items() if name in NEURAL and name not in reads_party]
        with_party = [e for name, e in group.items() if name in reads_party]
        for kind, candidates, peer, peer_name in (("text only", text_only, "ngram_svm", "the SVM"),
                                                  ("text + party", with_party, "party", "party only")):
            if candidates and peer in group:
                best = max(candidates, key=lambda e: e["mean"])
                d, low, high = best["vs"][peer]
                lines.append(f"- {corpus}: {kind} ({LABELS[best['system']]}, {best['mean']:.3f}) against {peer_name} "
                             f"({group[peer]['mean']:.3f}): Δ {d:+.3f} [{low:+.3f}, {high:+.3f}], "
                             f"{'above' if low > 0 else 'not above'}.")
        if corpus == "semeval" and text_only:
            best = max(text_only, key=lambda e: e["mean"])
            lines.append(f"- semeval: {LABELS[best['system']]} {best['mean']:.3f} ± {best['std']:.3f} against "
                         f"the target of 0.70: {'met' if best['mean'] >= 0.70 else 'not met'}.")
    return lines + [""]


def ablation_findings(ablations: List[Dict], corpus: str) -> List[str]:
    """One paragraph on the ablations: the embeddings, and the best variant."""
    if not ablations:
        return []
    reference = next((e for e in ablations if not e["variant"]), None)
    by_variant = {e["variant"]: e for e in ablations if e["variant"]}
    model = reference_model(corpus)
    embeddings = []
    if reference is not None and model["static_vectors"]:
        by_variant["emb_glove_init" if model["static_vectors"]["finetune"] else "emb_glove_frozen"] = reference
    for name, label in (("emb_random", "random"), ("emb_glove_frozen", "GloVe frozen"),
                        ("emb_glove_init", "GloVe-initialised, fine-tuned")):
        if name in by_variant:
            e = by_variant[name]
            embeddings.append(f"{label} {e['mean']:.3f} ({sum(e['train_s']) / len(e['train_s']):.0f} s)")
    best = max(ablations, key=lambda e: e["mean"])
    text = (f"**Ablations ({corpus})**: embeddings {'; '.join(embeddings)} (score, mean training seconds). "
            f"Best variant: {ablation_label(best, corpus)} ({best['mean']:.3f}")
    if reference is not None and best is not reference:
        ref_d, ref_low, ref_high = reference["diff"]
        text += (f"; the reference is {-ref_d:.3f} below it, [{-ref_high:.3f}, {-ref_low:.3f}], "
                 f"{'within' if ref_low <= 0 <= ref_high else 'outside'} the noise")
    return [text + ").", ""]


def render(
    main: List[Dict], ablations: List[Dict], skipped: List[Dict], args, total_s: float,
    rebels: Dict[Tuple[str, str], List[bool]], command: str = "", date: str = "",
) -> str:
    import numpy
    import sklearn
    import thinc

    lines = [
        "# Comparison: stance against linear baselines and the party line; seeds, party classification, ablations (issues 8, 16)",
        "",
        f"Command: `{command or command_line()}` (the `compare` workflow of project.yml runs it)  ",
        f"Machine: {machine_description()}, thinc {thinc.__version__}, scikit-learn {sklearn.__version__}, "
        f"numpy {numpy.__version__}  ",
        f"Date: {date or today()}; total wall time {total_s / 60:.1f} min; seeds per neural system: {args.seeds}; "
        f"budget {args.budget} min; {args.jobs} training processes at once, one thread each."
        + (" **QUICK SMOKE RUN: tiny data, one epoch — these numbers mean nothing.**" if args.quick else ""),
        "",
        (__doc__ or "").split("Protocol. ", 1)[1].strip(),
        "",
        "Columns: score = the task's measure on test (SemEval: mean F1 of FAVOR and AGAINST over all targets; "
        "otherwise macro F1), mean ± std over seeds; 95% CI = bootstrap interval on test; Δ to best = paired "
        "bootstrap difference to the best system of the task with its 95% interval; noise = whether that "
        "interval contains 0; train s = mean wall seconds per seed.",
        "",
    ]
    lines += findings(main) + target_findings(main) + ablation_findings(ablations, args.ablation_corpus)
    for corpus, task in TASKS:
        group = [e for e in main if (e["corpus"], e["task"]) == (corpus, task)]
        if not group:
            continue
        lines += [
            f"## {corpus}, {task} ({'mean F1 FAVOR/AGAINST' if group[0]['metric'] == 'semeval_f' else 'macro F1'}; "
            f"{len(group[0]['gold'])} test documents, labels {', '.join(group[0]['labels'])})",
            "",
            TABLE_HEAD.format(first="system"),
        ]
        lines += [_row(e, LABELS[e["system"]]) for e in group]
        lines.append("")
    lines += rebel_rows(main, rebels)
    if ablations:
        lines += [
            f"## Ablations of the BiLSTM on {args.ablation_corpus} (stance)",
            "",
            "Δ is to the best variant; the reference is the main comparison's BiLSTM.",
            "",
            TABLE_HEAD.format(first="variant"),
        ]
        lines += [_row(e, ablation_label(e, args.ablation_corpus)) for e in ablations]
        lines += ["", "![ablations](comparison_ablations.png)", ""]
    lines += ["![systems](comparison_systems.png)", ""]
    if skipped:
        lines += ["## Not run: over the time budget", ""]
        lines += [f"- {j['corpus']}/{j['task']}/{j['system']}{'/' + j['variant'] if j['variant'] else ''} seed {j['seed']}"
                  for j in skipped]
        lines.append("")
    return "\n".join(lines)


def plot(main: List[Dict], ablations: List[Dict], out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spacy_bilstm.io import atomic_path

    tasks = [t for t in TASKS if any((e["corpus"], e["task"]) == t for e in main)]
    systems = [s for s in LINEAR + NEURAL if any(e["system"] == s for e in main)]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / max(len(systems), 1)
    for k, system in enumerate(systems):
        xs, ys, errs = [], [], [[], []]
        for i, task in enumerate(tasks):
            for e in main:
                if (e["corpus"], e["task"]) == task and e["system"] == system:
                    xs.append(i + (k - (len(systems) - 1) / 2) * width)
                    ys.append(e["mean"])
                    errs[0].append(e["mean"] - e["low"])
                    errs[1].append(e["high"] - e["mean"])
        ax.bar(xs, ys, width, yerr=errs, capsize=2, label=LABELS[system])
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels([f"{c} {t}" for c, t in tasks])
    ax.set_ylabel("test score")
    ax.set_title("Bars: mean over seeds; whiskers: bootstrap 95% interval on test", fontsize=9)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=2, loc="upper right")
    fig.tight_layout()
    with atomic_path(out_dir / "comparison_systems.png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    if not ablations:
        return
    fig, ax = plt.subplots(figsize=(8, 4))
    names = [ablation_label(e, e["corpus"]) for e in ablations]
    ax.barh(range(len(ablations)), [e["mean"] for e in ablations],
            xerr=[e["std"] for e in ablations], capsize=3, color="tab:blue")
    ax.set_yticks(range(len(ablations)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("test score, mean ± std over seeds")
    ax.set_title("BiLSTM ablations")
    fig.tight_layout()
    with atomic_path(out_dir / "comparison_ablations.png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def render_saved(out_dir: Optional[Path] = None) -> None:
    """Re-render COMPARISON.md and the plots from a saved run's results (no
    training): the report's text can change without rerunning the
    comparison. out_dir: the --out-dir of that run (its results are
    results-<name>.json); None: the full run in benchmarks/."""
    from spacy_bilstm.io import atomic_open

    saved_path = OUT_DIR / (f"results-{out_dir.name}.json" if out_dir is not None else "results.json")
    if not saved_path.exists():
        raise SystemExit(f"{saved_path}: no saved results to re-render (run the comparison first)")
    report = out_dir / "COMPARISON.md" if out_dir is not None else REPORT
    saved = json.loads(saved_path.read_text())
    meta = saved["meta"]
    args = argparse.Namespace(**meta["args"])
    rebels = {(corpus, task): mask for corpus, task, mask in saved["rebels"]}
    text = render(saved["main"], saved["ablations"], saved["skipped"], args, meta["total_s"], rebels,
                  command=meta["command"], date=meta["date"])
    with atomic_open(report, "w") as f:
        f.write(text)
    plot(saved["main"], saved["ablations"], report.parent)
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per neural system (>= 3 for the report)")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="minutes: no training starts that would end after this (judged by the longest "
                        "finished run on its corpus); what is left is listed as not run")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: tiny parts, one epoch, 2 seeds, text-only and text + party on HanDeSeT, "
                        "one ablation; "
                        "writes under benchmarks/work/compare/quick/")
    parser.add_argument("--jobs", type=int, default=2, help="training processes at once")
    parser.add_argument("--systems", nargs="*", default=None, choices=NEURAL)
    parser.add_argument("--ablations", nargs="*", default=None, choices=list(ABLATIONS))
    parser.add_argument("--ablation-corpus", default="semeval", choices=systems.CORPORA)
    parser.add_argument("--neural-tasks", nargs="*", default=None, metavar="CORPUS/TASK",
                        choices=[f"{c}/{t}" for c, t in TASKS],
                        help="train the neural systems on these tasks only (default: all); the linear "
                        "baselines run on every task")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite COMPARISON.md and the plots from a saved run (the full run, or the one of --out-dir)")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="write COMPARISON.md and its plots here, not in benchmarks/ (a partial run, e.g. "
                        "one corpus, beside the full one)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render_only:
        render_saved(args.out_dir)
        return
    if args.child:
        from spacy_bilstm.io import atomic_open

        spec = json.loads(args.child)
        result = train_seeded(spec)
        with atomic_open(Path(spec["out"]), "w") as f:
            json.dump(result, f)
        return
    start = time.time()
    if args.quick:
        args.seeds = min(args.seeds, 2)
        args.systems = args.systems if args.systems is not None else ["bilstm_ngram", "bilstm_ngram_party"]
        args.ablations = args.ablations if args.ablations is not None else ["cell_gru"]
        neural_tasks = [("handeset", "stance")]
        out_dir = OUT_DIR / "quick"
    else:
        args.systems = args.systems if args.systems is not None else DEFAULT_NEURAL
        args.ablations = args.ablations if args.ablations is not None else list(ABLATIONS)
        neural_tasks = TASKS
        if args.neural_tasks is not None:
            neural_tasks = [tuple(name.split("/")) for name in args.neural_tasks]
        out_dir = args.out_dir or REPORT.parent
        out_dir.mkdir(parents=True, exist_ok=True)
    systems.prepare_vectors()
    main_entries: List[Dict] = []
    for corpus, task in TASKS:
        main_entries += run_linear(corpus, task, args.quick)
    args.tasks = neural_tasks
    runs, skipped = run_jobs(neural_jobs(args), args.jobs, start + args.budget * 60)
    grouped = group_runs(runs + pooled_runs(runs))
    main_entries += [e for e in grouped if not e["variant"]]
    ablation_entries = [e for e in grouped if e["variant"]]
    reference = [e for e in main_entries if (e["corpus"], e["task"], e["system"]) == (args.ablation_corpus, "stance", "bilstm")]
    if ablation_entries and reference:
        ablation_entries = [dict(reference[0])] + ablation_entries

    def metric_of(entry: Dict) -> str:
        return primary_metric(entry["corpus"], entry["task"])

    summarise(main_entries, metric_of)
    summarise(ablation_entries, metric_of)
    order = {s: i for i, s in enumerate(LINEAR + NEURAL)}
    main_entries.sort(key=lambda e: (TASKS.index((e["corpus"], e["task"])), order[e["system"]]))
    ablation_entries.sort(key=lambda e: -1 if not e["variant"] else list(ABLATIONS).index(e["variant"]))
    from spacy_bilstm.io import atomic_open

    total_s = time.time() - start
    rebels = test_rebels(args.quick)
    text = render(main_entries, ablation_entries, skipped, args, total_s, rebels)
    with atomic_open(out_dir / "COMPARISON.md", "w") as f:
        f.write(text)
    meta = {"command": command_line(), "date": today(), "total_s": total_s,
            "args": {k: v for k, v in vars(args).items() if k in ("seeds", "budget", "jobs", "quick", "ablation_corpus")}}
    saved_name = "results-quick.json" if args.quick else "results.json"
    if args.out_dir is not None and not args.quick:
        saved_name = f"results-{args.out_dir.name}.json"  # what --render-only --out-dir reads
    with atomic_open(OUT_DIR / saved_name, "w") as f:
        json.dump({"main": main_entries, "ablations": ablation_entries, "skipped": skipped, "meta": meta,
                   "rebels": [[corpus, task, mask] for (corpus, task), mask in rebels.items()]}, f)
    plot(main_entries, ablation_entries, out_dir)
    print(text)


if __name__ == "__main__":
    main()
