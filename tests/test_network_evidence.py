"""Evidence snippets: at most K per edge, the same K whatever the order,
batches or interruptions in which documents are counted."""

import json
import random

import pytest
from spacy.language import Language

from spacy_bilstm.network import Aggregate, ExtractOptions, Window, build_network, extract_doc, extract_network
from spacy_bilstm.network.checkpoint import Checkpoint
from spacy_bilstm.network.extract import MAX_EVIDENCE_CHARS
from spacy_bilstm.network.local_backend import run_jsonl
from spacy_bilstm.network.pipeline import load_pipeline
from spacy_bilstm.network.sources import JsonlSource
from benchmarks.synthetic_speeches import build_pipeline, write_jsonl

from .test_network_extract import make_doc

PEOPLE = ["[Boris Johnson](PERSON)", "[Keir Starmer](PERSON)", "[Ed Davey](PERSON)", "[the Treasury](ORG)"]


def _docs(n: int = 60, seed: int = 3):
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        sentences = []
        for _ in range(rng.randint(1, 4)):
            names = rng.sample(PEOPLE, rng.randint(1, 3))
            sentences.append(" and ".join(names) + f" spoke {rng.randint(0, 99)} times .")
        docs.append(make_doc(" ".join(sentences), meta={"id": f"doc-{i}", "date": f"2021-{i % 12 + 1:02d}-01"}))
    return docs


def _evidence(network):
    return {(u, v): d["evidence"] for u, v, d in network.graph.edges(data=True)}


@pytest.mark.parametrize("window", ["sentence", "paragraph", "document", "tokens:4"])
def test_k_per_edge_and_independent_of_order_and_batches(window):
    options = ExtractOptions(window=Window.parse(window), evidence=3)
    docs = _docs()
    whole = extract_network(docs, options)
    shuffled = docs[:]
    random.Random(0).shuffle(shuffled)
    batches = [extract_network(shuffled[i : i + 7], options) for i in range(0, len(shuffled), 7)]
    merged = Aggregate(3)
    for batch in batches:
        merged.merge(batch)
    assert merged == whole
    assert Aggregate.from_rows(merged.to_rows(), evidence=3) == whole
    network = build_network(whole, options)
    evidence = _evidence(network)
    assert evidence and all(1 <= len(kept) <= 3 for kept in evidence.values())
    # The kept three are the first three of everything (K = 1000).
    everything = _evidence(build_network(extract_network(docs, ExtractOptions(window=options.window, evidence=1000))))
    assert evidence == {edge: kept[:3] for edge, kept in everything.items()}
    for (u, v), kept in evidence.items():
        for item in kept:
            assert u.split()[-1] in item["text"] and v.split()[-1] in item["text"], (u, v, item)
            assert set(item) == {"doc_id", "char", "date", "speaker", "text"}


def test_evidence_zero_keeps_none_and_counts_are_unchanged():
    docs = _docs(20)
    with_evidence = build_network(extract_network(docs, ExtractOptions()), ExtractOptions())
    without = build_network(extract_network(docs, ExtractOptions(evidence=0)), ExtractOptions(evidence=0))
    assert not extract_network(docs, ExtractOptions(evidence=0)).evidence
    for u, v, data in without.graph.edges(data=True):
        assert "evidence" not in data
        assert data == {k: x for k, x in with_evidence.graph.edges[u, v].items() if k != "evidence"}


def test_long_windows_are_cut_around_the_pair():
    filler = " ".join(["word"] * 200)
    doc = make_doc(
        f"{filler} [Boris Johnson](PERSON) {filler} [Keir Starmer](PERSON) {filler} .",
        meta={"id": "long", "speaker": "Ann"},
    )
    extraction = extract_doc(doc, ExtractOptions())
    [(keys, location, text)] = extraction.evidence
    assert keys == ("boris johnson", "keir starmer")
    assert len(text) <= MAX_EVIDENCE_CHARS + 6 and "Boris Johnson" in text and "Keir Starmer" in text
    assert "\u2026" in text and doc.text[location : location + 20] in text


@Language.component("fail_after_40_docs")
def _fail_after_40(doc):
    _fail_after_40.seen = getattr(_fail_after_40, "seen", 0) + 1
    if _fail_after_40.seen > 40:
        raise RuntimeError("killed")
    return doc


def test_resume_keeps_the_evidence_of_an_uninterrupted_run(tmp_path):
    model = tmp_path / "model"
    build_pipeline().to_disk(model)
    corpus = write_jsonl(tmp_path / "speeches.jsonl", 120, seed=5)
    options = ExtractOptions(evidence=2)

    def run(nlp, checkpoint=None):
        source = JsonlSource(corpus)
        return run_jsonl(nlp, source, options, checkpoint=checkpoint, checkpoint_every=9, batch_size=4, progress=False)

    reference = run(load_pipeline(model, need_sentences=True))
    failing = load_pipeline(model, need_sentences=True)
    _fail_after_40.seen = 0
    failing.add_pipe("fail_after_40_docs")
    first = Checkpoint.open(tmp_path / "ckpt", {"test": 1}, resume=False, restart=False)
    with pytest.raises(RuntimeError, match="killed"):
        run(failing, first)
    again = Checkpoint.open(tmp_path / "ckpt", {"test": 1}, resume=True, restart=False)
    assert again.resumed and 0 < again.position["line"] < 120
    resumed = run(load_pipeline(model, need_sentences=True), again)
    assert resumed.aggregate.evidence == reference.aggregate.evidence
    assert resumed.aggregate == reference.aggregate
    edges = _evidence(build_network(resumed.aggregate, options))
    assert edges == _evidence(build_network(reference.aggregate, options))
    assert any(len(kept) == 2 for kept in edges.values())
    assert json.dumps(list(edges.values()))  # JSON-able, as the export writes it
