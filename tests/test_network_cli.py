"""`python -m spacy_bilstm network`: a real saved pipeline, real files, a real SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import spacy

from benchmarks.synthetic_speeches import build_pipeline, write_jsonl

from .cli_runner import run_cli as run_command

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "ruler"
    build_pipeline().to_disk(path)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("corpus") / "speeches.jsonl", 150, seed=11)


def run_cli(capsys, *args) -> tuple:
    return run_command(capsys, "network", *args, "--no-progress")


def _graph(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf8"))


def test_end_to_end_writes_every_format_and_a_summary(tmp_path, capsys, model, corpus):
    out = tmp_path / "results" / "graph.gexf"
    code, stdout, _ = run_cli(
        capsys,
        model,
        corpus,
        "--out",
        out,
        "--formats",
        "graphml,csv,json,parquet,png",
        "--meta-fields",
        "party",
    )
    assert code == 0
    stem = tmp_path / "results" / "graph"
    for suffix in (".gexf", ".graphml", ".nodes.csv", ".edges.csv", ".json", ".png", ".report.json"):
        assert Path(f"{stem}{suffix}").exists(), suffix
    assert Path(f"{stem}.speakers.gexf").exists() and Path(f"{stem}.parquet/edges.parquet").exists()
    assert not Path(f"{stem}.checkpoint").exists()
    report = json.loads(Path(f"{stem}.report.json").read_text(encoding="utf8"))
    assert report["records"] == {"read": 150, "used": 150, "skipped": 0, "skipped_by_reason": {}}
    graph = report["graph"]
    assert graph["nodes"] == 36 and graph["edges"] > 0 and graph["communities"] >= 1
    assert {"top_degree", "top_weighted_degree", "top_betweenness", "modularity"} <= set(graph)
    assert report["extraction"]["mentions"] == sum(
        n["mentions"] for n in _graph(Path(f"{stem}.json"))["nodes"]
    )
    assert "records read: 150, used: 150, skipped: 0" in stdout
    assert "co-mention graph (sentence window): 36 nodes" in stdout
    speakers = _graph(Path(f"{stem}.speakers.json"))
    assert any(node.get("party") for node in speakers["nodes"] if node["role"] == "speaker")


def test_malformed_line_is_one_error_line_with_file_and_line(tmp_path, capsys, model, corpus):
    bad = tmp_path / "bad.jsonl"
    lines = corpus.read_text(encoding="utf8").splitlines()
    lines.insert(4, '{"text": "broken')
    bad.write_text("\n".join(lines) + "\n", encoding="utf8")
    code, _, stderr = run_cli(capsys, model, bad, "--out", tmp_path / "g.json")
    assert code == 2
    assert stderr.strip().splitlines() == [
        f"error: {bad}:5: invalid JSON: Unterminated string starting at (column 10)"
    ]
    assert not (tmp_path / "g.json").exists()

    code, stdout, _ = run_cli(capsys, model, bad, "--out", tmp_path / "g.json", "--skip-invalid")
    assert code == 0
    assert "records read: 151, used: 150, skipped: 1" in stdout
    assert f"skipped (invalid_json): 1\n    e.g. {bad}:5: invalid JSON" in stdout


def test_bad_arguments_are_clean_errors(tmp_path, capsys, model, corpus):
    code, _, stderr = run_cli(capsys, model, corpus, "--out", tmp_path / "g.json", "--window", "line")
    assert code == 2 and "unknown window 'line'" in stderr
    code, _, stderr = run_cli(capsys, model, corpus, "--out", tmp_path / "g.xyz")
    assert code == 2 and "--formats" in stderr
    code, _, stderr = run_cli(capsys, tmp_path / "no-model", corpus, "--out", tmp_path / "g.json")
    assert code == 2 and "cannot load the pipeline" in stderr
    code, _, stderr = run_cli(capsys, model, tmp_path / "none.jsonl", "--out", tmp_path / "g.json")
    assert code == 2 and "input not found" in stderr


def test_a_pipeline_without_sentence_boundaries_gets_a_sentencizer(tmp_path, capsys, model, corpus):
    nlp = spacy.load(model)
    nlp.remove_pipe("sentencizer")
    bare = tmp_path / "no-sentencizer"
    nlp.to_disk(bare)
    assert run_cli(capsys, model, corpus, "--out", tmp_path / "a.json")[0] == 0
    code, stdout, _ = run_cli(capsys, bare, corpus, "--out", tmp_path / "b.json")
    assert code == 0 and "no sentence boundaries" not in stdout
    assert _graph(tmp_path / "a.json") == _graph(tmp_path / "b.json")


def test_alias_table_and_labels(tmp_path, capsys, model, corpus):
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("alias,canonical\nMr Johnson,Boris Johnson (PM)\nBoris Johnson,Boris Johnson (PM)\n")
    code, _, _ = run_cli(
        capsys, model, corpus, "--out", tmp_path / "g.json", "--aliases", aliases, "--labels", "PERSON"
    )
    assert code == 0
    nodes = {node["id"]: node for node in _graph(tmp_path / "g.json")["nodes"]}
    assert "Boris Johnson (PM)" in nodes and "Boris Johnson" not in nodes
    assert {node["entity_label"] for node in nodes.values()} == {"PERSON"}


def test_docbin_input(tmp_path, capsys, model, corpus):
    from spacy.tokens import DocBin

    from spacy_bilstm.extensions import install_extensions

    install_extensions()
    nlp = spacy.load(model)
    docbin = DocBin(store_user_data=True)
    for line in corpus.read_text(encoding="utf8").splitlines():
        record = json.loads(line)
        doc = nlp.make_doc(record["text"])
        doc._.meta = {"id": record["id"], "date": record["date"]}
        docbin.add(doc)
    docbin.to_disk(tmp_path / "docs.spacy")
    assert (
        run_cli(capsys, model, tmp_path / "docs.spacy", "--out", tmp_path / "a.json", "--speaker-field", "x")[
            0
        ]
        == 0
    )
    assert run_cli(capsys, model, corpus, "--out", tmp_path / "b.json", "--speaker-field", "x")[0] == 0
    assert _graph(tmp_path / "a.json") == _graph(tmp_path / "b.json")
    code, _, stderr = run_cli(
        capsys, model, tmp_path / "docs.spacy", "--out", tmp_path / "c.json", "--backend", "ray"
    )
    assert code == 2 and "--backend ray reads JSONL" in stderr


def test_help_documents_ray_address(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, stdout, _ = run_cli(capsys, "--help")
    assert code == 0
    assert "--ray-address" in stdout and "ray://HOST:10001" in stdout and "--resume" in stdout


def test_resume_after_sigkill_gives_the_uninterrupted_graph(tmp_path, capsys, model):
    corpus = write_jsonl(tmp_path / "big.jsonl", 6000, seed=12)
    with corpus.open("a", encoding="utf8") as f:
        f.write('{"text": 1}\n')  # a skipped line, to check the counts survive the kill
    common = ["--skip-invalid", "--formats", "csv", "--checkpoint-every", "250", "--no-progress"]
    reference = tmp_path / "reference" / "graph.json"
    assert run_cli(capsys, model, corpus, "--out", reference, *common[:-1])[0] == 0

    out = tmp_path / "killed" / "graph.json"
    command = [
        sys.executable,
        "-m",
        "spacy_bilstm",
        "network",
        str(model),
        str(corpus),
        "--out",
        str(out),
        *common,
    ]
    manifest = tmp_path / "killed" / "graph.checkpoint" / "manifest.json"
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not manifest.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before its first checkpoint"
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    state = json.loads(manifest.read_text(encoding="utf8"))["state"]
    assert 0 < state["position"]["line"] < 6000
    assert not out.exists()

    code, _, stderr = run_cli(capsys, model, corpus, "--out", out, *common[:-1])
    assert code == 2 and "--resume" in stderr
    code, stdout, _ = run_cli(capsys, model, corpus, "--out", out, *common[:-1], "--resume")
    assert code == 0
    assert "records read: 6001, used: 6000, skipped: 1" in stdout
    assert _graph(out) == _graph(reference)
    for suffix in (".speakers.json", ".nodes.csv", ".edges.csv"):
        assert (out.parent / f"graph{suffix}").read_bytes() == (
            reference.parent / f"graph{suffix}"
        ).read_bytes()
    resumed = json.loads((out.parent / "graph.report.json").read_text(encoding="utf8"))
    original = json.loads((reference.parent / "graph.report.json").read_text(encoding="utf8"))
    assert resumed["command"]["resumed_records"] == state["report"]["read"] > 0
    for key in ("records", "skipped_examples", "extraction", "graph", "speaker_graph"):
        assert resumed[key] == original[key], key
    assert not (out.parent / "graph.checkpoint").exists()
