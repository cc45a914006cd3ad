"""Political NER: news-only against news + parliament, `bilstm_ner` against spaCy's `ner`.

Trains, in one run and under the same CPU-time budget each:

- bilstm_ner-news:  configs/bilstm_ner.cfg on CoNLL-2003 train;
- bilstm_ner-mixed: configs/bilstm_ner_political.cfg on CoNLL-2003 train and
  the parliamentary corpus (corpus/parliament), drawn by the config's weights;
- spacy_ner-news and spacy_ner-mixed: spaCy's default `ner` (`spacy init
  config -p ner`, CPU, efficiency) on the same two data sets, the mixed one
  through the same reader and weights;

and scores every one, plus `en_core_web_md` off the shelf (labels mapped), on
the parliamentary test split, CoNLL-2003 test (eng.testb) and WNUT-17 test
(person, location, corporation and group mapped to PER, LOC, ORG, ORG;
product and creative-work, which CoNLL has no label for, are left out of the
gold, and MISC predictions are dropped before scoring). The news systems keep
their best checkpoint on CoNLL dev, the mixed ones on the parliamentary dev.
Every system reads the same gold tokens.

    python benchmarks/bench_political.py --budget 480 --seeds 0 1 2 --jobs 2
    python benchmarks/bench_political.py --systems bilstm_ner-mixed --vectors floret --section political_ablation_floret
    python benchmarks/bench_political.py --vectors floret --char-lm parliament --section political_char_lm

With `--char-lm parliament`, the bilstm_ner systems also read contextual
features from character language models pretrained on the raw news and
parliamentary text (`spacy-bilstm char-lm`, test debates left out;
`spacy_bilstm.CharLMEmbed.v1`). spaCy's `ner` has no such input; both get
the same vectors and the same data.

It writes the table, per-label F1 and an error analysis (the ten most
frequent error patterns of bilstm_ner-news and bilstm_ner-mixed on the
parliamentary test, seed of the first run) to RESULTS.md. Budgets are CPU
seconds of each training process on one thread, so running two at once is
fair on two idle cores.
"""
import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from common import ROOT, WORK, apply_overrides, command_line, machine_description, prepare_conll, require_shared, today, write_section

SYSTEMS = ["bilstm_ner-news", "bilstm_ner-mixed", "spacy_ner-news", "spacy_ner-mixed"]
LABELS = ["PER", "LOC", "ORG", "MISC"]
TEST_SETS = ["parliament", "conll", "wnut17"]
WNUT_LABELS = {"person": "PER", "location": "LOC", "corporation": "ORG", "group": "ORG"}
# en_core_web_md's OntoNotes labels, mapped to CoNLL's; the rest (dates,
# numbers, money...) are not CoNLL entities and are dropped.
ONTONOTES = {
    "PERSON": "PER", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "ORG": "ORG",
    "NORP": "MISC", "EVENT": "MISC", "LAW": "MISC", "LANGUAGE": "MISC", "WORK_OF_ART": "MISC", "PRODUCT": "MISC",
}
PARLIAMENT = ROOT / "corpus" / "parliament"


def prepare_parliament(work: Path) -> Dict[str, Path]:
    """The parliamentary corpus's splits as DocBins (one sentence per Doc)."""
    import spacy
    from spacy.tokens import DocBin

    from spacy_bilstm.corpora.jsonl_ner import read_jsonl_ner

    nlp = spacy.blank("en")
    paths = {}
    for split in ("train", "dev", "test"):
        out = work / f"parliament_{split}.spacy"
        source = PARLIAMENT / f"{split}.jsonl"
        if not out.exists() or out.stat().st_mtime < source.stat().st_mtime:
            DocBin(docs=read_jsonl_ner(source, nlp), store_user_data=True).to_disk(out)
        paths[split] = out
    return paths


