"""Evidence snippets: at most K per edge, the same K whatever the order,
batches or interruptions in which documents are counted."""

import json
import random
from typing import List, Optional

import networkx as nx
import pytest
from spacy.language import Language

from spacy_bilstm.errors import InputError
from spacy_bilstm.network import Aggregate, ExtractOptions, Window, build_network, extract_doc, extract_network
from spacy_bilstm.network.checkpoint import Checkpoint
from spacy_bilstm.network.export import write_graph
from spacy_bilstm.network.extract import MAX_EVIDENCE_CHARS
from spacy_bilstm.network.local_backend import run_jsonl
from spacy_bilstm.network.pipeline import load_pipeline
from spacy_bilstm.network.sources import JsonlSource
from spacy_bilstm.records import RecordReport
from benchmarks.synthetic_speeches import build_pipeline, write_jsonl

from .test_network_extract import make_doc

PEOPLE = ["[Boris Johnson](PERSON)", "[Keir Starmer](PERSON)", "[Ed Davey](PERSON)", "[the Treasury](ORG)"]


def _docs(n: int = 60, seed: int = 3, most_names: int = 3, speakers: Optional[List[str]] = None):
    # With `speakers`, document i is speaker i % len(speakers)'s.
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        sentences = []
        for _ in range(rng.randint(1, 4)):
            names = rng.sample(PEOPLE, rng.randint(1, most_names))
            sentences.append(" and ".join(names) + f" spoke {rng.randint(0, 99)} times .")
        meta = {"id": f"doc-{i}", "date": f"2021-{i % 12 + 1:02d}-01"}
        if speakers:
            meta["speaker"] = speakers[i % len(speakers)]
        docs.append(make_doc(" ".join(sentences), meta=meta))
    return docs


def _merged_in_shuffled_batches(docs, options, seed):
    """The docs shuffled, extracted seven at a time, and the batches merged."""
    shuffled = docs[:]
    random.Random(seed).shuffle(shuffled)
    merged = Aggregate(options.evidence)
    for i in range(0, len(shuffled), 7):
        merged.merge(extract_network(shuffled[i : i + 7], options))
    return merged


def _evidence(network):
    return {(u, v): d["evidence"] for u, v, d in network.graph.edges(data=True)}


@pytest.mark.parametrize("window", ["sentence", "paragraph", "document", "tokens:4"])
def test_k_per_edge_and_independent_of_order_and_batches(window):
    options = ExtractOptions(window=Window.parse(window), evidence=3)
    docs = _docs()
    whole = extract_network(docs, options)
    merged = _merged_in_shuffled_batches(docs, options, seed=0)
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


def _long_sentence():
    # One sentence far longer than MAX_EVIDENCE_CHARS, two actors far apart in it.
    filler = " ".join(["word"] * 200)
    return make_doc(
        f"{filler} [Boris Johnson](PERSON) {filler} [Keir Starmer](PERSON) {filler} .",
        meta={"id": "long", "speaker": "Ann"},
    )


def test_long_windows_are_cut_around_the_pair():
    doc = _long_sentence()
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
    assert resumed.aggregate.speaker_evidence == reference.aggregate.speaker_evidence
    said = _speaker_evidence(build_network(resumed.aggregate, options))
    assert said == _speaker_evidence(build_network(reference.aggregate, options))
    assert any(len(kept) == 2 for kept in said.values())


SPEAKERS = ["Ann Smith", "Bob Jones", "Cat Lee"]


def _speeches(n: int = 60, seed: int = 4):
    # Speeches by three speakers; many sentences name one actor only.
    return _docs(n, seed, most_names=2, speakers=SPEAKERS)


def _speaker_evidence(network):
    return {(u, v): d["evidence"] for u, v, d in network.speakers.edges(data=True)}


