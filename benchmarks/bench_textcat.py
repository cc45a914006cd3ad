"""Stance / text classification on HanDeSeT, ConVote and SemEval-2016 (issue 3).

On each corpus, in one run: spaCy's `textcat` with the bag-of-words
architecture (`spacy.TextCatBOW.v3`, the linear baseline), the averaged-
embedding baseline (`spacy_bilstm.MeanEmbedTextCat.v1`), an LSTM, a BiLSTM
and a BiLSTM conditioned on the stance target (`spacy_bilstm.LSTMTextCat.v1`
in the `lstm_textcat` component), plus a majority-class baseline and, where
the metadata has parties, a party-only baseline.

    python benchmarks/bench_textcat.py
    python benchmarks/bench_textcat.py --corpora semeval --systems bilstm bilstm_target

Protocol. Each corpus is read with the package's readers and split with
`spacy_bilstm.corpora.split_docs(docs, 0.2, seed=0)` -- grouped by debate for
HanDeSeT and ConVote, stratified by target and label for SemEval, the same
split `python -m spacy_bilstm convert textcat` writes. Every system trains
on the same train part; 15% of it (again grouped or stratified) is held out
for early stopping (the best epoch on it is kept), so the dev split is used
only to report. Each (corpus, system) trains in its own subprocess with one
torch/numpy thread; `--jobs` of them run at once.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from common import ROOT, command_line, machine_description, today, write_section
from stance_systems import (
    BASELINES,
    CORPORA,
    CORPUS_SETTINGS,
    LABELS,
    PARTY_SYSTEMS,
    SYSTEMS,
    TARGET_SYSTEMS,
    WORK_DIR,
    copy_with_user_data,
    prepare_data,
    prepare_vectors,
    system_config,
)

from spacy_bilstm.baselines import classification_scores, gold_label, majority_baseline, party_baseline, text_data
from spacy_bilstm.corpora.docbins import read_docs

CHART = ROOT / "benchmarks" / "textcat_comparison.png"

# --- baselines -------------------------------------------------------------------


def run_baseline(corpus: str, system: str, paths: Dict[str, Path]) -> Optional[Dict]:
    """Majority class, or the majority label of the speaker's party in
    training (the package's baselines, as the report and compare.py use)."""
    from spacy.vocab import Vocab

    vocab = Vocab()
    train_docs = read_docs(paths["fit"], vocab) + read_docs(paths["stop"], vocab)
    train, dev = text_data(train_docs), text_data(read_docs(paths["dev"], vocab))
    labels = sorted(train_docs[0].cats)
    if system == "majority":
        pred = majority_baseline(train.labels, len(dev.labels)).dev_pred
    else:
        if any(party is None for party in train.parties + dev.parties):
            return None
        pred = party_baseline(train.parties, train.labels, dev.parties).dev_pred
    result = classification_scores(dev.labels, pred, labels)
    result.update({"corpus": corpus, "system": system, "train_s": 0.0, "epochs": 0})
    return result


# --- neural systems -----------------------------------------------------------------


def train_system(corpus: str, system: str, out: Path, overrides: Sequence[str], seed: int = 0) -> None:
    """Child process: train one system, keep its best epoch on the
    early-stopping split, score it on dev; write a JSON result to `out`."""
    import random
    import resource

    import torch
    from spacy.training import Example
    from spacy.training.initialize import init_nlp
    from spacy.util import fix_random_seed, registry
    from thinc.api import Config

    from spacy_bilstm.io import atomic_open

    torch.set_num_threads(1)
    paths = prepare_data(corpus)
    settings = CORPUS_SETTINGS[corpus]
    config = system_config(corpus, system, prepare_vectors(), overrides)
    config["system"]["seed"] = seed
    config["training"]["seed"] = seed
    config["paths"]["train"] = str(paths["fit"])
    config["paths"]["dev"] = str(paths["stop"])
    if "corpora" in config and "train" in config["corpora"]:
        config["corpora"]["train"]["path"] = str(paths["fit"])
        config["corpora"]["dev"]["path"] = str(paths["stop"])
    defaults = Config().from_disk(ROOT / "configs" / "lstm_textcat.cfg", interpolate=False)
    # A variant is described by what differs from the config's defaults,
    # reading length and truncation by the corpus's own settings.
    reference = dict(defaults["components"]["lstm_textcat"]["model"])
    reference.update(max_tokens=CORPUS_SETTINGS[corpus]["max_tokens"], truncation=CORPUS_SETTINGS[corpus]["truncation"])
    model = config["components"].get("lstm_textcat", {}).get("model", {})
    variant = {
        key: value
        for key, value in model.items()
        if key in reference and not isinstance(value, dict) and value != reference[key]
        and key not in ("bidirectional", "use_target")
    }
    vectors, default_vectors = model.get("static_vectors") or {}, reference.get("static_vectors") or {}
    variant.update({
        f"static_vectors.{key}": value for key, value in vectors.items() if value != default_vectors.get(key)
    })
    learn_rate = config["training"]["optimizer"]["learn_rate"]
    if system != "textcat_bow" and learn_rate != defaults["training"]["optimizer"]["learn_rate"]:
        variant["learn_rate"] = learn_rate
    fix_random_seed(seed)
    nlp = init_nlp(config)
    pipe_name = nlp.pipe_names[-1]
    T = registry.resolve(nlp.config["training"], schema=None)
    optimizer, batcher, dropout = T["optimizer"], T["batcher"], T["dropout"]

    def examples(path: Path) -> List[Example]:
        # Targets must be on the docs the model predicts on.
        return [Example(copy_with_user_data(nlp, doc), doc) for doc in read_docs(path, nlp.vocab)]

    fit, stop = examples(paths["fit"]), examples(paths["stop"])
    dev_docs = read_docs(paths["dev"], nlp.vocab)
    labels = sorted(fit[0].reference.cats)
    rng = random.Random(seed)
    start = time.perf_counter()
    best, best_bytes, best_epoch, curve = -1.0, None, 0, []
    for epoch in range(1, settings["max_epochs"] + 1):
        rng.shuffle(fit)
        for batch in batcher(fit):
            nlp.update(batch, sgd=optimizer, drop=dropout)
        stop_scores = predict_scores(nlp, pipe_name, [eg.reference for eg in stop], labels)
        key = "semeval_f" if "semeval_f" in stop_scores else "macro_f"
        curve.append(round(stop_scores[key], 4))
        print(f"[{corpus}/{system}] epoch {epoch} {time.perf_counter() - start:6.0f}s stop {key} {stop_scores[key]:.4f}", flush=True)
        if stop_scores[key] > best:
            best, best_epoch, best_bytes = stop_scores[key], epoch, nlp.to_bytes()
        elif epoch - best_epoch >= settings["patience"]:
            break
    train_s = time.perf_counter() - start
    nlp.from_bytes(best_bytes)
    result = predict_scores(nlp, pipe_name, dev_docs, labels)
    result.update(
        {
            "corpus": corpus,
            "system": system,
            "seed": seed,
            "stop_best": best,
            "train_s": round(train_s, 1),
            "cpu_s": round(resource.getrusage(resource.RUSAGE_SELF).ru_utime, 1),
            "epochs": len(curve),
            "best_epoch": best_epoch,
            "stop_curve": curve,
            "overrides": list(overrides),
            "variant": variant,
        }
    )
    with atomic_open(out, "w") as f:
        json.dump(result, f, indent=2)


def predict_scores(nlp, pipe_name: str, docs: list, labels: Sequence[str]) -> Dict:
    inputs = [copy_with_user_data(nlp, doc) for doc in docs]
    predicted = list(nlp.pipe(inputs, batch_size=64))
    pred = [gold_label(doc) for doc in predicted]
    return classification_scores([gold_label(doc) for doc in docs], pred, labels)


# --- report ------------------------------------------------------------------------

STUDIES = {
    "main": "Main comparison",
    "seeds": "Seed study: mean ± standard deviation over seeds",
    "tuning": "Tuning log: variants tried, scored on the early-stopping split (stop) and dev",
}


def _mean_sd(values: Sequence[float]) -> str:
    import statistics

    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def target_check(results: List[Dict]) -> List[str]:
    """Issue 3's target over seed means: per corpus, the best `lstm_textcat`
    system against spaCy's bag-of-words `textcat`, by the corpus's measure."""
    import statistics

    groups: Dict[Tuple[str, str], List[float]] = {}
    for r in results:
        key = "semeval_f" if r["corpus"] == "semeval" else "macro_f"
        groups.setdefault((r["corpus"], r["system"]), []).append(r[key])
    means: Dict[Tuple[str, str], float] = {k: statistics.mean(v) for k, v in groups.items()}
    lines = [
        "Target check (seed means; SemEval F for SemEval, macro F1 otherwise): the best "
        "`lstm_textcat` system against bag-of-words.",
        "",
        "| corpus | bag-of-words | best lstm_textcat system | its score | ahead |",
        "|---|---|---|---|---|",
    ]
    ahead = 0
    corpora = [c for c in CORPORA if (c, "textcat_bow") in means]
    for corpus in corpora:
        ours = {s: m for (c, s), m in means.items() if c == corpus and s not in BASELINES + ["textcat_bow"]}
        if not ours:
            continue
        best = max(sorted(ours), key=ours.get)
        bow = means[corpus, "textcat_bow"]
        wins = ours[best] > bow
        ahead += wins
        lines.append(f"| {corpus} | {bow:.3f} | {LABELS[best]} | {ours[best]:.3f} | {'yes' if wins else 'no'} |")
    lines += ["", f"Ahead on {ahead} of {len(corpora)} corpora (target: 2 of 3)."]
    return lines


def render_study(name: str, study: Dict) -> List[str]:
    meta, results = study["meta"], study["results"]
    commands = "; ".join(f"`{c}`" for c in meta["commands"])
    lines = [
        f"### {STUDIES[name]}",
        "",
        f"Command{'s' if len(meta['commands']) > 1 else ''}: {commands}  ",
        f"Machine: {meta['machine']}  ",
        (
            f"Date: {meta['date']}; one seed (0); one command per variant."
            if name == "tuning"
            else f"Date: {meta['date']}; one command per group of rows; wall times are in each row's train s."
            if len(meta["commands"]) > 1
            else f"Date: {meta['date']}; wall time {meta['wall_s'] / 60:.1f} min (CPU time of the training "
            f"processes {meta['cpu_s'] / 60:.1f} min), {meta['jobs']} systems at a time, one torch/numpy "
            f"thread each; load average at the end {meta['load']}."
        ),
        "",
    ]
    if name == "tuning":
        lines += [
            "| corpus | system | variant | stop score | dev macro F1 | dev SemEval F |",
            "|---|---|---|---|---|---|",
        ]
        for r in results:
            variant = ", ".join(f"{k} = {json.dumps(v)}" for k, v in sorted(r["variant"].items()))
            variant = variant or "config defaults"
            semeval = f"{r['semeval_f']:.3f}" if "semeval_f" in r else ""
            lines.append(
                f"| {r['corpus']} | {LABELS[r['system']]} | {variant} | {r['stop_best']:.3f} | "
                f"{r['macro_f']:.3f} | {semeval} |"
            )
        return lines
    lines += [
        "| corpus | system | seeds | accuracy | macro P | macro R | macro F1 | SemEval F | epochs (best) | train s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: Dict[Tuple[str, str], List[Dict]] = {}
    for r in results:
        groups.setdefault((r["corpus"], r["system"]), []).append(r)
    for (corpus, system), runs in groups.items():
        cells = [_mean_sd([r[key] for r in runs]) for key in ("accuracy", "macro_p", "macro_r", "macro_f")]
        semeval = _mean_sd([r["semeval_f"] for r in runs]) if "semeval_f" in runs[0] else ""
        neural = "epochs" in runs[0] and runs[0]["epochs"]
        epochs = ", ".join(f"{r['epochs']} ({r['best_epoch']})" for r in runs) if neural else ""
        train_s = f"{sum(r['train_s'] for r in runs) / len(runs):.0f}" if neural else ""
        seeds = ", ".join(str(r["seed"]) for r in runs) if neural else "-"
        lines.append(
            f"| {corpus} | {LABELS[system]} | {seeds} | {' | '.join(cells)} | {semeval} | {epochs} | {train_s} |"
        )
    return lines


def render_section() -> str:
    lines = [
        "## Stance / text classification: `lstm_textcat` vs spaCy's `textcat` (issue 3)",
        "",
        "Dev = `split_docs(docs, 0.2, seed=0)` (grouped by debate for HanDeSeT and ConVote, "
        "stratified by target and label for SemEval), the split `python -m spacy_bilstm convert "
        "textcat` writes. 15% of the training part, split the same way, is held out as the "
        "early-stopping (stop) split: each system keeps its best epoch there, and dev is only "
        "scored. The `lstm_textcat` systems use GloVe 6B 50d (`spacy init vectors --attr LOWER`) "
        "plus hashed NORM/PREFIX/SUFFIX/SHAPE embeddings (`configs/lstm_textcat.cfg`). spaCy 3.8 "
        "does not save `--attr LOWER` with the table, so in the rows without `vectors_attr = "
        "\"LOWER\"` the vectors were looked up by the exact text: capitalised words found none "
        "(found after these runs; see the tuning log for the fix's effect). spaCy's "
        "`textcat` is its efficiency config with `spacy.TextCatBOW.v3`. Macro P/R/F1 over all "
        "labels; SemEval F = mean F1(FAVOR, AGAINST), the official measure, over all targets "
        "pooled. Party only = the majority label of the speaker's party in training. ConVote has "
        "no stance targets, so it has no BiLSTM + target rows. \"+ BOW\": the same `lstm_textcat` "
        "with a `linear_model`, spaCy's `TextCatBOW.v3` as the BOW row trains it but without its "
        "own softmax; its class scores are added to the BiLSTM's and both train together, with "
        "the `lstm_textcat` optimizer and batches.",
        "",
    ]
    for name in STUDIES:
        path = WORK_DIR / f"study_{name}.json"
        if path.exists():
            study = json.loads(path.read_text())
            lines += render_study(name, study) + [""]
            if name == "seeds":
                lines += target_check(study["results"]) + [""]
    lines.append("![textcat comparison](textcat_comparison.png)")
    return "\n".join(lines) + "\n"


def plot(results: List[Dict]) -> None:
    import statistics

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spacy_bilstm.io import atomic_path

    corpora = [c for c in CORPORA if any(r["corpus"] == c for r in results)]
    systems = [s for s in SYSTEMS if any(r["system"] == s for r in results)]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(len(systems), 1)
    for k, system in enumerate(systems):
        xs, ys = [], []
        for i, corpus in enumerate(corpora):
            runs = [r for r in results if r["corpus"] == corpus and r["system"] == system]
            if runs:
                xs.append(i + (k - (len(systems) - 1) / 2) * width)
                ys.append(statistics.mean(r.get("semeval_f", r["macro_f"]) for r in runs))
        ax.bar(xs, ys, width, label=LABELS[system])
    ax.set_xticks(range(len(corpora)))
    ax.set_xticklabels([f"{c}\n({'mean F1 FAVOR/AGAINST' if c == 'semeval' else 'macro F1'})" for c in corpora])
    ax.set_ylabel("dev score")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, ncol=2, loc="upper right")
    ax.set_title("Text classification on the dev splits")
    fig.tight_layout()
    with atomic_path(CHART) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def run_jobs(jobs: List[Tuple[str, str, int, Path]], overrides: Sequence[str], n_jobs: int) -> None:
    """Train each (corpus, system, seed) in its own process, `n_jobs` at once."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    running: List[Tuple[subprocess.Popen, Tuple]] = []
    pending = list(jobs)
    while pending or running:
        while pending and len(running) < n_jobs:
            corpus, system, seed, out = job = pending.pop(0)
            cmd = [sys.executable, __file__, "--child", corpus, system, str(out), "--seeds", str(seed)]
            if overrides and system != "textcat_bow":
                cmd += ["--set", *overrides]
            running.append((subprocess.Popen(cmd, env=env), job))
        time.sleep(1.0)
        for proc, job in list(running):
            if proc.poll() is not None:
                running.remove((proc, job))
                if proc.returncode != 0:
                    sys.exit(f"training {job[0]}/{job[1]} (seed {job[2]}) failed with exit code {proc.returncode}")


def main() -> None:
    import resource

    from spacy_bilstm.io import atomic_open

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", nargs="*", default=CORPORA, choices=CORPORA)
    parser.add_argument("--systems", nargs="*", default=SYSTEMS, choices=SYSTEMS)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0], help="training seeds per neural system")
    parser.add_argument("--jobs", type=int, default=2, help="systems trained at once")
    parser.add_argument("--study", default="main", choices=list(STUDIES),
                        help="which table of the RESULTS.md section the run fills; 'tuning' adds "
                        "its rows to the earlier tuning runs instead of replacing them")
    parser.add_argument("--set", dest="overrides", nargs="*", default=[],
                        help="config overrides for the lstm_textcat systems, e.g. "
                        "components.lstm_textcat.model.hidden_width=128 (JSON values)")
    parser.add_argument("--no-report", action="store_true", help="do not write RESULTS.md or the chart")
    parser.add_argument("--child", nargs=3, metavar=("CORPUS", "SYSTEM", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        corpus, system, out = args.child
        train_system(corpus, system, Path(out), args.overrides, seed=args.seeds[0])
        return
    start = time.perf_counter()
    prepare_vectors()
    jobs: List[Tuple[str, str, int, Path]] = []
    results: List[Dict] = []
    tag = "_".join(o.rsplit(".", 1)[-1] for o in args.overrides).replace("=", "-")
    for corpus in args.corpora:
        paths = prepare_data(corpus)
        for system in args.systems:
            if system in BASELINES:
                result = run_baseline(corpus, system, paths)
                if result is not None and args.study != "tuning":
                    results.append(result)
            elif system in TARGET_SYSTEMS and corpus == "convote":
                continue  # ConVote has no stance targets: it would be the BiLSTM again.
            elif system in PARTY_SYSTEMS and corpus == "semeval":
                continue  # Tweets have no party: it would be the text-only system again.
            else:
                for seed in args.seeds:
                    name = f"{corpus}_{system}_s{seed}{'_' + tag if tag else ''}.json"
                    jobs.append((corpus, system, seed, WORK_DIR / "runs" / name))
    run_jobs(jobs, args.overrides, args.jobs)
    results += [json.loads(out.read_text()) for *_, out in jobs]
    order = {(c, s): (CORPORA.index(c), SYSTEMS.index(s)) for c in CORPORA for s in SYSTEMS}
    results.sort(key=lambda r: order[(r["corpus"], r["system"])])
    study_path = WORK_DIR / f"study_{args.study}.json"
    meta = {
        "machine": machine_description(),
        "date": today(),
        "wall_s": time.perf_counter() - start,
        "cpu_s": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime,
        "jobs": args.jobs,
        "load": f"{os.getloadavg()[0]:.1f}",
    }
    if args.no_report:
        print("\n".join(render_study(args.study, {"meta": {**meta, "commands": [command_line()]}, "results": results})))
        return
    import fcntl

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    # Tuning and seed runs add rows to their study (a rerun of the same corpus,
    # system, overrides and seed replaces its row); runs finishing at the same
    # time merge under a lock.
    with open(WORK_DIR / ".study.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        commands = [command_line()]
        if args.study in ("tuning", "seeds") and study_path.exists():
            earlier_study = json.loads(study_path.read_text())
            commands = [c for c in earlier_study["meta"]["commands"] if c != commands[0]] + commands
            keys = {(r["corpus"], r["system"], tuple(r["overrides"]), r["seed"]) for r in results}
            results = [
                r for r in earlier_study["results"]
                if (r["corpus"], r["system"], tuple(r["overrides"]), r["seed"]) not in keys
            ] + results
            results.sort(key=lambda r: order[(r["corpus"], r["system"])])
        study = {"meta": {**meta, "commands": commands}, "results": results}
        with atomic_open(study_path, "w") as f:
            json.dump(study, f, indent=2)
        write_section("textcat", render_section())
    print("\n".join(render_study(args.study, study)))
    if args.study == "main":
        plot(results)


if __name__ == "__main__":
    main()