def prepare_wnut(work: Path) -> Path:
    """WNUT-17 test with its labels mapped to CoNLL's where they match."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from spacy_bilstm.corpora.conll import read_conll_ner

    out = work / "wnut17_test_conll_labels.spacy"
    if out.exists():
        return out
    source = require_shared("data", "wnut17", "emerging.test.annotated")
    mapped = work / "wnut17_test_conll_labels.conll"
    lines = []
    for line in source.read_text(encoding="utf8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1] != "O":
            prefix, _, label = parts[1].partition("-")
            parts[1] = f"{prefix}-{WNUT_LABELS[label]}" if label in WNUT_LABELS else "O"
        lines.append("\t".join(parts))
    mapped.write_text("\n".join(lines) + "\n", encoding="utf8")
    DocBin(docs=read_conll_ner(mapped, Vocab(), scheme="bio")).to_disk(out)
    return out


def _political_text_command(command: str, out: Path) -> str:
    # Runs `python -m spacy_bilstm COMMAND` (vectors, char-lm) on the raw text
    # of the shared data, the parliamentary test split's debates left out,
    # unless OUT is already there.
    if not out.exists():
        subprocess.run(
            [sys.executable, "-m", "spacy_bilstm", command, str(require_shared("data")), str(out),
             "--exclude-debates", str(PARLIAMENT / "test.jsonl")],
            check=True,
        )
    return str(out)


def prepare_vectors(work: Path, kind: str) -> str:
    """A vectors table for the ablations: "glove" (GloVe 6B 50d) or "floret"
    (trained here on lower-cased news and parliamentary text)."""
    if kind == "none":
        return ""
    if kind == "glove":
        out = work / "glove50_lower"
        if not out.exists():
            glove = require_shared("vectors", "glove.6B.50d.txt.gz")
            subprocess.run([sys.executable, "-m", "spacy", "init", "vectors", "en", str(glove), str(out), "--attr", "LOWER"],
                           check=True, stdout=subprocess.DEVNULL)
        return str(out)
    return _political_text_command("vectors", work / "floret_parliament")


def prepare_char_lm(work: Path, kind: str) -> str:
    """The character language models for `--char-lm parliament`: trained here,
    with the command's defaults, on the raw news and parliamentary text
    (the test split's debates left out), unless already there."""
    if kind == "none":
        return ""
    return _political_text_command("char-lm", work / "char_lm_parliament.pt")


def system_config(system: str, vectors: str, weights: Optional[Dict[str, float]], overrides: tuple,
                  char_lm: str = ""):
    """The training config of a system, as spaCy would load it."""
    from spacy.cli.init_config import init_config
    from thinc.api import Config

    model, data = system.split("-")
    if model == "bilstm_ner":
        name = "bilstm_ner_political.cfg" if data == "mixed" else "bilstm_ner.cfg"
        config = Config().from_disk(ROOT / "configs" / name, interpolate=False)
        tok2vec = config["components"]["bilstm_ner"]["model"]["tok2vec"]
        # Every system gets the same vectors, or none (the political config
        # asks for vectors by default).
        tok2vec["static_vectors"] = (
            {"@layers": "spacy_bilstm.StaticVectorsEmbed.v1", "nO": 64, "finetune": False, "attr": "LOWER"}
            if vectors
            else None
        )
        if char_lm:
            tok2vec["char_lm"] = {"@layers": "spacy_bilstm.CharLMEmbed.v1", "path": char_lm}
        apply_overrides(config, overrides)
    else:
        config = init_config(lang="en", pipeline=["ner"], optimize="efficiency", gpu=False)
        if vectors:
            config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] = True
        if data == "mixed":
            # The same reader and weights as bilstm_ner's political config.
            political = Config().from_disk(ROOT / "configs" / "bilstm_ner_political.cfg", interpolate=False)
            config["corpora"]["train"] = dict(political["corpora"]["train"])
    if data == "mixed" and weights:
        config["corpora"]["train"]["weights"] = dict(weights)
    return config


def _gold_tokens(nlp, docs):
    from spacy.tokens import Doc

    return [Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]) for d in docs]