@pytest.mark.parametrize("window", ["sentence", "tokens:4"])
def test_speaker_edges_keep_k_sentences_of_the_speakers_documents_naming_the_actor(window):
    options = ExtractOptions(window=Window.parse(window), evidence=3)
    docs = _speeches()
    whole = extract_network(docs, options)
    merged = _merged_in_shuffled_batches(docs, options, seed=1)
    assert merged == whole and merged.speaker_evidence == whole.speaker_evidence
    assert Aggregate.from_rows(merged.to_rows(), evidence=3) == whole
    assert any(kind == "sevidence" for kind, *_ in whole.to_rows())
    network = build_network(whole, options)
    evidence = _speaker_evidence(network)
    assert evidence and all(1 <= len(kept) <= 3 for kept in evidence.values())
    assert any(len(kept) == 3 for kept in evidence.values())
    all_options = ExtractOptions(window=options.window, evidence=1000)
    everything = _speaker_evidence(build_network(extract_network(docs, all_options), all_options))
    assert evidence == {edge: kept[:3] for edge, kept in everything.items()}
    texts = {doc._.meta["id"]: doc for doc in docs}
    for (speaker, actor), kept in everything.items():
        name = network.speakers.nodes[speaker]["label"]
        actor_name = network.speakers.nodes[actor]["label"]
        # Every sentence of the speaker's documents that names the actor, once.
        expected = sorted(
            (doc_id, sent.start_char)
            for doc_id, doc in texts.items()
            if doc._.meta["speaker"] == name
            for sent in doc.sents
            if actor_name in sent.text
        )
        assert sorted((item["doc_id"], item["char"]) for item in kept) == expected
        for item in kept:
            assert item["speaker"] == name and texts[item["doc_id"]]._.meta["speaker"] == name
            assert actor_name in item["text"] and item["doc_id"] in network.speakers.edges[speaker, actor]["doc_ids"]
            assert set(item) == {"doc_id", "char", "date", "speaker", "text"}
            assert texts[item["doc_id"]].text[item["char"] :].startswith(item["text"])


def test_speaker_evidence_follows_the_actors_canonical_name():
    docs = [
        make_doc("[Boris Johnson](PERSON) spoke .", meta={"id": "a", "speaker": "Ann Smith"}),
        make_doc("Then [Johnson](PERSON) left .", meta={"id": "b", "speaker": "Ann Smith"}),
    ]
    network = build_network(extract_network(docs))
    assert set(network.speakers.edges) == {("speaker:Ann Smith", "actor:Boris Johnson")}
    kept = network.speakers.edges["speaker:Ann Smith", "actor:Boris Johnson"]["evidence"]
    assert sorted(item["text"] for item in kept) == ["Boris Johnson spoke .", "Then Johnson left ."]


def test_a_long_sentence_gives_each_actor_the_text_around_it():
    doc = _long_sentence()
    extraction = extract_doc(doc, ExtractOptions())
    assert [keys for keys, _, _ in extraction.speaker_evidence] == [("boris johnson",), ("keir starmer",)]
    for (_, location, text), name in zip(extraction.speaker_evidence, ["Boris Johnson", "Keir Starmer"]):
        assert len(text) <= MAX_EVIDENCE_CHARS + 6 and name in text and "\u2026" in text
        assert doc.text[location : location + 20] in text
    assert not extract_doc(doc, ExtractOptions(evidence=0)).speaker_evidence
    assert not extract_doc(make_doc("[Boris Johnson](PERSON) spoke .", meta={"id": "x"}), ExtractOptions()).speaker_evidence


def test_a_checkpoint_of_the_previous_format_is_refused(tmp_path):
    # A version 2 part has no speaker evidence rows: resuming from it would
    # lose the snippets of the documents it counted.
    first = Checkpoint.open(tmp_path / "ckpt", {"test": 1}, resume=False, restart=False)
    first.save(Aggregate(), {"line": 1}, RecordReport(skip_invalid=False))
    manifest = tmp_path / "ckpt" / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf8"))
    assert data["version"] == 3
    data["version"] = 2
    manifest.write_text(json.dumps(data), encoding="utf8")
    with pytest.raises(InputError, match="format version"):
        Checkpoint.open(tmp_path / "ckpt", {"test": 1}, resume=True, restart=False)


def test_speaker_evidence_is_exported_as_json_and_as_a_json_string_in_xml(tmp_path):
    network = build_network(extract_network(_speeches(12), ExtractOptions(evidence=2)), ExtractOptions(evidence=2))
    expected = _speaker_evidence(network)
    written, _ = write_graph(network.speakers, tmp_path / "g.json", ["json", "gexf", "graphml"], suffix=".speakers")
    data = json.loads((tmp_path / "g.speakers.json").read_text(encoding="utf8"))
    assert {(e["source"], e["target"]): e["evidence"] for e in data["edges"]} == expected
    for graph in (nx.read_gexf(tmp_path / "g.speakers.gexf"), nx.read_graphml(tmp_path / "g.speakers.graphml")):
        found = {(u, v): json.loads(d["evidence"]) for u, v, d in graph.edges(data=True)}
        assert found == expected and any(found.values())
