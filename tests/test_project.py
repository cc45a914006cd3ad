"""The spaCy project (project.yml): its structure, its error messages, and
(slow) the whole `all` workflow in a temporary copy of the project."""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parents[1]
# What a user's checkout needs to run the `all` workflow.
PROJECT_FILES = [
    "project.yml",
    "configs",
    "corpus/ner.jsonl",
    "corpus/speeches.jsonl",
    "corpus/parliament/train.jsonl",
    "corpus/parliament/dev.jsonl",
    "corpus/parliament/test.jsonl",
]


def project_config(path: Path = REPO) -> dict:
    from weasel.util import load_project_config

    return load_project_config(path)


def copy_project(dest: Path) -> Path:
    for name in PROJECT_FILES:
        source = REPO / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    return dest


def spacy_project(project: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", args[0], ".", *args[1:]],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_shipped_assets_have_their_checksums():
    for asset in project_config()["assets"]:
        if "url" in asset:
            continue
        path = REPO / asset["dest"]
        assert hashlib.md5(path.read_bytes()).hexdigest() == asset["checksum"], asset["dest"]


def test_workflow_deps_come_from_earlier_steps_or_assets():
    config = project_config()
    commands = {command["name"]: command for command in config["commands"]}
    assets = {asset["dest"] for asset in config["assets"]}
    assert "train" in commands
    assert set(config["workflows"]) >= {"all", "real", "compare", "benchmark", "political"}
    for workflow, names in config["workflows"].items():
        made: List[str] = []
        for name in names:
            for dep in commands[name].get("deps", []):
                from_step = any(dep == out or dep.startswith(out.rstrip("/") + "/") for out in made)
                assert from_step or dep in assets or (REPO / dep).exists(), f"{workflow}/{name}: {dep}"
            made += commands[name].get("outputs", [])


def test_every_gpu_capable_step_takes_gpu_id():
    for command in project_config()["commands"]:
        for line in command["script"]:
            if " spacy train " in line or " evaluate " in line or " network " in line:
                assert "--gpu-id -1" in line, line


def test_corrupt_corpus_line_stops_convert_with_file_and_line(tmp_path):
    project = copy_project(tmp_path)
    lines = (project / "corpus" / "ner.jsonl").read_text(encoding="utf8").splitlines(keepends=True)
    lines[41] = lines[41][: len(lines[41]) // 2] + "\n"
    (project / "corpus" / "ner.jsonl").write_text("".join(lines), encoding="utf8")
    result = spacy_project(project, "convert")
    assert result.returncode != 0
    assert "error: corpus/ner.jsonl:42: invalid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "corpus" / "ner_train.spacy").exists()


def test_missing_real_corpora_name_path_and_url(tmp_path):
    project = copy_project(tmp_path / "p")
    data = tmp_path / "data"
    (data / "conll2003").mkdir(parents=True)
    for name in ("eng.train", "eng.testa", "eng.testb"):
        (data / "conll2003" / name).write_text("EU NNP I-NP I-ORG\n")
    result = spacy_project(project, "real", "--vars.data_dir", str(data))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3, result.stderr
    assert errors[0].startswith(f"error: not found: {data}/handeset/HanDeSeT.csv (HanDeSeT")
    assert "URL https://raw.githubusercontent.com/MartinWehking/DeepSeminar/" in errors[0]
    assert f"{data}/convote/convote_stage3.tsv or {data}/convote/convote_v1.1.tar.gz" in errors[1]
    assert "semeval2016-task6-trainingdata.txt" in errors[2] and "URL https://" in errors[2]
    assert "python -m spacy project assets" in result.stderr
    assert not (project / "corpus" / "conll_train.spacy").exists()


@pytest.mark.slow
def test_all_workflow_end_to_end(tmp_path):
    project = copy_project(tmp_path)
    budget = ["--vars.ner_max_steps", "20", "--vars.ner_eval_frequency", "10"]
    budget += ["--vars.stance_max_epochs", "2", "--vars.stance_eval_frequency", "10"]
    result = spacy_project(project, "all", *budget, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Progress: each step announces itself, training prints a row per evaluation.
    for step in ("convert", "train", "evaluate", "crossval-stance", "network", "report"):
        assert f"=== {step} ===" in result.stdout.replace("=" * 10, "===")
    assert "ENTS_F" in result.stdout and "CATS_SCORE" in result.stdout

    for name in ["metrics/ner.json", "metrics/stance.json", "metrics/summary.json", "reports/report.md",
                 "reports/network/actors.gexf", "reports/network/actors.report.json"]:
        assert (project / name).stat().st_size > 0, name
    for png in ["reports/training_curves.png", "reports/network/actors.png"]:
        assert (project / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png

    ner = json.loads((project / "metrics" / "ner.json").read_text())
    stance = json.loads((project / "metrics" / "stance.json").read_text())
    assert ner["n_docs"] == 95 and stance["n_docs"] == 48
    # 20 steps are enough to find most entities of the small corpus.
    assert 0.3 < ner["ents_f"] <= 1.0
    assert set(ner["ents_per_type"]) == {"PER", "LOC", "ORG", "MISC"}
    assert 0.0 <= stance["cats_macro_f"] <= 1.0
    cv = json.loads((project / "metrics" / "stance_cv.json").read_text())
    assert cv["n_docs"] == 240 and cv["n_folds"] == 5 and len(cv["docs"]) == 240
    assert set(cv["scores"]) == {"model", "party", "majority"}
    summary = json.loads((project / "metrics" / "summary.json").read_text())
    assert summary["runs"]["ner"]["training"]["last_step"] == 20
    assert summary["runs"]["ner"]["training"]["evaluations"] == 3
    assert summary["runs"]["ner"]["metrics"]["ents_f"] == ner["ents_f"]
    assert summary["runs"]["stance"]["training"]["last_epoch"] == 1
    assert summary["runs"]["stance"]["baselines"]["majority"]["label"] == "support"
    assert summary["network"]["records"]["used"] == 240 and summary["network"]["nodes"] > 0
    report = (project / "reports" / "report.md").read_text()
    assert f"**{ner['ents_f']:.3f}**" in report and "![actor network](network/actors.png)" in report
    assert "5-fold cross-validation over all 240 documents" in report

    # Nothing changed: a second run skips every step.
    again = spacy_project(project, "all", *budget)
    assert again.returncode == 0
    assert again.stdout.count("Skipping") == 6, again.stdout


# Fields of the metrics files that measure the machine, not the model.
TIMING_KEYS = {"seconds", "speed", "ents_per_type_speed"}


def _scores(path: Path) -> dict:
    return {key: value for key, value in json.loads(path.read_text()).items() if key not in TIMING_KEYS}


@pytest.mark.slow
def test_two_quickstart_runs_give_identical_metrics(tmp_path):
    """The same machine, the same seed: the same figures, to the last digit
    (what the README quotes must come out again on the reader's machine)."""
    budget = ["--vars.ner_max_steps", "20", "--vars.ner_eval_frequency", "10",
              "--vars.stance_max_epochs", "2", "--vars.stance_eval_frequency", "10"]
    runs = []
    for name in ("first", "second"):
        project = copy_project(tmp_path / name)
        result = spacy_project(project, "all", *budget, timeout=1200)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        runs.append(project)
    for name in ("ner.json", "ner_parliament.json", "stance.json", "stance_cv.json"):
        first, second = (_scores(project / "metrics" / name) for project in runs)
        assert first == second, name


def conll_from_embedded_corpus(path: Path) -> None:
    """A CoNLL-2003-style file (IOB1 tags, 4 columns) made of the embedded
    corpus, standing in for eng.train where the real one is not shipped."""
    import spacy
    from spacy.training import offsets_to_biluo_tags

    nlp = spacy.blank("en")
    lines = ["-DOCSTART- -X- O O", ""]
    for raw in (REPO / "corpus" / "ner.jsonl").read_text(encoding="utf8").splitlines():
        record = json.loads(raw)
        doc = nlp.make_doc(record["text"])
        tags = offsets_to_biluo_tags(doc, [(s["start"], s["end"], s["label"]) for s in record["spans"]])
        for token, tag in zip(doc, tags):
            if token.is_space:
                continue
            label = "O" if tag == "O" else "I-" + tag[2:]
            lines.append(f"{token.text} NN O {label}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf8")


@pytest.mark.slow
def test_train_political_runs_as_the_readme_says(tmp_path):
    project = copy_project(tmp_path / "p")
    data = tmp_path / "data"
    conll_from_embedded_corpus(data / "conll2003" / "eng.train")
    result = spacy_project(
        project, "train-political", "--vars.data_dir", str(data),
        "--vars.political_max_steps", "20", "--vars.political_eval_frequency", "10", timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (project / "training" / "political" / "model-best" / "config.cfg").exists()
    config = (project / "training" / "political" / "model-best" / "config.cfg").read_text()
    assert "spacy_bilstm.MixedCorpus.v1" in config
    log = [json.loads(line) for line in (project / "training" / "political" / "log.jsonl").read_text().splitlines()]
    assert log and max(row.get("step", 0) for row in log) == 20


def test_train_political_without_conll_names_the_missing_file(tmp_path):
    project = copy_project(tmp_path / "p")
    result = spacy_project(project, "train-political", "--vars.data_dir", str(tmp_path / "nowhere"))
    assert result.returncode != 0
    assert "nowhere/conll2003/eng.train" in result.stdout + result.stderr
    # Nothing ran: no corpus converted, no vectors, no training output (weasel
    # itself makes the project's empty directories).
    assert not [p for p in (project / "training").rglob("*") if p.is_file()]
    assert not (project / "training" / "political").exists()
    assert not (project / "assets" / "floret_political").exists()
    assert not list((project / "corpus").glob("*.spacy"))
