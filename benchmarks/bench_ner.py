"""CoNLL-2003: `bilstm_ner` against spaCy's `ner` under the same time budget.

Each system trains in its own subprocess (so peak memory is its own), from
its own default training config, for the same wall-clock budget on the same
converted training data; the best dev (eng.testa) checkpoint is then scored
on eng.testb (test) and timed on pre-tokenised test docs with `nlp.pipe`.

    python benchmarks/bench_ner.py --budget 600
    python benchmarks/bench_ner.py --budget 600 --vectors
    python benchmarks/bench_ner.py --systems bilstm_ner --set components.bilstm_ner.model.dropout=0.5 --no-write
    python benchmarks/bench_ner.py --doc-sents 8   # Docs of 8 sentences: context for every system

The systems:
- spacy_ner: `spacy init config -p ner` (CPU, efficiency), unchanged.
- spacy_ner_torch_bilstm: the same with `spacy.TorchBiLSTMEncoder.v1` as
  the tok2vec encoder (width 96, depth 2 — spaCy's documented example).
- bilstm_ner: configs/bilstm_ner.cfg, unchanged.
- spacy_ner_lower: spacy_ner with its vectors table read by lower case
  (only with --vectors, and run by default with it; see below).
With --vectors, all of them also get GloVe 6B 50d (from ../shared/vectors),
converted with `spacy init vectors --attr LOWER`. spaCy 3.8 does not save
that attribute with the table, so once the table is loaded (as `spacy train`
loads it) spaCy's `ner` looks GloVe up by the exact text and "Labour" finds
no vector. spacy_ner_lower gives spaCy's `ner` the lower-case lookup that
`bilstm_ner` gets from `vectors_attr = "LOWER"`, by rebuilding the table with
`attr="LOWER"` in the training process: the peer without that handicap.

Every system runs on one thread (torch, BLAS), and budgets and speeds are
measured in CPU seconds of that process (`time.process_time`): on an idle
core that equals wall-clock time, and it keeps the comparison fair when the
machine is shared with other work. Evaluation on dev is not charged to the
training budget.
"""
import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, WORK, apply_overrides, command_line, machine_description, prepare_conll, require_shared, today, write_section

SYSTEMS = ["spacy_ner", "spacy_ner_torch_bilstm", "bilstm_ner", "spacy_ner_lower"]
# Run when no --systems are given: spacy_ner_lower only with --vectors (GloVe
# is lower-cased; a cased table such as en_core_web_md's is read as it is).
DEFAULT_SYSTEMS = SYSTEMS[:3]


