"""The project helpers: training logs, baselines, report, evaluate, check-data, convote-tsv."""
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc, DocBin

from spacy_bilstm import install_extensions
from spacy_bilstm.errors import InputError
from spacy_bilstm.baselines import classification_scores, stance_baselines
from spacy_bilstm.corpora.docbins import read_docs
from spacy_bilstm.workflow.data import data_assets, missing_data
from spacy_bilstm.workflow.logs import read_training_log, summarize_log

REPO = Path(__file__).resolve().parents[1]


def run_main(monkeypatch, capsys, *args) -> subprocess.CompletedProcess:
    from spacy_bilstm.cli import main

    monkeypatch.setattr(sys, "argv", ["spacy-bilstm", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def write_log(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


LOG_ROWS = [
    {"epoch": 0, "step": 0, "losses": {"bilstm_ner": 50.0}, "scores": {"ents_f": 0.0}, "score": 0.0},
    {"epoch": 2, "step": 10, "losses": {"bilstm_ner": 200.0}, "scores": {"ents_f": 60.0}, "score": 0.6},
    {"epoch": 4, "step": 20, "losses": {"bilstm_ner": 40.0}, "scores": {"ents_f": 75.0}, "score": 0.75},
    {"epoch": 6, "step": 30, "losses": {"bilstm_ner": 20.0}, "scores": {"ents_f": 75.0}, "score": 0.75},
]


def test_training_log_losses_per_step_and_best(tmp_path):
    entries = list(read_training_log(write_log(tmp_path / "log.jsonl", LOG_ROWS)))
    assert [e.loss_per_step for e in entries] == [50.0, 20.0, 4.0, 2.0]
    summary = summarize_log(entries)
    # A tie keeps the earlier evaluation: spaCy saves model-best only on improvement.
    assert (summary["best_step"], summary["best_score"], summary["last_step"]) == (20, 0.75, 30)
    assert summary["evaluations"] == 4 and summary["finite"] is True
    assert summary["curve"]["score"] == [0.0, 0.6, 0.75, 0.75]


def test_training_log_errors_name_file_and_line(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps(LOG_ROWS[0]) + "\n{not json\n")
    with pytest.raises(InputError, match=rf"^{path}:2: invalid JSON"):
        list(read_training_log(path))
    path.write_text(json.dumps({**LOG_ROWS[0], "score": "high"}) + "\n")
    with pytest.raises(InputError, match=rf"^{path}:1: 'score' must be a number"):
        list(read_training_log(path))
    with pytest.raises(InputError, match="training log not found"):
        list(read_training_log(tmp_path / "missing.jsonl"))


def macro_f1(gold, predicted, labels):
    return classification_scores(gold, predicted, labels)["macro_f"]


def test_macro_f1():
    assert macro_f1(["a", "a", "b", "b"], ["a", "a", "b", "b"], ["a", "b"]) == 1.0
    # a: P 2/3 R 1 F 0.8; b: P 1 R 1/2 F 2/3.
    assert macro_f1(["a", "a", "b", "b"], ["a", "a", "a", "b"], ["a", "b"]) == pytest.approx((0.8 + 2 / 3) / 2)
    assert macro_f1(["a", "b"], ["a", "a"], ["a", "b"]) == pytest.approx((2 / 3 + 0) / 2)


def stance_docbin(path: Path, rows) -> Path:
    install_extensions()
    nlp = spacy.blank("en")
    docs = []
    for label, party in rows:
        doc = nlp.make_doc(f"{label} {party}")
        doc.cats = {"support": float(label == "support"), "oppose": float(label == "oppose")}
        doc._.meta = {"party": party} if party else {}
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def test_stance_baselines_majority_and_party(tmp_path):
    train = stance_docbin(
        tmp_path / "train.spacy",
        [("support", "A"), ("support", "A"), ("oppose", "B"), ("oppose", "B"), ("oppose", "B")],
    )
    dev = stance_docbin(tmp_path / "dev.spacy", [("support", "A"), ("oppose", "B"), ("support", "B"), ("support", "C")])
    result = stance_baselines(read_docs(train), read_docs(dev))
    assert result["labels"] == ["oppose", "support"] and result["n_dev"] == 4
    # Majority "oppose": right once of four; F1 oppose 2/5, support 0.
    assert result["majority"] == {"label": "oppose", "macro_f": pytest.approx(0.2), "accuracy": 0.25}
    # Party: A -> support, B -> oppose, unseen C -> the majority (oppose).
    # Predicted [support, oppose, oppose, oppose] vs gold [s, o, s, s]:
    # support P 1 R 1/3 F 0.5; oppose P 1/3 R 1 F 0.5.
    assert result["party"]["accuracy"] == 0.5
    assert result["party"]["macro_f"] == pytest.approx(0.5)
    no_party = stance_docbin(tmp_path / "np.spacy", [("support", None), ("oppose", None), ("oppose", None)])
    assert "party" not in stance_baselines(read_docs(no_party), read_docs(no_party))


def test_report_writes_summary_markdown_and_curves(tmp_path, monkeypatch, capsys):
    ner_metrics = tmp_path / "ner.json"
    ner_metrics.write_text(json.dumps({
        "ents_p": 0.8, "ents_r": 0.7, "ents_f": 0.7466, "n_docs": 95, "speed": 5000.0,
        "ents_per_type": {"PER": {"p": 0.9, "r": 0.8, "f": 0.847}, "LOC": {"p": 0.7, "r": 0.6, "f": 0.646}},
    }))
    stance_metrics = tmp_path / "stance.json"
    stance_metrics.write_text(json.dumps({"cats_score": 0.4, "cats_macro_f": 0.4, "cats_micro_f": 0.5, "n_docs": 4}))
    train = stance_docbin(tmp_path / "train.spacy", [("support", "A"), ("oppose", "B"), ("oppose", "B")])
    dev = stance_docbin(tmp_path / "dev.spacy", [("support", "A"), ("oppose", "B"), ("support", "A"), ("oppose", "B")])
    network = tmp_path / "net.report.json"
    network.write_text(json.dumps({
        "records": {"read": 4, "used": 4}, "graph": {"nodes": 3, "edges": 2, "components": 1, "communities": 1,
        "modularity": 0.0, "top_mentions": [["Okafor", 5], ["Venn", 2]]}, "speaker_graph": {"nodes": 4, "edges": 3},
    }))
    log = write_log(tmp_path / "ner_log.jsonl", LOG_ROWS)
    out = tmp_path / "out"
    result = run_main(
        monkeypatch, capsys, "report", "--metrics", f"ner={ner_metrics}", "--metrics", f"stance={stance_metrics}",
        "--log", f"ner={log}", "--baseline", f"stance={train},{dev}", "--network", network,
        "--summary", out / "summary.json", "--markdown", out / "report.md", "--curves", out / "curves.png",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"]["ner"]["metrics"]["ents_f"] == 0.7466
    assert summary["runs"]["ner"]["training"]["best_step"] == 20
    assert summary["runs"]["stance"]["baselines"]["party"]["macro_f"] == 1.0
    assert summary["network"]["nodes"] == 3
    # The model does not beat the party-only baseline: the report says so.
    assert any("does not beat the party-only baseline" in note for note in summary["notes"])
    assert "note: stance: macro F1 0.400 does not beat" in result.stderr
    markdown = (out / "report.md").read_text()
    assert "| **all** | **0.800** | **0.700** | **0.747** |" in markdown
    assert "| PER | 0.900 | 0.800 | 0.847 |" in markdown
    assert "| party only | 1.000 | 1.000 |" in markdown
    assert "| **model** | **0.400** | **0.500** |" in markdown
    assert "Most mentioned: Okafor (5), Venn (2)." in markdown
    assert "![training curves](curves.png)" in markdown
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == ["curves.png", "report.md", "summary.json"]


def test_report_shows_the_cross_validated_comparison(tmp_path, monkeypatch, capsys):
    cv = tmp_path / "cv.json"
    cv.write_text(json.dumps({
        "n_folds": 5, "n_docs": 240, "folds_by": "group", "n_groups": 25,
        "scores": {
            "model": {"macro_f": 0.81, "accuracy": 0.82, "macro_f_ci": [0.76, 0.86], "per_label": {}},
            "party": {"macro_f": 0.70, "accuracy": 0.71, "macro_f_ci": [0.64, 0.76], "per_label": {}},
            "majority": {"macro_f": 0.34, "accuracy": 0.52, "macro_f_ci": [0.32, 0.36], "per_label": {}},
        },
        "model_vs_party": {"macro_f_diff": 0.11, "ci": [0.05, 0.17], "model_ahead": True},
        "docs": [],
    }))
    out = tmp_path / "out"
    result = run_main(monkeypatch, capsys, "report", "--crossval", f"stance={cv}",
                      "--summary", out / "summary.json", "--markdown", out / "report.md")
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"]["stance"]["crossval"]["model_vs_party"]["model_ahead"] is True
    assert not summary["notes"]
    markdown = (out / "report.md").read_text()
    assert "5-fold cross-validation over all 240 documents" in markdown
    assert "by a model that never saw its debate: 25 debates, each kept whole" in markdown
    assert "| **model** | 0.810 | [0.760, 0.860] | 0.820 |" in markdown
    assert "| party only | 0.700 | [0.640, 0.760] | 0.710 |" in markdown
    assert "Model − party only: +0.110 [+0.050, +0.170] (paired bootstrap): ahead." in markdown
    # Behind or within the noise: a note says so.
    data = json.loads(cv.read_text())
    data["model_vs_party"] = {"macro_f_diff": 0.01, "ci": [-0.04, 0.06], "model_ahead": False}
    cv.write_text(json.dumps(data))
    result = run_main(monkeypatch, capsys, "report", "--crossval", f"stance={cv}", "--summary", out / "s.json")
    assert "note: stance: in cross-validation the model is not ahead of the party-only baseline" in result.stderr
    # Folds stratified by label: the report does not claim unseen debates.
    data.update(folds_by="label", n_groups=None)
    cv.write_text(json.dumps(data))
    result = run_main(monkeypatch, capsys, "report", "--crossval", f"stance={cv}", "--summary", out / "s3.json",
                      "--markdown", out / "r2.md")
    assert result.returncode == 0, result.stderr
    markdown = (out / "r2.md").read_text()
    assert "never saw its debate" not in markdown
    assert "the folds were stratified by label, so other speeches of its debate were in training" in markdown
    (tmp_path / "x.json").write_text("{}")
    result = run_main(monkeypatch, capsys, "report", "--crossval", f"stance={tmp_path / 'x.json'}",
                      "--summary", out / "s2.json")
    assert result.returncode == 2 and "not a crossval result" in result.stderr


@pytest.mark.parametrize(
    "args,starts",
    [
        (["--metrics", "ner={t}/missing.json"], "error: {t}/missing.json: metrics file not found"),
        (["--metrics", "ner"], "error: --metrics takes NAME=VALUE, not 'ner'"),
        (["--log", "ner={t}/bad.jsonl"], "error: {t}/bad.jsonl:1: invalid JSON"),
        (["--metrics", "x={t}/bad.jsonl"], "error: {t}/bad.jsonl:1: invalid JSON"),
        (["--baseline", "s={t}/a.spacy"], "error: --baseline takes NAME=TRAIN.spacy,DEV.spacy"),
    ],
    ids=["missing", "no-name", "bad-log", "bad-metrics", "bad-baseline"],
)
def test_report_input_errors_are_one_line(tmp_path, monkeypatch, capsys, args, starts):
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    result = run_main(monkeypatch, capsys, "report", *[a.format(t=tmp_path) for a in args], "--summary", tmp_path / "s.json")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(starts.format(t=tmp_path)), result.stderr
    assert not (tmp_path / "s.json").exists()


class _StanceRule:
    """A stand-in stance classifier whose support probability is a rule over
    the Doc, scored like lstm_textcat (exclusive oppose/support)."""

    def __init__(self, p_support) -> None:
        self.p_support = p_support

    def __call__(self, doc: Doc) -> Doc:
        p = self.p_support(doc)
        doc.cats = {"support": p, "oppose": 1.0 - p}
        return doc

    def score(self, examples, **kwargs):
        return Scorer.score_cats(examples, "cats", labels=["oppose", "support"], multi_label=False)


def _save_rule_pipeline(path: Path, factory: str, p_support) -> Language:
    """A blank English pipeline with one rule-based stance pipe, saved at `path`."""
    install_extensions()
    if not Language.has_factory(factory):
        Language.factory(factory, func=lambda nlp, name: _StanceRule(p_support))
    nlp = spacy.blank("en")
    nlp.add_pipe(factory)
    nlp.to_disk(path)
    return nlp


def test_evaluate_keeps_stance_targets(tmp_path, monkeypatch, capsys):
    """The pipeline sees doc._.stance_target, which `spacy evaluate` would drop."""
    # Predicts from the target alone: the texts are all the same.
    nlp = _save_rule_pipeline(tmp_path / "model", "test_target_reader",
                              lambda doc: float("yes" in (doc._.stance_target or "")))
    docs = []
    for target, label in [("yes motion", "support"), ("no motion", "oppose"), ("yes again", "support")]:
        doc = nlp.make_doc("The same words every time.")
        doc.cats = {"support": float(label == "support"), "oppose": float(label == "oppose")}
        doc._.stance_target = target
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(tmp_path / "dev.spacy")
    out = tmp_path / "metrics" / "stance.json"
    result = run_main(monkeypatch, capsys, "evaluate", tmp_path / "model", tmp_path / "dev.spacy", "--output", out)
    assert result.returncode == 0, result.stderr
    scores = json.loads(out.read_text())
    assert scores["cats_macro_f"] == 1.0 and scores["n_docs"] == 3
    assert "cats_macro_f     1.0000" in result.stdout
    missing = run_main(monkeypatch, capsys, "evaluate", tmp_path / "model", tmp_path / "nope.spacy")
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"error: {tmp_path}/nope.spacy: evaluation data not found"


def test_evaluate_pools_stance_by_debate_and_party(tmp_path, monkeypatch, capsys):
    """--pool-by-debate reads each party's line from all its speeches in the
    debate before scoring; without it each speech is scored alone."""
    # A weak text model: "aye" reads as support, anything else as mild oppose.
    nlp = _save_rule_pipeline(tmp_path / "model", "test_aye_reader", lambda doc: 0.9 if "aye" in doc.text else 0.4)
    docs = []
    for text, label, party in [("aye aye", "support", "A"), ("aye indeed", "support", "A"),
                               ("I have doubts", "support", "A"), ("no", "oppose", "B"), ("never", "oppose", "B")]:
        doc = nlp.make_doc(text)
        doc.cats = {"support": float(label == "support"), "oppose": float(label == "oppose")}
        doc._.meta = {"group": "debate-1", "party": party}
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(tmp_path / "dev.spacy")
    alone = run_main(monkeypatch, capsys, "evaluate", tmp_path / "model", tmp_path / "dev.spacy",
                     "--output", tmp_path / "alone.json")
    pooled = run_main(monkeypatch, capsys, "evaluate", tmp_path / "model", tmp_path / "dev.spacy",
                      "--pool-by-debate", "1.0", "--output", tmp_path / "pooled.json")
    assert alone.returncode == 0 and pooled.returncode == 0, pooled.stderr
    assert json.loads((tmp_path / "alone.json").read_text())["cats_macro_f"] < 1.0
    scores = json.loads((tmp_path / "pooled.json").read_text())
    assert scores["cats_macro_f"] == 1.0
    assert scores["pooling"] == {"weight": 1.0, "n_docs": 5, "n_pooled": 5, "n_alone": 0, "n_missing": 0,
                                 "n_groups": 2}
    assert "pooled 5 of 5 docs in 2 (debate, party) groups" in pooled.stdout
    spacy.blank("en").to_disk(tmp_path / "no_classifier")
    refused = run_main(monkeypatch, capsys, "evaluate", tmp_path / "no_classifier", tmp_path / "dev.spacy",
                       "--pool-by-debate", "0.5")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (f"error: {tmp_path}/dev.spacy: --pool-by-debate needs a stance classifier: "
                                      "document 0 has no predicted cats: run the pipeline before pooling")


def test_check_data_names_missing_paths_and_urls(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    (data / "conll2003").mkdir(parents=True)
    (data / "conll2003" / "eng.train").write_text("EU B-ORG\n")
    project = REPO / "project.yml"
    assets = data_assets(project)
    assert assets["conll2003/eng.testa"]["url"].startswith("https://")
    result = run_main(
        monkeypatch, capsys, "check-data", "--data-dir", data, "--project", project,
        "conll2003/eng.train", "conll2003/eng.testa", "convote/convote_stage3.tsv|convote/convote_v1.1.tar.gz",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: not found: {data}/conll2003/eng.testa (CoNLL-2003")
    assert assets["conll2003/eng.testa"]["url"] in lines[0]
    assert lines[1].startswith(f"error: not found: {data}/convote/convote_stage3.tsv or {data}/convote/convote_v1.1.tar.gz (")
    assert "https://www.cs.cornell.edu/" in lines[1]
    assert "2 of 3 corpora missing" in lines[2] and "--vars.data_dir" in lines[2]
    (data / "convote").mkdir()
    (data / "convote" / "convote_v1.1.tar.gz").write_bytes(b"x")
    (data / "conll2003" / "eng.testa").write_text("EU B-ORG\n")
    assert missing_data(data, ["conll2003/eng.testa", "convote/convote_stage3.tsv|convote/convote_v1.1.tar.gz"]) == []
    ok = run_main(monkeypatch, capsys, "check-data", "--data-dir", data, "--project", project, "conll2003/eng.testa")
    assert ok.returncode == 0 and "all 1 corpora found" in ok.stdout


def test_convote_tsv_from_archive_reads_back(tmp_path, monkeypatch, capsys):
    from spacy_bilstm.corpora.textcat_sources import read_convote

    archive = tmp_path / "convote_v1.1.tar.gz"
    files = {
        "convote_v1.1/data_stage_three/training_set/052_400011_0327014_DON.txt": "mr. speaker , i oppose .  \nthis bill .\n",
        "convote_v1.1/data_stage_three/training_set/052_400077_0327020_RMY.txt": "i support\tthis bill .  ",
        "convote_v1.1/data_stage_three/test_set/199_400300_0801003_DMY.txt": "yes .",
        "convote_v1.1/data_stage_two/training_set/052_400011_0327014_DON.txt": "not stage three",
    }
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            raw = text.encode("utf8")
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    out = tmp_path / "convote_stage3.tsv"
    result = run_main(monkeypatch, capsys, "convote-tsv", archive, out)
    assert result.returncode == 0, result.stderr
    assert "rows written: 3 (training 2, test 1)" in result.stdout
    docs = list(read_convote(out, spacy.blank("en")))
    assert [d.text for d in docs] == ["mr. speaker , i oppose .   this bill .", "i support this bill .  ", "yes ."]
    assert [d._.meta["party"] for d in docs] == ["D", "R", "D"]
    assert [max(d.cats, key=d.cats.get) for d in docs] == ["oppose", "support", "support"]
    assert [d._.meta["group"] for d in docs] == ["052", "052", "199"]
    kept = run_main(monkeypatch, capsys, "convote-tsv", tmp_path / "absent.tar.gz", out, "--keep-existing")
    assert kept.returncode == 0 and "exists: kept" in kept.stdout
    bad = run_main(monkeypatch, capsys, "convote-tsv", tmp_path / "absent.tar.gz", tmp_path / "x.tsv")
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"error: {tmp_path}/absent.tar.gz: ConVote archive not found"


def test_training_logger_replaces_a_stale_log_and_sets_threads(tmp_path):
    import torch

    from spacy_bilstm.training_logger import training_logger

    path = tmp_path / "training" / "log.jsonl"
    path.parent.mkdir()
    path.write_text('{"stale": true}\n')
    torch.set_num_threads(2)
    try:
        setup = training_logger(output_file=path, progress_bar=False, torch_threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(1)
    stdout = io.StringIO()
    log_step, finalize = setup(spacy.blank("en"), stdout=stdout, stderr=io.StringIO())
    log_step({"epoch": 0, "step": 0, "losses": {}, "other_scores": {}, "score": 0.25})
    log_step(None)
    log_step({"epoch": 1, "step": 10, "losses": {}, "other_scores": {}, "score": 0.5})
    finalize()
    entries = list(read_training_log(path))
    assert [(e.step, e.score) for e in entries] == [(0, 0.25), (10, 0.5)]
    assert "0.50" in stdout.getvalue()
