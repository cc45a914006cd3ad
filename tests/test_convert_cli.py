"""`python -m spacy_bilstm convert ...`: a few runs in a subprocess (the real
entry point, ~5 s each because importing spaCy is slow), the rest through the
same `main()` in-process."""
import json
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_bilstm import install_extensions

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]


def convert(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "spacy_bilstm", "convert", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def run_main(monkeypatch, capsys, *args: str) -> subprocess.CompletedProcess:
    """Run `spacy_bilstm.cli.main` in-process, as `python -m spacy_bilstm convert ...`."""
    from spacy_bilstm.cli import main

    monkeypatch.setattr(sys, "argv", ["spacy-bilstm", "convert", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def load(path: Path) -> List:
    install_extensions()
    return list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))


def assert_one_line_error(result: subprocess.CompletedProcess, starts: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {starts}"), lines[0]


def test_convert_ner_conll(tmp_path):
    src = tmp_path / "a.conll"
    src.write_text(
        "-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\nrejects VBZ I-VP O\n\n"
        "Peter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n\n-DOCSTART- -X- O O\n\nBonn NNP I-NP I-LOC\n"
    )
    out = tmp_path / "out.spacy"
    result = convert("ner", src, out, "--n-sents", "5")
    assert result.returncode == 0, result.stderr
    docs = load(out)
    assert [[(e.text, e.label_) for e in d.ents] for d in docs] == [
        [("EU", "ORG"), ("Peter Blackburn", "PER")],
        [("Bonn", "LOC")],
    ]
    assert [d._.meta["doc"] for d in docs] == [0, 1]
    assert "records (sentences for CoNLL) read: 3, used: 3, skipped: 0" in result.stdout
    assert "docs written: 2" in result.stdout
    assert "entities: 3 (LOC 1, ORG 1, PER 1)" in result.stdout


def test_convert_ner_bad_record_is_one_line_error(tmp_path, monkeypatch, capsys):
    src = tmp_path / "bad.conll"
    src.write_text("Angela B-PER\n\nin O\nParis I-LOC\n\nBerlin B-LOC\n")
    out = tmp_path / "out.spacy"
    result = convert("ner", src, out, "--scheme", "bio")
    assert_one_line_error(result, f"{src}:4: 'I-LOC' does not follow")
    assert not out.exists()
    assert not list(tmp_path.glob(".out.spacy*"))
    result = run_main(monkeypatch, capsys, "ner", src, out, "--scheme", "bio", "--skip-invalid")
    assert result.returncode == 0, result.stderr
    assert "read: 3, used: 2, skipped: 1" in result.stdout
    assert "skipped (i_without_b): 1" in result.stdout
    assert [[e.text for e in d.ents] for d in load(out)] == [["Angela"], ["Berlin"]]


def test_convert_ner_jsonl_misaligned(tmp_path, monkeypatch, capsys):
    src = tmp_path / "n.jsonl"
    src.write_text('{"text": "Paris", "spans": [[0, 5, "LOC"]]}\n{"text": "Paris", "spans": [[0, 3, "LOC"]]}\n')
    result = run_main(monkeypatch, capsys, "ner", src, tmp_path / "o.spacy")
    assert_one_line_error(result, f"{src}:2: span [0, 3) LOC")


@pytest.mark.parametrize(
    "make_args,starts",
    [
        (lambda t: ["ner", t / "missing.conll", t / "o.spacy"], "{t}/missing.conll: input file not found"),
        (lambda t: ["textcat", t / "missing.csv", t / "o.spacy"], "{t}/missing.csv: input file not found"),
        (lambda t: ["ner", t / "empty.conll", t / "o.spacy"], "{t}/empty.conll: empty file, no records"),
        (lambda t: ["ner", t / "empty.conll", t], "{t}: output is a directory"),
        (lambda t: ["textcat", t / "plain.txt", t / "o.spacy"], "{t}/plain.txt:1: cannot tell the format"),
        (lambda t: ["ner", t / "plain.txt", t / "o.spacy", "--lang", "zz"], "unknown language code 'zz'"),
        # The train DocBin is complete under its temporary name when the dev
        # one cannot be written (its folder would be a file): neither is left.
        (
            lambda t: ["ner", t / "four.jsonl", t / "o.spacy", "--dev-output", t / "plain.txt" / "d.spacy", "--dev-fraction", "0.5"],
            "{t}/plain.txt/d.spacy: cannot write output",
        ),
    ],
    ids=["missing-ner", "missing-textcat", "empty", "out-dir", "unknown-format", "bad-lang", "unwritable-dev"],
)
def test_convert_input_errors(tmp_path, monkeypatch, capsys, make_args, starts):
    (tmp_path / "empty.conll").write_bytes(b"\n \n")
    (tmp_path / "plain.txt").write_text("hello world\n")
    (tmp_path / "four.jsonl").write_text("".join(f'{{"text": "Paris {i}."}}\n' for i in range(4)))
    inputs = sorted(p.name for p in tmp_path.iterdir())
    result = run_main(monkeypatch, capsys, *make_args(tmp_path))
    assert_one_line_error(result, starts.format(t=tmp_path))
    # Nothing half-written: no output file and no temporary file beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == inputs


def test_convert_bad_choice_is_one_line_error(tmp_path, monkeypatch, capsys):
    src = tmp_path / "a.conll"
    src.write_text("a O\n")
    result = run_main(monkeypatch, capsys, "ner", src, tmp_path / "o.spacy", "--scheme", "iob9")
    assert_one_line_error(result, "--scheme must be one of auto, iob1, bio, biluo, not 'iob9'")
    result = run_main(monkeypatch, capsys, "textcat", src, tmp_path / "o.spacy", "--format", "xml")
    assert_one_line_error(result, "--format must be one of auto, jsonl, handeset, convote, semeval")


def test_convert_textcat_jsonl_with_dev_split(tmp_path, monkeypatch, capsys):
    src = tmp_path / "t.jsonl"
    records = [
        {"text": f"speech {i}", "label": "support" if i % 3 else "oppose", "target": "M", "meta": {"group": f"d{i // 4}"}}
        for i in range(40)
    ]
    src.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    train_path, dev_path = tmp_path / "train.spacy", tmp_path / "dev.spacy"
    result = run_main(
        monkeypatch, capsys, "textcat", src, train_path, "--dev-output", dev_path, "--dev-fraction", "0.25", "--seed", "1"
    )
    assert result.returncode == 0, result.stderr
    train, dev = load(train_path), load(dev_path)
    assert len(train) + len(dev) == 40
    assert len(dev) == 12 or len(dev) == 8
    assert not {d._.meta["group"] for d in train} & {d._.meta["group"] for d in dev}
    assert sorted(d.text for d in train + dev) == sorted(r["text"] for r in records)
    assert all(d._.stance_target == "M" for d in train + dev)
    assert f"docs written: train {len(train)} -> {train_path}, dev {len(dev)} -> {dev_path}" in result.stdout
    assert "split: 10 groups (meta 'group'), each kept whole" in result.stdout
    # The same command gives the same split.
    again = run_main(
        monkeypatch, capsys, "textcat", src, tmp_path / "t2.spacy", "--dev-output", tmp_path / "d2.spacy",
        "--dev-fraction", "0.25", "--seed", "1",
    )
    assert again.returncode == 0
    assert [d.text for d in load(tmp_path / "d2.spacy")] == [d.text for d in dev]


def test_convert_textcat_group_by_keeps_debates_whole(tmp_path, monkeypatch, capsys):
    src = tmp_path / "t.jsonl"
    records = [
        {"text": f"speech {i}", "label": "support" if i % 2 else "oppose", "meta": {"debate_id": f"d{i // 4}"}}
        for i in range(40)
    ]
    src.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    args = ["textcat", src, tmp_path / "train.spacy", "--dev-output", tmp_path / "dev.spacy", "--seed", "1"]
    # Without --group-by the records have no group: stratified, and the
    # output says how to keep the debates whole.
    plain = run_main(monkeypatch, capsys, *args)
    assert plain.returncode == 0, plain.stderr
    assert "split: stratified by label and target" in plain.stdout and "--group-by KEY" in plain.stdout
    grouped = run_main(monkeypatch, capsys, *args, "--group-by", "debate_id")
    assert grouped.returncode == 0, grouped.stderr
    assert "split: 10 groups (meta 'group'), each kept whole" in grouped.stdout
    train, dev = load(tmp_path / "train.spacy"), load(tmp_path / "dev.spacy")
    assert len(train) + len(dev) == 40
    assert all(d._.meta["group"] == d._.meta["debate_id"] for d in train + dev)
    assert not {d._.meta["group"] for d in train} & {d._.meta["group"] for d in dev}
    # Without a dev split the groups are stored too, for crossval.
    whole = run_main(monkeypatch, capsys, "textcat", src, tmp_path / "all.spacy", "--group-by", "debate_id")
    assert whole.returncode == 0 and all("group" in d._.meta for d in load(tmp_path / "all.spacy"))
    # A record without the key: its file and line, one line.
    records[2]["meta"] = {}
    src.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    missing = run_main(monkeypatch, capsys, *args, "--group-by", "debate_id")
    assert_one_line_error(missing, f"{src}:3: meta 'debate_id' is missing or empty")


def test_convert_textcat_real_handeset(tmp_path, monkeypatch, capsys):
    src = SHARED / "handeset" / "HanDeSeT.csv"
    if not src.exists():
        pytest.skip(f"{src} not available")
    out = tmp_path / "h.spacy"
    result = run_main(monkeypatch, capsys, "textcat", src, out)
    assert result.returncode == 0, result.stderr
    assert "records read: 1010, used: 1010, skipped: 0" in result.stdout
    assert "labels: oppose 444, support 566" in result.stdout
    docs = load(out)
    assert len(docs) == 1010
    assert docs[0]._.stance_target.startswith("That leave be given to bring in a Bill")
    assert docs[0]._.meta["speaker"] == "Kevin McNamara"


def test_convert_missing_input_in_subprocess(tmp_path):
    result = convert("textcat", tmp_path / "nope.csv", tmp_path / "o.spacy")
    assert_one_line_error(result, f"{tmp_path}/nope.csv: input file not found")


def test_convert_ner_jsonl_with_dev_split_keeps_documents_whole(tmp_path, monkeypatch, capsys):
    src = tmp_path / "n.jsonl"
    records = [
        {"text": f"Okafor spoke in Leeds {i}.", "spans": [[0, 6, "PER"], [16, 21, "LOC"]], "meta": {"doc": f"d{i // 3}"}}
        for i in range(30)
    ]
    # Two records without a document: each is a group of its own.
    records += [{"text": "Paris.", "spans": [[0, 5, "LOC"]]}, {"text": "Rome.", "spans": [[0, 4, "LOC"]]}]
    src.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    train_path, dev_path = tmp_path / "train.spacy", tmp_path / "dev.spacy"
    args = ["ner", src, train_path, "--dev-output", dev_path, "--dev-fraction", "0.25", "--seed", "3"]
    result = run_main(monkeypatch, capsys, *args)
    assert result.returncode == 0, result.stderr
    train, dev = load(train_path), load(dev_path)
    assert sorted(d.text for d in train + dev) == sorted(r["text"] for r in records)
    assert abs(len(dev) - 0.25 * len(records)) <= 3
    train_docs = {d._.meta.get("doc") for d in train} - {None}
    dev_docs = {d._.meta.get("doc") for d in dev} - {None}
    assert train_docs and dev_docs and not train_docs & dev_docs
    assert all(len(d.ents) == len(r["spans"]) for d, r in zip(sorted(train + dev, key=lambda d: d._.meta["line"]), records))
    assert f"docs written: train {len(train)} -> {train_path}, dev {len(dev)} -> {dev_path}" in result.stdout
    n_dev_ents = sum(len(d.ents) for d in dev)
    assert f"dev entities: {n_dev_ents} (" in result.stdout
    assert "split: 12 documents" in result.stdout
    # Deterministic: the same seed gives the same dev split, another seed another one.
    again = run_main(monkeypatch, capsys, *args[:2], tmp_path / "t2.spacy", "--dev-output", tmp_path / "d2.spacy", *args[5:])
    assert again.returncode == 0
    assert [d.text for d in load(tmp_path / "d2.spacy")] == [d.text for d in dev]
    other = run_main(
        monkeypatch, capsys, "ner", src, tmp_path / "t3.spacy", "--dev-output", tmp_path / "d3.spacy",
        "--dev-fraction", "0.25", "--seed", "4",
    )
    assert other.returncode == 0
    assert [d.text for d in load(tmp_path / "d3.spacy")] != [d.text for d in dev]


def test_convert_ner_dev_split_errors(tmp_path, monkeypatch, capsys):
    src = tmp_path / "n.jsonl"
    src.write_text('{"text": "Paris.", "meta": {"doc": "d1"}}\n{"text": "Rome.", "meta": {"doc": "d1"}}\n')
    out = tmp_path / "o.spacy"
    result = run_main(monkeypatch, capsys, "ner", src, out, "--dev-output", tmp_path / "d.spacy")
    assert_one_line_error(result, f"{src}: cannot make a dev split: all 2 Docs belong to one document")
    assert not out.exists()
    result = run_main(monkeypatch, capsys, "ner", src, out, "--dev-output", out)
    assert_one_line_error(result, f"{out}: --dev-output must differ from the output")
    result = run_main(monkeypatch, capsys, "ner", src, out, "--dev-output", tmp_path / "d.spacy", "--dev-fraction", "1")
    assert_one_line_error(result, "--dev-fraction must be between 0 and 1, not 1.0")