def prepare_vectors(work: Path) -> Path:
    out = work / "glove50_lower"
    if not out.exists():
        glove = require_shared("vectors", "glove.6B.50d.txt.gz")
        subprocess.run(
            [sys.executable, "-m", "spacy", "init", "vectors", "en", str(glove), str(out), "--attr", "LOWER"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return out


def system_config(system: str, vectors: Path = None, overrides: tuple = ()):
    """The training config of a system, as spaCy would load it. `overrides`
    ("dotted.path=JSON value") apply to bilstm_ner only."""
    from spacy.cli.init_config import init_config
    from thinc.api import Config

    if system == "bilstm_ner":
        config = Config().from_disk(ROOT / "configs" / "bilstm_ner.cfg")
        if vectors:
            # spaCy's frozen vectors mixed into the hash embeddings, as in the
            # runs this script has published; only WordCharEmbed.v1 builds that.
            tok2vec = config["components"]["bilstm_ner"]["model"]["tok2vec"]
            tok2vec["@architectures"] = "spacy_bilstm.WordCharEmbed.v1"
            tok2vec["include_static_vectors"] = True
        apply_overrides(config, overrides)
    else:
        config = init_config(lang="en", pipeline=["ner"], optimize="efficiency", gpu=False)
        if system == "spacy_ner_torch_bilstm":
            config["components"]["tok2vec"]["model"]["encode"] = {
                "@architectures": "spacy.TorchBiLSTMEncoder.v1",
                "width": 96,
                "depth": 2,
                "dropout": 0.0,
            }
        if vectors:
            config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] = True
    return config


def read_vectors_by_lower_case(nlp) -> None:
    """Rebuild `nlp.vocab.vectors` with attr="LOWER": the same rows and keys,
    so spaCy's StaticVectors (which reads `vocab.vectors.attr`) looks words
    up by their lower-case form. spaCy does not save the attribute, so this
    holds only in this process, which never reloads the vocab."""
    from spacy.vectors import Vectors

    old = nlp.vocab.vectors
    new = Vectors(strings=nlp.vocab.strings, data=old.data, name=old.name, attr="LOWER")
    for key, row in old.key2row.items():
        new.add(key, row=row)
    nlp.vocab.vectors = new


def train_and_score(
    system: str, paths: dict, budget: float, vectors: str, eval_every: float, out: Path, overrides: tuple = (),
    seed: int = 0,
) -> None:
    """Child process: train for `budget` seconds, keep the best dev model,
    score it on test and time inference. Writes a JSON result to `out`."""
    import random

    import numpy
    import torch
    from spacy.tokens import Doc, DocBin
    from spacy.training import Example
    from spacy.training.initialize import init_nlp
    from spacy.util import fix_random_seed, registry, resolve_dot_names

    torch.set_num_threads(1)
    config = system_config(system, Path(vectors) if vectors else None, overrides)
    # Set the resolved places too: `spacy init config` returns an
    # interpolated config in which ${paths.*} are already filled in.
    config["paths"]["train"] = config["corpora"]["train"]["path"] = str(paths["train"])
    config["paths"]["dev"] = config["corpora"]["dev"]["path"] = str(paths["dev"])
    config["paths"]["vectors"] = config["initialize"]["vectors"] = vectors or None
    config["system"]["seed"] = config["training"]["seed"] = seed
    fix_random_seed(seed)
    nlp = init_nlp(config)
    if system == "spacy_ner_lower":
        read_vectors_by_lower_case(nlp)
    T = registry.resolve(nlp.config["training"], schema=None)
    train_corpus, dev_corpus = resolve_dot_names(nlp.config, [T["train_corpus"], T["dev_corpus"]])
    train_examples = list(train_corpus(nlp))
    dev_examples = list(dev_corpus(nlp))
    if not train_examples or not dev_examples:
        sys.exit(f"[{system}] no training or dev examples: check {paths}")
    optimizer = T["optimizer"]
    batcher = T["batcher"]
    dropout = T["dropout"]
    rng = random.Random(seed)
    trained, steps, epochs = 0.0, 0, 0
    best_f, best_bytes, curve = -1.0, None, []
    next_eval = eval_every
    done = False
    while not done:
        epochs += 1
        rng.shuffle(train_examples)
        for batch in batcher(train_examples):
            start = time.process_time()
            nlp.update(batch, sgd=optimizer, drop=dropout)
            trained += time.process_time() - start
            steps += 1
            if trained >= next_eval or trained >= budget:
                # As `spacy train` does: with use_averages, the averaged
                # parameters are the ones evaluated and kept.
                with nlp.use_params(optimizer.averages or {}):
                    scores = nlp.evaluate(dev_examples, batch_size=1000)
                    if scores["ents_f"] > best_f:
                        # The weights only: the vocab (with its vectors
                        # table) stays in memory and is never trained.
                        best_f, best_bytes = scores["ents_f"], nlp.to_bytes(exclude=["vocab"])
                curve.append({"train_s": round(trained, 1), "steps": steps, "dev_f": scores["ents_f"]})
                print(f"[{system}] {trained:6.0f}s step {steps} epoch {epochs} dev F {scores['ents_f']:.4f}", flush=True)
                next_eval += eval_every
            if trained >= budget:
                done = True
                break
    nlp.from_bytes(best_bytes, exclude=["vocab"])
    test_docs = list(DocBin().from_disk(paths["test"]).get_docs(nlp.vocab))
    test_examples = [Example(nlp.make_doc(d.text), d) for d in test_docs]
    test = nlp.evaluate(test_examples, batch_size=1000)
    # Inference speed on pre-tokenised docs: words and spaces as in the data.
    words = [Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]) for d in test_docs]
    n_words = sum(len(d) for d in words)
    list(nlp.pipe(words[:500], batch_size=1000))  # warm-up
    timings = []
    for _ in range(3):
        fresh = [d.copy() for d in words]
        start = time.process_time()
        for _doc in nlp.pipe(fresh, batch_size=1000):
            pass
        timings.append(time.process_time() - start)
    result = {
        "system": system,
        "seed": seed,
        "vectors": _vectors_name(vectors),
        "overrides": list(overrides) if system == "bilstm_ner" else [],
        "budget_s": budget,
        "train_s": round(trained, 1),
        "steps": steps,
        "epochs": epochs,
        "best_dev_f": best_f,
        "test": {
            "p": test["ents_p"],
            "r": test["ents_r"],
            "f": test["ents_f"],
            "per_type": test["ents_per_type"],
        },
        "words_per_s": n_words / float(numpy.median(timings)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "curve": curve,
    }
    out.write_text(json.dumps(result, indent=2))


def _vectors_name(vectors: str) -> str:
    # "" (none), "glove" (the GloVe 50d table this script builds) or the
    # name of the pipeline directory the vectors come from.
    if not vectors:
        return ""
    return "glove" if Path(vectors).resolve() == (WORK / "glove50_lower").resolve() else Path(vectors).name


def _vectors_label(name) -> str:
    # Results written before the vectors were named hold True or False.
    if name is True or name == "glove":
        return "GloVe 50d"
    return name or "none"


def render(results: list, budget: float, loads: list, jobs: int = 1, doc_sents: int = 1) -> str:
    types = ["PER", "LOC", "ORG", "MISC"]
    vectors = results[0].get("vectors")
    lines = [
        "## CoNLL-2003 NER: `bilstm_ner` vs spaCy's `ner`"
        + (f", with {_vectors_label(vectors)} vectors" if vectors else "")
        + (", spaCy's `ner` reading them by lower case (spacy_ner_lower)"
           if any(r["system"] == "spacy_ner_lower" for r in results) else "")
        + (f", repeated with seed {results[0]['seed']}" if results[0].get("seed") else ""),
        "",
        f"Command: `{command_line()}`  ",
        f"Machine: {machine_description()}  ",
        f"Date: {today()}; seed {results[0].get('seed', 0)}; one thread per system, {jobs} system{'s' if jobs > 1 else ''} at a time; training budget {budget:.0f} CPU seconds "
        f"each (dev evaluation not charged); words/s are per CPU second. Load average after "
        f"each system: {', '.join(loads)} (the machine was shared, hence CPU-time budgets).",
        "",
        "Test = eng.testb, best checkpoint on eng.testa. P/R/F1 are entity-level (spaCy's scorer). "
        + (
            "Every Doc is one sentence."
            if doc_sents == 1
            else f"Every Doc is up to {doc_sents} consecutive sentences of one article (train, dev and test alike)."
        ),
        "",
        "| system | vectors | steps | epochs | dev F1 | test P | test R | test F1 | "
        + " | ".join(f"F1 {t}" for t in types)
        + " | words/s (1 CPU thread) | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(types) + "---|---|",
    ]
    for r in results:
        per = r["test"]["per_type"]
        name = r["system"] + (f" ({', '.join(r['overrides'])})" if r.get("overrides") else "")
        lines.append(
            f"| {name} | {_vectors_label(r['vectors'])} | {r['steps']} | {r['epochs']} | "
            f"{100 * r['best_dev_f']:.2f} | {100 * r['test']['p']:.2f} | {100 * r['test']['r']:.2f} | "
            f"**{100 * r['test']['f']:.2f}** | "
            + " | ".join(f"{100 * per.get(t, {}).get('f', 0.0):.1f}" for t in types)
            + f" | {r['words_per_s']:,.0f} | {r['peak_rss_mb']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds per system")
    parser.add_argument("--eval-every", type=float, default=60.0, help="training seconds between dev evaluations")
    vectors_choice = parser.add_mutually_exclusive_group()
    vectors_choice.add_argument("--vectors", action="store_true", help="also give every system GloVe 50d vectors")
    vectors_choice.add_argument("--vectors-from", default="", metavar="PIPELINE",
                                help="give every system this pipeline's vectors instead (e.g. en_core_web_md)")
    parser.add_argument("--systems", nargs="*", default=None, choices=SYSTEMS,
                        help="default: the first three, and spacy_ner_lower with --vectors")
    parser.add_argument("--section", default=None, help="RESULTS.md section name (default ner or ner_vectors)")
    parser.add_argument("--set", nargs="*", default=[], metavar="PATH=JSON",
                        help="config overrides for bilstm_ner, e.g. components.bilstm_ner.model.dropout=0.5")
    parser.add_argument("--jobs", type=int, default=1,
                        help="systems trained at once (budgets are CPU seconds, so this is fair on idle cores)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    parser.add_argument("--seed", type=int, default=0, help="seed of every system's initialisation and data order")
    parser.add_argument("--doc-sents", type=int, default=1,
                        help="sentences per Doc (never across articles): context for every system")
    parser.add_argument("--child", nargs=2, metavar=("SYSTEM", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--vectors-path", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.doc_sents < 1:
        parser.error(f"--doc-sents must be at least 1, got {args.doc_sents}")
    if args.systems is None:
        args.systems = SYSTEMS if args.vectors else DEFAULT_SYSTEMS
    if "spacy_ner_lower" in args.systems and not (args.vectors or args.child):
        parser.error("spacy_ner_lower reads GloVe by lower case: give --vectors (a cased table such as en_core_web_md's is read as it is)")
    WORK.mkdir(parents=True, exist_ok=True)
    paths = prepare_conll(WORK, args.doc_sents)
    if args.child:
        train_and_score(
            args.child[0], paths, args.budget, args.vectors_path, args.eval_every, Path(args.child[1]), tuple(args.set),
            seed=args.seed,
        )
        return
    if args.vectors_from:
        vectors = str(Path(args.vectors_from).resolve())
        if not (Path(vectors) / "vocab" / "vectors").exists():
            sys.exit(f"--vectors-from {args.vectors_from}: no vocab/vectors in it (give a spaCy pipeline directory)")
    else:
        vectors = str(prepare_vectors(WORK)) if args.vectors else ""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    suffix = (f"_{_vectors_name(vectors)}" if vectors else "") + ("_" + "_".join(args.set).replace("/", "-") if args.set else "")
    suffix += f"_seed{args.seed}" if args.seed else ""
    suffix += f"_{args.doc_sents}sents" if args.doc_sents != 1 else ""
    if len(suffix) > 150:
        # Long overrides would exceed the file system's 255-byte names.
        suffix = suffix[:100] + "_" + hashlib.sha1(suffix.encode("utf8")).hexdigest()[:12]
    outs, loads, running = {}, {}, []
    for system in args.systems:
        outs[system] = WORK / f"ner_{system}{suffix}.json"
        cmd = [sys.executable, __file__, "--child", system, str(outs[system]), "--budget", str(args.budget),
               "--eval-every", str(args.eval_every), "--vectors-path", vectors, "--seed", str(args.seed), "--doc-sents", str(args.doc_sents),
               "--set", *args.set]
        print(f"== {system}: training for {args.budget:.0f} CPU s", flush=True)
        running.append((system, subprocess.Popen(cmd, env=env)))
        while len(running) >= args.jobs or (running and system == args.systems[-1]):
            finished = [(name, proc) for name, proc in running if proc.poll() is not None]
            for name, proc in finished:
                if proc.returncode != 0:
                    sys.exit(f"[{name}] failed with exit status {proc.returncode}")
                loads[name] = f"{os.getloadavg()[0]:.1f}"
                running.remove((name, proc))
            if not finished:
                time.sleep(2)
    results = [json.loads(outs[system].read_text()) for system in args.systems]
    section = args.section or ("ner_vectors" if vectors else "ner")
    table = render(results, args.budget, [loads[system] for system in args.systems], args.jobs, args.doc_sents)
    print(table)
    if not args.no_write:
        write_section(section, table)


if __name__ == "__main__":
    main()
