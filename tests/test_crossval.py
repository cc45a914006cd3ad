"""`python -m spacy_bilstm crossval`: every document is scored once, by a
model trained without its debate; the baselines are fitted on the same
folds; the same seed gives the same result; bad input is one clean line."""
import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_bilstm.extensions import install_extensions

from .cli_runner import run_cli
from .test_textcat_config import SMALL

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "lstm_textcat.cfg"
PARTY_LINE = {"Lab": "support", "Con": "oppose"}


@pytest.fixture(scope="module")
def speeches(tmp_path_factory) -> Path:
    """Ten debates of six speeches; each party mostly votes its line, and
    one speech per debate rebels."""
    install_extensions()
    nlp = spacy.blank("en")
    docs = []
    for debate in range(10):
        for k in range(6):
            party = "Lab" if k % 2 else "Con"
            label = PARTY_LINE[party] if k != 5 else ("oppose" if PARTY_LINE[party] == "support" else "support")
            doc = nlp.make_doc(f"On bill {debate} I say {'aye' if label == 'support' else 'no'} today")
            doc.cats = {"support": float(label == "support"), "oppose": float(label == "oppose")}
            doc._.meta = {"group": f"bill-{debate}", "party": party, "id": f"s{debate}-{k}"}
            docs.append(doc)
    path = tmp_path_factory.mktemp("crossval") / "speeches.spacy"
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def run_crossval(capsys, *args):
    return run_cli(capsys, "crossval", *args)


def _overrides():
    args = ["--components.lstm_textcat.model.static_vectors", "null"]
    for key, value in SMALL.items():
        args += [f"--{key}", json.dumps(value)]
    return args


def test_every_document_is_scored_once_without_its_debate(tmp_path, capsys, speeches):
    out = tmp_path / "cv.json"
    code, stdout, stderr = run_crossval(capsys, CONFIG, speeches, "--folds", "5", "--output", out,
                                   "--work", tmp_path / "work", *_overrides())
    assert code == 0, stderr
    result = json.loads(out.read_text())
    assert result["n_docs"] == 60 and result["n_folds"] == 5
    docs = result["docs"]
    assert len({d["id"] for d in docs}) == 60 and all(d["model"] in ("support", "oppose") for d in docs)
    # A debate's six speeches share one fold; each fold holds two debates.
    by_debate = {}
    for d in docs:
        by_debate.setdefault(d["id"].split("-")[0], set()).add(d["fold"])
    assert all(len(folds) == 1 for folds in by_debate.values())
    assert sorted(f["n_test"] for f in result["folds"]) == [12] * 5
    # The party rule is learned from the training folds: it follows the line,
    # so it is wrong exactly on the ten rebels.
    assert sum(d["party"] != d["gold"] for d in docs) == 10
    assert result["scores"]["party"]["accuracy"] == pytest.approx(50 / 60)
    assert set(result["model_vs_party"]) == {"macro_f_diff", "ci", "model_ahead"}
    assert "model − party only:" in stdout and "5-fold cross-validation over 60 documents" in stdout
    assert result["folds_by"] == "group" and result["n_groups"] == 10
    assert "folds: 10 groups (meta 'group', e.g. debates) kept whole" in stdout
    # Only model-best is kept per fold.
    assert (tmp_path / "work" / "fold-0" / "model" / "model-best").is_dir()
    assert not (tmp_path / "work" / "fold-0" / "model" / "model-last").exists()


def test_the_same_seed_gives_the_same_predictions(tmp_path, capsys, speeches):
    results = []
    for run in range(2):
        out = tmp_path / f"cv{run}.json"
        code, _, stderr = run_crossval(capsys, CONFIG, speeches, "--folds", "3", "--output", out,
                                  "--work", tmp_path / f"work{run}", *_overrides())
        assert code == 0, stderr
        results.append(json.loads(out.read_text()))
    assert results[0]["docs"] == results[1]["docs"]
    assert results[0]["scores"] == results[1]["scores"]


def test_bad_input_is_one_clean_line(tmp_path, capsys, speeches):
    code, _, stderr = run_crossval(capsys, CONFIG, tmp_path / "missing.spacy", "--output", tmp_path / "cv.json")
    assert code == 2 and "missing.spacy" in stderr and "Traceback" not in stderr
    code, _, stderr = run_crossval(capsys, CONFIG, speeches, "--folds", "11", "--output", tmp_path / "cv.json")
    assert code == 2 and "11 folds need at least 11 groups, but there are 10" in stderr
    # The config wants static vectors and none are given: the config and the problem, in one line.
    code, _, stderr = run_crossval(capsys, CONFIG, speeches, "--output", tmp_path / "cv.json",
                                   "--work", tmp_path / "work")
    assert code == 2 and "Traceback" not in stderr
    assert stderr.startswith(f"error: {CONFIG}: cannot train on fold 1: ") and "include_static_vectors" in stderr


def test_group_by_names_the_debate_key(tmp_path, capsys, speeches):
    """Docs whose debate is under another meta key: --group-by keeps those
    debates whole; a doc without the key is one clean line."""
    install_extensions()
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(speeches).get_docs(nlp.vocab))
    for doc in docs:
        meta = dict(doc._.meta)
        meta["debate"] = meta.pop("group")
        doc._.meta = meta
    path = tmp_path / "renamed.spacy"
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    out = tmp_path / "cv.json"
    code, stdout, stderr = run_crossval(capsys, CONFIG, path, "--folds", "2", "--group-by", "debate", "--output", out,
                                        "--work", tmp_path / "work", *_overrides())
    assert code == 0, stderr
    result = json.loads(out.read_text())
    assert result["folds_by"] == "group" and result["n_groups"] == 10
    by_debate = {}
    for d in result["docs"]:
        by_debate.setdefault(d["id"].split("-")[0], set()).add(d["fold"])
    assert all(len(folds) == 1 for folds in by_debate.values())
    code, _, stderr = run_crossval(capsys, CONFIG, path, "--group-by", "bill", "--output", tmp_path / "x.json")
    assert code == 2 and "Traceback" not in stderr
    assert stderr.startswith(f"error: {path}:1: meta 'bill' is missing or empty")
