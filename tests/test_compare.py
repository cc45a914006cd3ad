"""benchmarks/compare.py: equal seeds give identical lstm_textcat weights and
different seeds different ones; the report tables from a tiny fixture."""
import sys
from pathlib import Path

import pytest
from thinc.api import Config

from .stance_fixtures import write_stance_docbins

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture(scope="module")
def compare():
    if not (BENCHMARKS / "stance_systems.py").exists():
        pytest.skip("benchmarks/stance_systems.py (which compare.py builds on) is not in this checkout")
    sys.path.insert(0, str(BENCHMARKS))
    import compare as module

    return module


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("compare_seeds")
    write_stance_docbins(root / "fit.spacy", root / "stop.spacy")
    return root


def _small_config() -> Config:
    config = Config().from_disk(ROOT / "configs" / "lstm_textcat.cfg", interpolate=False)
    model = config["components"]["lstm_textcat"]["model"]
    model.update(hidden_width=8, attention_width=8, static_vectors=None)
    model["tok2vec"].update(width=8, rows=[100, 50, 50, 50])
    config["training"]["batcher"]["size"] = 8
    return config


def _weights(compare, data: Path, seed: int) -> bytes:
    nlp, record = compare.fit_seeded(
        _small_config(), data / "fit.spacy", data / "stop.spacy", seed, max_epochs=2, patience=2, metric="macro_f"
    )
    assert record["epochs"] >= 1
    return nlp.get_pipe("lstm_textcat").model.to_bytes()


def test_seed_loop_weights(compare, data):
    first = _weights(compare, data, 0)
    assert _weights(compare, data, 0) == first
    assert _weights(compare, data, 1) != first


def test_report_tables_from_a_tiny_fixture(compare, tmp_path):
    """summarise + render turn per-seed predictions into the report tables."""
    import argparse

    gold = ["FAVOR", "AGAINST", "NONE", "FAVOR", "AGAINST", "NONE"] * 10
    labels = ["AGAINST", "FAVOR", "NONE"]
    perfect = list(gold)
    constant = ["AGAINST"] * len(gold)
    noisy = [g if i % 4 else "NONE" for i, g in enumerate(gold)]

    def entry(system, preds, variant=""):
        return {
            "corpus": "semeval", "task": "stance", "system": system, "variant": variant, "labels": labels,
            "gold": gold, "seeds": list(range(len(preds))), "preds": preds, "train_s": [1.0] * len(preds),
            "params": {"C": 1.0} if len(preds) == 1 else {"epochs (best)": ["2 (1)"] * len(preds)},
        }

    main = [entry("majority", [constant]), entry("ngram_svm", [noisy]), entry("bilstm", [perfect, noisy, perfect])]
    ablations = [entry("bilstm", [perfect, noisy, perfect]), entry("bilstm", [noisy, noisy, perfect], "cell_gru")]

    def metric_of(e):
        return compare.primary_metric(e["corpus"], e["task"])

    compare.summarise(main, metric_of)
    compare.summarise(ablations, metric_of)
    args = argparse.Namespace(seeds=3, budget=60.0, jobs=2, quick=False, ablation_corpus="semeval")
    skipped = [{"corpus": "convote", "task": "party", "system": "bilstm", "variant": "", "seed": 2}]
    text = compare.render(main, ablations, skipped, args, 90.0, {})
    assert "## semeval, stance (mean F1 FAVOR/AGAINST; 60 test documents, labels AGAINST, FAVOR, NONE)" in text
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert rows["BiLSTM"].split(" | ")[1:3] == ["3", "0.952 ± 0.082"]
    assert " | best | " in rows["BiLSTM"]
    assert rows["majority class"].split(" | ")[6] == "no"  # far below the best: outside the noise
    # The reference row names the settings SemEval's BiLSTM really trains with.
    assert "cell: GRU" in rows and "reference: GloVe fine-tuned, LSTM, bidirectional, width 64, dropout 0.5" in rows
    assert "- convote/party/bilstm seed 2" in text
    # The findings compare the best neural system with the best linear one.
    assert "- **semeval, stance**: BiLSTM (0.952) beats the linear SVM" in text
    assert "scores 0.952 against 0.857 for the SVM n-gram baseline trained in the same run: it beats it, by 0.095" in text
    compare.plot(main, ablations, tmp_path)
    assert (tmp_path / "comparison_systems.png").stat().st_size > 0
    assert (tmp_path / "comparison_ablations.png").stat().st_size > 0


