"""The hand-annotated parliamentary NER corpus (corpus/parliament) and its
inline markup: alignment, splits by debate, sources, the guidelines' hard
cases, and the build's checks."""
import json
import shutil
import subprocess
import sys
from collections import Counter

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_bilstm.corpora.jsonl_ner import read_jsonl_ner
from spacy_bilstm.corpora.markup import parse_markup, to_markup
from spacy_bilstm.errors import InputError

from .conftest import ROOT

PARLIAMENT = ROOT / "corpus" / "parliament"
SPLITS = ("train", "dev", "test")


def records(split):
    return [json.loads(line) for line in (PARLIAMENT / f"{split}.jsonl").read_text(encoding="utf8").splitlines()]


@pytest.fixture(scope="module")
def corpus():
    return {split: records(split) for split in SPLITS}


def test_size_and_balance(corpus):
    every = [r for split in SPLITS for r in corpus[split]]
    assert len(every) >= 2500
    assert len(corpus["test"]) >= 600
    sources = Counter(r["meta"]["source"] for r in every)
    assert set(sources) == {"handeset", "convote"}
    assert 0.4 < sources["handeset"] / len(every) < 0.6


def test_every_span_aligns_to_spacy_tokens(corpus):
    nlp = spacy.blank("en")
    for split in SPLITS:
        for record in corpus[split]:
            doc = nlp.make_doc(record["text"])
            for span in record["spans"]:
                assert span["label"] in {"PER", "LOC", "ORG", "MISC"}
                aligned = doc.char_span(span["start"], span["end"], alignment_mode="strict")
                assert aligned is not None, (record["meta"]["id"], span)
                assert aligned.text == aligned.text.strip()


def test_splits_share_no_debate(corpus):
    debates = {split: {(r["meta"]["source"], r["meta"]["debate"]) for r in corpus[split]} for split in SPLITS}
    assert not debates["train"] & debates["dev"]
    assert not debates["train"] & debates["test"]
    assert not debates["dev"] & debates["test"]


def test_every_sentence_has_a_unique_source_id(corpus):
    ids = [r["meta"]["id"] for split in SPLITS for r in corpus[split]]
    assert len(ids) == len(set(ids))
    drawn = (PARLIAMENT / "src" / "sentences.tsv").read_text(encoding="utf8").splitlines()[1:]
    assert sorted(ids) == sorted(line.split("\t")[0] for line in drawn)
    for split in SPLITS:
        for r in corpus[split]:
            assert r["meta"]["record"] and r["meta"]["speaker"], r["meta"]["id"]