def score(nlp, gold_docs, label_map: Optional[Dict[str, str]] = None, keep: Optional[set] = None) -> Tuple[Dict, list]:
    """Entity P/R/F, overall and per label, of `nlp` on `gold_docs` (gold
    tokens), and the predicted Docs.

    label_map maps the pipeline's labels to CoNLL's (unmapped labels are
    dropped); keep drops predicted labels the gold has no counterpart for.
    """
    from spacy.scorer import get_ner_prf
    from spacy.tokens import Span
    from spacy.training import Example

    examples = []
    predicted = list(nlp.pipe(_gold_tokens(nlp, gold_docs), batch_size=256))
    for pred, gold in zip(predicted, gold_docs):
        ents = []
        for ent in pred.ents:
            label = label_map.get(ent.label_) if label_map is not None else ent.label_
            if label is None or (keep is not None and label not in keep):
                continue
            ents.append(Span(pred, ent.start, ent.end, label=label))
        pred.set_ents(ents, default="outside")
        examples.append(Example(pred, gold))
    prf = get_ner_prf(examples)
    return {"p": prf["ents_p"], "r": prf["ents_r"], "f": prf["ents_f"], "per_type": prf["ents_per_type"]}, predicted


def load_test_sets(vocab, data: Dict) -> Dict[str, list]:
    from spacy.tokens import DocBin

    return {name: list(DocBin().from_disk(data[name]).get_docs(vocab)) for name in TEST_SETS}


def evaluate_everywhere(nlp, data: Dict, label_map=None) -> Dict:
    tests = load_test_sets(nlp.vocab, data)
    scores, predictions = {}, {}
    for name in TEST_SETS:
        keep = {"PER", "LOC", "ORG"} if name == "wnut17" else None
        scores[name], predictions[name] = score(nlp, tests[name], label_map, keep)
    return scores, predictions


class Trainer:
    """Train under a CPU-time budget, evaluating on dev every `eval_every`
    CPU seconds and keeping the best checkpoint's weights."""

    def __init__(self, nlp, T, dev_examples, eval_every: float, label: str):
        self.nlp, self.T, self.dev_examples = nlp, T, dev_examples
        self.eval_every, self.label = eval_every, label
        self.trained, self.steps, self.epochs = 0.0, 0, 0
        self.best_f, self.best_bytes, self.curve = -1.0, None, []
        self.next_eval = eval_every

    def run(self, train_corpus, budget: float, shuffle_rng=None) -> None:
        """Train until `self.trained` reaches `budget` CPU seconds."""
        nlp, T = self.nlp, self.T
        while self.trained < budget:
            self.epochs += 1
            examples = list(train_corpus(nlp))
            if shuffle_rng is not None:
                shuffle_rng.shuffle(examples)
            for batch in T["batcher"](examples):
                start = time.process_time()
                nlp.update(batch, sgd=T["optimizer"], drop=T["dropout"])
                self.trained += time.process_time() - start
                self.steps += 1
                if self.trained >= self.next_eval or self.trained >= budget:
                    self.evaluate()
                if self.trained >= budget:
                    return

    def evaluate(self) -> None:
        with self.nlp.use_params(self.T["optimizer"].averages or {}):
            dev = self.nlp.evaluate(self.dev_examples, batch_size=1000)
            if dev["ents_f"] > self.best_f:
                self.best_f, self.best_bytes = dev["ents_f"], self.nlp.to_bytes(exclude=["vocab"])
        self.curve.append({"train_s": round(self.trained, 1), "steps": self.steps, "dev_f": dev["ents_f"]})
        print(f"[{self.label}] {self.trained:6.0f}s step {self.steps} epoch {self.epochs} dev F {dev['ents_f']:.4f}", flush=True)
        self.next_eval += self.eval_every