def test_neural_rows_are_paired_with_the_svm_and_party_only_and_rebels_scored_apart(compare):
    """Each neural row carries its paired difference to the SVM and to party
    only; the rebel table scores the speeches against the party line alone."""
    import argparse

    gold = ["yes", "yes", "no", "no"] * 15
    labels = ["no", "yes"]
    # Every fourth speech is a rebel: its party usually says "yes"...
    rebels = [i % 4 == 2 for i in range(len(gold))]
    party_only = ["yes" if i % 4 < 3 else "no" for i in range(len(gold))]
    text_party = list(gold)  # reads the text: right on the rebels too
    svm = [g if i % 3 else ("no" if g == "yes" else "yes") for i, g in enumerate(gold)]

    def entry(system, preds):
        return {
            "corpus": "handeset", "task": "stance", "system": system, "variant": "", "labels": labels,
            "gold": gold, "seeds": list(range(len(preds))), "preds": preds, "train_s": [1.0] * len(preds),
            "params": {},
        }

    main = [entry("party", [party_only]), entry("ngram_svm", [svm]),
            entry("bilstm_ngram_party", [text_party, text_party, text_party])]
    compare.summarise(main, lambda e: "macro_f")
    neural = main[2]
    assert set(neural["vs"]) == {"ngram_svm", "party"}
    assert neural["vs"]["party"][1] > 0  # the interval of the difference lies above 0
    assert "vs" not in main[0] or not main[0]["vs"]  # baselines are not paired with themselves
    args = argparse.Namespace(seeds=3, budget=60.0, jobs=2, quick=False, ablation_corpus="semeval")
    text = compare.render(main, [], [], args, 90.0, {("handeset", "stance"): rebels})
    assert "Δ vs SVM [95% CI]" in text and "Δ vs party only [95% CI]" in text
    rebel_lines = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| handeset | ")}
    assert rebel_lines["party only"].split(" | ")[2:4] == ["15 / 60", "0.000"]
    assert rebel_lines["BiLSTM + char n-grams + party"].split(" | ")[3] == "1.000"
    assert rebel_lines["BiLSTM + char n-grams + party"].rstrip(" |").endswith("yes")
    assert "- handeset: text + party (BiLSTM + char n-grams + party, 1.000) against party only" in text


def test_jobs_past_the_budget_are_listed_not_run(compare):
    import time

    jobs = [{"corpus": "semeval", "task": "stance", "system": "bilstm", "variant": "", "seed": s,
             "overrides": [], "quick": True} for s in range(2)]
    assert compare.run_jobs(jobs, 2, time.time() - 1) == ([], jobs)


def test_ablations_change_one_setting_of_the_reference(compare):
    """No ablation reruns the reference: on SemEval (fine-tuned GloVe, dropout
    0.5) the fine-tuned-embeddings and dropout-0.5 variants are the reference."""
    variants = compare.ablation_variants("semeval", list(compare.ABLATIONS))
    assert "emb_glove_init" not in variants and "dropout_0.5" not in variants
    assert {"emb_random", "emb_glove_frozen", "dropout_0.3", "cell_gru"} <= set(variants)
    reference = compare.reference_model("semeval")
    for name in variants:
        changed = {k for k, v in compare.ABLATIONS[name][1].items() if reference[k] != v}
        assert len(changed) == 1 or name == "emb_random", (name, changed)