def test_the_jsonl_files_are_built_from_the_annotation_sources(tmp_path):
    # The shipped JSONL must be what build_parliament.py makes of the
    # annotated sources (which it checks against the drawn sentences).
    result = subprocess.run(
        [sys.executable, str(ROOT / "corpus" / "src" / "build_parliament.py"), "--out", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    for split in SPLITS:
        assert (tmp_path / f"{split}.jsonl").read_bytes() == (PARLIAMENT / f"{split}.jsonl").read_bytes(), split


def test_blind_agreement_is_at_least_90_per_label():
    sys.path.insert(0, str(ROOT / "corpus" / "src"))
    try:
        from agreement import agreement
    finally:
        sys.path.pop(0)
    scores, by_source, _ = agreement()
    assert sum(by_source.values()) >= 0.1 * 2500
    for label, s in scores.items():
        assert s["f"] >= 0.9, (label, s)


# The guidelines' hard cases, as annotated, through `convert ner`.
HARD_CASES = [
    ("I thank the hon. Member for [Bolsover](LOC) (Mr [Skinner](PER)) for that.", [("Bolsover", "LOC"), ("Skinner", "PER")]),
    ("Sir [Peter Tapsell](PER) and Mrs [Jones](PER) spoke.", [("Peter Tapsell", "PER"), ("Jones", "PER")]),
    ("The [Commission](ORG) has told the [Council](ORG) and [Member States](ORG).", [("Commission", "ORG"), ("Council", "ORG"), ("Member States", "ORG")]),
    ("The [European Parliament](ORG) voted.", [("European Parliament", "ORG")]),
    ("The Government have failed, and the Opposition know it; I appeal to the Chair.", []),
    ("[Labour](ORG)'s plan was rejected by [Conservative](ORG) Members.", [("Labour", "ORG"), ("Conservative", "ORG")]),
    ("The [Human Rights Act 1998](MISC) protects [British](MISC) citizens.", [("Human Rights Act 1998", "MISC"), ("British", "MISC")]),
    ("The gentleman from [Texas](LOC) (Mr. [DeLay](PER)) spoke in the [House](ORG).", [("Texas", "LOC"), ("DeLay", "PER"), ("House", "ORG")]),
]


@pytest.mark.parametrize("marked,expected", HARD_CASES)
def test_hard_cases_pass_through_conversion_as_annotated(tmp_path, marked, expected):
    text, spans = parse_markup(marked)
    source = tmp_path / "case.jsonl"
    source.write_text(json.dumps({"text": text, "spans": spans}) + "\n", encoding="utf8")
    out = tmp_path / "case.spacy"
    result = subprocess.run(
        [sys.executable, "-m", "spacy_bilstm", "convert", "ner", str(source), str(out)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    nlp = spacy.blank("en")
    (doc,) = DocBin().from_disk(out).get_docs(nlp.vocab)
    assert [(e.text, e.label_) for e in doc.ents] == expected
    assert to_markup(text, spans) == marked


@pytest.mark.parametrize(
    "marked,message",
    [
        ("The [House](ORX) sat.", "markup not understood near"),
        ("The [House ](ORG) sat.", "starts or ends with whitespace"),
        ("The [[House](ORG)](ORG) sat.", "markup not understood near"),
    ],
)
def test_bad_markup_is_an_input_error(marked, message):
    with pytest.raises(InputError, match=message):
        parse_markup(marked)


def test_the_build_names_file_and_line_of_a_bad_annotation(tmp_path):
    sentences = (PARLIAMENT / "src" / "sentences.tsv").read_text(encoding="utf8").splitlines()
    sid, text = sentences[1].split("\t")[0], sentences[1].split("\t")[-1]
    bad = tmp_path / "batch.tsv"
    # Line 2: the text no longer matches its source.
    bad.write_text(f"{sid}\t{text}\n{sentences[2].split(chr(9))[0]}\tSomething else entirely.\n", encoding="utf8")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(ROOT / "corpus" / "src" / "build_parliament.py"), "--check", str(bad), "--out", str(out)],
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert f"{bad}:2: text differs from the source" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()

    # An entity that cuts a spaCy token (the text itself is the source's).
    header = sentences[0].split("\t")
    row = next(r for r in (dict(zip(header, line.split("\t"))) for line in sentences[1:]) if r["source"] == "handeset")
    first = row["text"].split(" ")[0]
    assert len(first) > 1
    cut = tmp_path / "cut.tsv"
    cut.write_text(f"{row['id']}\t[{first[:-1]}](PER){row['text'][len(first) - 1:]}\n", encoding="utf8")
    result = subprocess.run(
        [sys.executable, str(ROOT / "corpus" / "src" / "build_parliament.py"), "--check", str(cut)],
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert f"{cut}:1: entity {first[:-1]!r} does not cover whole tokens" in result.stderr

    # The full build with a bad line in its sources writes no JSONL.
    src = tmp_path / "src"
    shutil.copytree(PARLIAMENT / "src", src)
    batch = sorted((src / "annotated").glob("*.tsv"))[0]
    lines = batch.read_text(encoding="utf8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    lines[n] = lines[n].split("\t")[0] + "\tSomething else entirely."
    batch.write_text("\n".join(lines) + "\n", encoding="utf8")
    driver = (
        "import sys\nfrom pathlib import Path\n"
        f"sys.path.insert(0, {str(ROOT / 'corpus' / 'src')!r})\n"
        "import build_parliament\n"
        f"build_parliament.SRC = Path({str(src)!r})\n"
        f"sys.argv = ['build_parliament.py', '--out', {str(out)!r}]\n"
        "build_parliament.main()\n"
    )
    result = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{batch}:{n + 1}: text differs from the source" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (out.exists() and any(out.iterdir()))


def test_reading_the_corpus_keeps_the_meta():
    nlp = spacy.blank("en")
    doc = next(iter(read_jsonl_ner(PARLIAMENT / "test.jsonl", nlp)))
    assert doc._.meta["source"] in {"handeset", "convote"} and doc._.meta["debate"]