def silver_corpus(nlp, data: Dict, out: Path, threshold: float, limit: int) -> Dict:
    """Self-training data: HanDeSeT sentences of the training debates (never a
    dev or test debate, never a gold sentence), labelled by `nlp`, kept when
    every entity's CRF marginal (`ent._.confidence`) is at least `threshold`
    and there is at least one entity. ConVote is left out: its text is
    lower-cased, unlike anything the model will be asked to read."""
    import spacy
    from spacy.tokens import DocBin

    from spacy_bilstm.cli.vectors import debate_group
    from spacy_bilstm.corpora import read_handeset

    drawn = [line.split("\t") for line in (PARLIAMENT / "src" / "sentences.tsv").read_text(encoding="utf8").splitlines()[1:]]
    train_groups = {debate_group("handeset", row[3]) for row in drawn if row[2] == "handeset" and row[1] == "train"}
    gold = {row[8] for row in drawn}
    splitter = spacy.blank("en")
    splitter.add_pipe("sentencizer")
    texts = []
    for speech in read_handeset(require_shared("data", "handeset", "HanDeSeT.csv"), splitter):
        if speech._.meta["group"] not in train_groups:
            continue
        for sent in splitter(speech.text).sents:
            text = " ".join(sent.text.split())
            if 5 <= len(sent) <= 50 and text not in gold:
                texts.append(text)
    texts = sorted(set(texts))
    kept = []
    for doc in nlp.pipe(texts, batch_size=256):
        if doc.ents and all(ent._.confidence >= threshold for ent in doc.ents):
            kept.append(doc)
    random.Random(0).shuffle(kept)
    kept = kept[:limit]
    DocBin(docs=kept).to_disk(out)
    return {"candidates": len(texts), "kept": len(kept), "entities": sum(len(d.ents) for d in kept)}


def train_and_score(system: str, data: Dict, budget: float, eval_every: float, out: Path, seed: int,
                    vectors: str, weights: Optional[Dict[str, float]], overrides: tuple,
                    self_train: float = 0.0, char_lm: str = "") -> None:
    """Child process: train for `budget` CPU seconds, keep the best dev
    checkpoint, score it on every test set; write the result to `out`.

    With `self_train` (a fraction of the budget), the last part of the budget
    continues from the best checkpoint with a third corpus, silver sentences
    labelled by that checkpoint, drawn at half the parliamentary weight.
    """
    import torch
    from spacy.tokens import DocBin
    from spacy.training.initialize import init_nlp
    from spacy.util import fix_random_seed, registry, resolve_dot_names

    from spacy_bilstm.corpora.mixed_corpus import create_mixed_corpus

    torch.set_num_threads(1)
    model, kind = system.split("-")
    config = system_config(system, vectors, weights, overrides, char_lm if model == "bilstm_ner" else "")
    config["paths"]["train"] = str(data["conll_train"])
    config["paths"]["dev"] = str(data["parliament_dev"] if kind == "mixed" else data["conll_dev"])
    if kind == "mixed":
        config["paths"]["parliament_train"] = str(data["parliament_train"])
    config["paths"]["vectors"] = vectors or None
    config["system"]["seed"] = seed
    config = config.interpolate()
    # spaCy's init config comes interpolated: set the resolved places too.
    if kind == "news":
        config["corpora"]["train"]["path"] = str(data["conll_train"])
    else:
        config["corpora"]["train"]["paths"] = {"news": str(data["conll_train"]), "parliament": str(data["parliament_train"])}
        config["corpora"]["train"]["seed"] = seed
    config["corpora"]["dev"]["path"] = config["paths"]["dev"]
    config["initialize"]["vectors"] = vectors or None
    config["training"]["seed"] = seed
    fix_random_seed(seed)
    nlp = init_nlp(config)
    T = registry.resolve(nlp.config["training"], schema=None)
    train_corpus, dev_corpus = resolve_dot_names(nlp.config, [T["train_corpus"], T["dev_corpus"]])
    trainer = Trainer(nlp, T, list(dev_corpus(nlp)), eval_every, f"{system} seed {seed}")
    rng = random.Random(seed) if kind == "news" else None
    silver = None
    if self_train:
        trainer.run(train_corpus, budget * (1 - self_train), rng)
        nlp.from_bytes(trainer.best_bytes, exclude=["vocab"])
        silver_path = out.with_suffix(".silver.spacy")
        silver = silver_corpus(nlp, data, silver_path, threshold=0.9, limit=3000)
        print(f"[{system} seed {seed}] silver: {silver}", flush=True)
        if silver["kept"]:
            mix = dict(config["corpora"]["train"]["weights"])
            mix["silver"] = mix["parliament"] / 2
            paths = dict(config["corpora"]["train"]["paths"], silver=str(silver_path))
            train_corpus = create_mixed_corpus(paths, mix, seed=seed + 1000)
        else:
            print(f"[{system} seed {seed}] no confident silver sentence: training goes on without one", flush=True)
    trainer.run(train_corpus, budget, rng)
    nlp.from_bytes(trainer.best_bytes, exclude=["vocab"])
    scores, predictions = evaluate_everywhere(nlp, data)
    DocBin(docs=predictions["parliament"]).to_disk(out.with_suffix(".parliament.spacy"))
    result = {
        "system": system + ("+self-training" if self_train else ""), "seed": seed,
        "vectors": Path(vectors).name if vectors else "",
        "char_lm": Path(char_lm).name if char_lm and model == "bilstm_ner" else "",
        "weights": dict(config["corpora"]["train"].get("weights", {})) if kind == "mixed" else {},
        "overrides": list(overrides), "budget_s": budget, "train_s": round(trainer.trained, 1), "steps": trainer.steps,
        "epochs": trainer.epochs, "best_dev_f": trainer.best_f, "test": scores, "curve": trainer.curve,
        "silver": silver,
    }
    out.write_text(json.dumps(result, indent=2))