@pytest.mark.parametrize("system", ["bilstm_bow", "bilstm_target_bow"])
def test_bench_bow_systems_build_an_lstm_textcat_with_a_linear_model(compare, system):
    import spacy
    import stance_systems
    from spacy.util import load_model_from_config

    config = stance_systems.system_config("semeval", system, Path("unused-vectors"), [])
    model = config["components"]["lstm_textcat"]["model"]
    assert model["linear_model"]["no_output_layer"] is True
    assert model["use_target"] is (system == "bilstm_target_bow")
    config["paths"]["vectors"] = None
    config["initialize"]["vectors"] = None
    nlp = load_model_from_config(Config(config).interpolate(), auto_fill=True)
    assert isinstance(nlp, spacy.language.Language)
    assert nlp.get_pipe("lstm_textcat").model.has_ref("linear_model")


def test_textcat_target_check_compares_the_best_system_with_bag_of_words(compare):
    import bench_textcat

    def row(corpus, system, score):
        key = "semeval_f" if corpus == "semeval" else "macro_f"
        return {"corpus": corpus, "system": system, key: score}

    results = [
        row("handeset", "textcat_bow", 0.60), row("handeset", "bilstm", 0.55), row("handeset", "bilstm_bow", 0.62),
        row("handeset", "bilstm_bow", 0.64), row("convote", "textcat_bow", 0.70), row("convote", "bilstm", 0.69),
        row("convote", "majority", 0.90),  # a baseline is never "our" best system
    ]
    lines = bench_textcat.target_check(results)
    assert "| handeset | 0.600 | BiLSTM + BOW | 0.630 | yes |" in lines
    assert "| convote | 0.700 | BiLSTM | 0.690 | no |" in lines
    assert lines[-1] == "Ahead on 1 of 2 corpora (target: 2 of 3)."


def test_pooled_rows_choose_their_weight_on_dev_and_pool_test(compare):
    """pooled_runs derives a row from a trained run without training: the
    weight comes from dev (stop) alone, and test is pooled with it."""

    def cats(p):
        return {"no": 1 - p, "yes": p}

    # On dev each party's line is "yes" for A and "no" for B, and one speech
    # in three reads the other way: pooling by debate and party fixes those.
    stop_gold = ["yes"] * 6 + ["no"] * 6
    stop_scores = [cats(p) for p in (0.8, 0.8, 0.4, 0.8, 0.8, 0.4, 0.2, 0.2, 0.6, 0.2, 0.2, 0.6)]
    stop_groups = [["d1", "A"]] * 6 + [["d1", "B"]] * 6
    gold = ["yes", "yes", "yes", "no"]
    scores = [cats(p) for p in (0.9, 0.7, 0.45, 0.3)]
    groups = [["d2", "A"], ["d2", "A"], ["d2", "A"], None]
    run = {
        "corpus": "handeset", "task": "stance", "system": "bilstm_ngram_party", "variant": "", "seed": 0,
        "labels": ["no", "yes"], "gold": gold, "pred": [max(c, key=c.get) for c in scores], "epochs": 3,
        "best_epoch": 2, "train_s": 1.0, "scores": scores, "groups": groups, "stop_gold": stop_gold,
        "stop_scores": stop_scores, "stop_groups": stop_groups,
    }
    unpooled = dict(run, system="bilstm_ngram_target")  # not a pooled system: no row
    (derived,) = compare.pooled_runs([run, unpooled])
    assert derived["system"] == "bilstm_ngram_party_pooled"
    assert derived["pooling_weight"] > 0 and derived["pooling_dev"]["0.0"] < derived["pooling_dev"]["1.0"]
    assert run["pred"] == ["yes", "yes", "no", "no"]
    assert derived["pred"] == ["yes", "yes", "yes", "no"]  # the third speech read with its party
    (entry,) = [e for e in compare.group_runs([derived]) if e["system"] == "bilstm_ngram_party_pooled"]
    assert entry["params"]["pooling weight (dev)"] == [derived["pooling_weight"]]