def score_pretrained(name: str, data: Dict, out: Path) -> None:
    """Child process: a pretrained pipeline off the shelf, labels mapped."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.load(require_shared("models", name), exclude=["lemmatizer"])
    scores, predictions = evaluate_everywhere(nlp, data, label_map=ONTONOTES)
    DocBin(docs=predictions["parliament"]).to_disk(out.with_suffix(".parliament.spacy"))
    out.write_text(json.dumps({"system": name, "seed": None, "test": scores}, indent=2))


# ---------------------------------------------------------------- the report

def _mean_std(values: List[float]) -> str:
    values = [100 * v for v in values]
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def error_patterns(gold_docs, pred_docs, top: int = 10) -> List[tuple]:
    """The most frequent error patterns of one system on one test set.

    An error is a gold entity not predicted exactly, or a predicted entity
    not in the gold. Its pattern says how it went wrong: the label confused
    (same span, other label), a boundary (overlapping spans: title inside a
    PER, a word too many or too few), missed, or spurious; with the label,
    and the most frequent surface forms as examples.
    """
    TITLES = {"mr", "mrs", "ms", "dr", "sir", "mr.", "mrs.", "ms.", "dr.", "lord", "lady", "dame", "hon.", "senator", "president"}
    patterns: Counter = Counter()
    examples: Dict[str, Counter] = {}
    for gold, pred in zip(gold_docs, pred_docs):
        g = {(e.start, e.end): e for e in gold.ents}
        p = {(e.start, e.end): e for e in pred.ents}
        for key, ge in g.items():
            if key in p and p[key].label_ == ge.label_:
                continue
            if key in p:
                pattern = f"{ge.label_} labelled {p[key].label_}"
            else:
                overlap = [pe for pe in pred.ents if pe.start < ge.end and ge.start < pe.end]
                if overlap:
                    pe = overlap[0]
                    if ge.label_ == "PER" and pe.start < ge.start and pred[pe.start].lower_ in TITLES:
                        pattern = "title inside PER span"
                    elif len(overlap) == 1 and pe.start <= ge.start and pe.end >= ge.end:
                        pattern = f"{ge.label_} span too long" + ("" if pe.label_ == ge.label_ else f" (as {pe.label_})")
                    else:
                        pattern = f"{ge.label_} span cut short" + ("" if pe.label_ == ge.label_ else f" (as {pe.label_})")
                else:
                    pattern = f"{ge.label_} missed"
            patterns[pattern] += 1
            examples.setdefault(pattern, Counter())[ge.text] += 1
        for key, pe in p.items():
            if key in g or any(ge.start < pe.end and pe.start < ge.end for ge in gold.ents):
                continue
            pattern = f"spurious {pe.label_}"
            patterns[pattern] += 1
            examples.setdefault(pattern, Counter())[pe.text] += 1
    return [(pattern, n, [text for text, _ in examples[pattern].most_common(4)]) for pattern, n in patterns.most_common(top)]


def render(results: List[Dict], pretrained: Optional[Dict], budget: float, jobs: int, analysis: str) -> str:
    systems = list(dict.fromkeys(r["system"] for r in results))
    seeds = sorted({r["seed"] for r in results})
    lines = [
        "## Political NER: news only vs news + parliament, `bilstm_ner` vs spaCy's `ner`",
        "",
        f"Command: `{command_line()}`  ",
        f"Machine: {machine_description()}  ",
        f"Date: {today()}; seeds {', '.join(map(str, seeds))}; one thread per system, {jobs} at a time; "
        f"training budget {budget:.0f} CPU seconds each (dev evaluation not charged). Mean ± std over seeds.",
        "",
        "Tests: our parliamentary test split (corpus/parliament/test.jsonl, debates unseen in training), CoNLL-2003 "
        "eng.testb, and WNUT-17 test (PER/LOC/ORG only: person, location, corporation+group; MISC predictions dropped). "
        "News systems keep their best checkpoint on CoNLL dev, mixed ones on the parliamentary dev. "
        "Entity-level F1 (spaCy's scorer) on the gold tokens.",
        "",
        "| system | vectors (+ char LM) | steps | parliament F1 | CoNLL F1 | WNUT-17 F1 | parliament P | parliament R | parliament F1 by seed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for system in systems:
        runs = [r for r in results if r["system"] == system]
        lines.append(
            f"| {system} | {runs[0]['vectors'] or 'none'}{' + char LM' if runs[0].get('char_lm') else ''} | {statistics.mean(r['steps'] for r in runs):,.0f} | "
            + " | ".join(f"**{_mean_std([r['test'][t]['f'] for r in runs])}**" if t == "parliament" else _mean_std([r['test'][t]['f'] for r in runs]) for t in TEST_SETS)
            + f" | {_mean_std([r['test']['parliament']['p'] for r in runs])} | {_mean_std([r['test']['parliament']['r'] for r in runs])} | "
            + " / ".join(f"{100 * r['test']['parliament']['f']:.2f} (seed {r['seed']})" for r in runs)
            + " |"
        )
    if pretrained:
        t = pretrained["test"]
        lines.append(
            f"| en_core_web_md (off the shelf, labels mapped) | its own 300d | – | **{100 * t['parliament']['f']:.2f}** | "
            f"{100 * t['conll']['f']:.2f} | {100 * t['wnut17']['f']:.2f} | {100 * t['parliament']['p']:.2f} | {100 * t['parliament']['r']:.2f} | – |"
        )
    lines += ["", "Per-label F1 on the parliamentary test (mean over seeds):", "",
              "| system | " + " | ".join(LABELS) + " |", "|---|" + "---|" * len(LABELS)]
    for system in systems:
        runs = [r for r in results if r["system"] == system]
        lines.append(f"| {system} | " + " | ".join(
            _mean_std([r["test"]["parliament"]["per_type"].get(label, {}).get("f", 0.0) for r in runs]) for label in LABELS) + " |")
    if pretrained:
        per = pretrained["test"]["parliament"]["per_type"]
        lines.append("| en_core_web_md | " + " | ".join(f"{100 * per.get(label, {}).get('f', 0.0):.2f}" for label in LABELS) + " |")
    lines += ["", "Per-label F1 on CoNLL-2003 test and WNUT-17 (mean over seeds):", "",
              "| system | " + " | ".join(f"CoNLL {label}" for label in LABELS) + " | " + " | ".join(f"WNUT {label}" for label in LABELS[:3]) + " |",
              "|---|" + "---|" * 7]
    for system in systems:
        runs = [r for r in results if r["system"] == system]
        lines.append(f"| {system} | " + " | ".join(
            _mean_std([r["test"]["conll"]["per_type"].get(label, {}).get("f", 0.0) for r in runs]) for label in LABELS) + " | " + " | ".join(
            _mean_std([r["test"]["wnut17"]["per_type"].get(label, {}).get("f", 0.0) for r in runs]) for label in LABELS[:3]) + " |")
    targets = _targets(results)
    if targets:
        lines += ["", *targets]
    if analysis:
        lines += ["", analysis]
    return "\n".join(lines) + "\n"


def _targets(results: List[Dict]) -> List[str]:
    def scores(system, test):
        return [100 * r["test"][test]["f"] for r in results if r["system"] == system]

    out = []
    mixed, spacy_mixed = scores("bilstm_ner-mixed", "parliament"), scores("spacy_ner-mixed", "parliament")
    news_conll, mixed_conll = scores("bilstm_ner-news", "conll"), scores("bilstm_ner-mixed", "conll")
    if mixed:
        m = statistics.mean(mixed)
        out.append(f"- Target: bilstm_ner (news + parliament) >= 85 F1 on the parliamentary test: {m:.2f} → {'met' if m >= 85 else 'not met'}.")
    if mixed and spacy_mixed:
        d = statistics.mean(mixed) - statistics.mean(spacy_mixed)
        out.append(f"- Target: >= 5 points above spaCy's `ner` on the same data: {d:+.2f} → {'met' if d >= 5 else 'not met'}.")
    if news_conll and mixed_conll:
        d = statistics.mean(mixed_conll) - statistics.mean(news_conll)
        out.append(f"- Target: CoNLL test no more than 0.5 below the CoNLL-only model: {d:+.2f} → {'met' if d >= -0.5 else 'not met'}.")
    return out


def render_analysis(data: Dict, outs: Dict, seed: int) -> str:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    gold = list(DocBin().from_disk(data["parliament"]).get_docs(nlp.vocab))
    lines = [f"Error analysis on the parliamentary test (seed {seed}): the ten most frequent error patterns, with frequent surface forms.", ""]
    for system in ("bilstm_ner-news", "bilstm_ner-mixed"):
        path = outs.get((system, seed))
        if path is None or not path.with_suffix(".parliament.spacy").exists():
            continue
        pred = list(DocBin().from_disk(path.with_suffix(".parliament.spacy")).get_docs(nlp.vocab))
        lines += [f"**{system}**", "", "| pattern | errors | examples |", "|---|---|---|"]
        for pattern, n, texts in error_patterns(gold, pred):
            lines.append(f"| {pattern} | {n} | {', '.join(repr(t) for t in texts)} |")
        lines.append("")
    return "\n".join(lines)


def wait_for(running: list, at_most: int) -> None:
    """Wait until at most `at_most` child processes run; stop on a failure."""
    while len(running) > at_most:
        finished = [(name, proc) for name, proc in running if proc.poll() is not None]
        for name, proc in finished:
            if proc.returncode != 0:
                sys.exit(f"[{name}] failed with exit status {proc.returncode}")
            running.remove((name, proc))
        if not finished:
            time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=480.0, help="training CPU seconds per system")
    parser.add_argument("--eval-every", type=float, default=60.0, help="training CPU seconds between dev evaluations")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--systems", nargs="*", default=SYSTEMS, choices=SYSTEMS)
    parser.add_argument("--vectors", choices=["none", "glove", "floret"], default="none",
                        help="static vectors for every system: GloVe 50d, or floret trained on news + parliament text")
    parser.add_argument("--char-lm", choices=["none", "parliament"], default="none",
                        help="bilstm_ner also reads character language models pretrained on news + parliament text")
    parser.add_argument("--char-lm-path", default="", help=argparse.SUPPRESS)
    parser.add_argument("--weights", default="", metavar="NEWS:PARLIAMENT",
                        help="sampling weights of the mixed systems (default: the political config's)")
    parser.add_argument("--set", nargs="*", default=[], metavar="PATH=JSON", help="config overrides for bilstm_ner")
    parser.add_argument("--self-train", type=float, default=0.0, metavar="FRACTION",
                        help="spend this fraction of each mixed bilstm_ner budget on self-training (silver HanDeSeT sentences)")
    parser.add_argument("--no-pretrained", action="store_true", help="do not score en_core_web_md")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--section", default="political", help="RESULTS.md section name")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the results of runs already in benchmarks/work (same systems, seeds and options); train the rest")
    parser.add_argument("--child", nargs=2, metavar=("SYSTEM", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--vectors-path", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    weights = None
    if args.weights:
        try:
            news, parl = (float(x) for x in args.weights.split(":"))
        except ValueError:
            parser.error(f"--weights {args.weights!r}: expected NEWS:PARLIAMENT, e.g. 1:1")
        weights = {"news": news, "parliament": parl}
    WORK.mkdir(parents=True, exist_ok=True)
    conll = prepare_conll(WORK)
    parliament = prepare_parliament(WORK)
    data = {
        "conll_train": conll["train"], "conll_dev": conll["dev"], "conll": conll["test"],
        "parliament_train": parliament["train"], "parliament_dev": parliament["dev"], "parliament": parliament["test"],
        "wnut17": prepare_wnut(WORK),
    }
    if args.child:
        if args.child[0] == "en_core_web_md-3.8.0":
            score_pretrained(args.child[0], data, Path(args.child[1]))
        else:
            self_train = args.self_train if args.child[0] == "bilstm_ner-mixed" else 0.0
            train_and_score(args.child[0], data, args.budget, args.eval_every, Path(args.child[1]), args.seed,
                            args.vectors_path, weights, tuple(args.set), self_train, args.char_lm_path)
        return
    vectors = prepare_vectors(WORK, args.vectors)
    char_lm = prepare_char_lm(WORK, args.char_lm)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # hash() of strings is salted per process: name the overrides with a stable digest.
    digest = hashlib.sha1(" ".join(args.set).encode("utf8")).hexdigest()[:10] if args.set else "base"
    # The budget is part of the name, so that --reuse never mixes runs of different lengths.
    tag = (f"{args.vectors}_{args.weights.replace(':', 'to') or 'cfg'}_{digest}_b{args.budget:g}"
           + (f"_self{args.self_train}" if args.self_train else "")
           + ("_charlm" if char_lm else ""))
    jobs = []
    if not args.no_pretrained:
        jobs.append(("en_core_web_md-3.8.0", None, WORK / "political_en_core_web_md.json"))
    for seed in args.seeds:
        for system in args.systems:
            jobs.append((system, seed, WORK / f"political_{system}_{tag}_seed{seed}.json"))
    running = []
    for system, seed, out in jobs:
        if args.reuse and out.exists():
            print(f"== {system} seed {seed}: reusing {out.name}", flush=True)
            continue
        cmd = [sys.executable, __file__, "--child", system, str(out), "--budget", str(args.budget),
               "--eval-every", str(args.eval_every), "--seed", str(seed or 0), "--vectors-path", vectors,
               "--weights", args.weights, "--self-train", str(args.self_train), "--char-lm-path", char_lm,
               "--set", *args.set]
        print(f"== {system} seed {seed}", flush=True)
        running.append((system, subprocess.Popen(cmd, env=env)))
        wait_for(running, args.jobs - 1)
    wait_for(running, 0)
    results = [json.loads(out.read_text()) for system, seed, out in jobs if seed is not None]
    pretrained = None if args.no_pretrained else json.loads(jobs[0][2].read_text())
    outs = {(system, seed): out for system, seed, out in jobs}
    analysis = render_analysis(data, outs, args.seeds[0])
    table = render(results, pretrained, args.budget, args.jobs, analysis)
    print(table)
    if not args.no_write:
        write_section(args.section, table)


if __name__ == "__main__":
    main()
