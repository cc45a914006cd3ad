"""Per-document rows on disk (`Aggregate(spill=True)`): the same graph as in
memory, edge for edge, and memory that does not grow with the documents."""

import gc
import random
import tracemalloc

import pytest

from spacy_bilstm.network import Aggregate, ExtractOptions, Window, build_network, extract_doc, extract_network
from spacy_bilstm.network import aggregate as aggregate_module

from .test_network_extract import _graph_signature, make_doc

PEOPLE = ["Boris Johnson", "Johnson", "Keir Starmer", "Mr Starmer", "Ed Davey", "Rishi Sunak"]
# Ids whose order differs between naive byte and code point comparisons, and
# ids that repeat (with the same or another date), where rows of one key add up.
IDS = ["doc-a", "doc-Z", "doc-é", "doc-ｚ", "doc-😀", "doc-\u00a0", "same", "same", "same", "again", "again"]


def _docs(n: int = 80, seed: int = 0):
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        parts = []
        for _ in range(rng.randint(1, 10)):
            roll = rng.random()
            if roll < 0.5:
                parts.append(f"[{rng.choice(PEOPLE)}](PERSON)")
            elif roll < 0.6:
                parts.append("[the Treasury](ORG)")
            elif roll < 0.8:
                parts.append(".")
            else:
                parts.append("word")
        parts.append(".")
        meta = {
            "id": IDS[i] if i < len(IDS) else f"doc{rng.randint(0, 10 ** 6):07d}",
            "date": rng.choice(["", "2020-01-01", "2020-02-01", "2021-03-04"]),
            "speaker": rng.choice([None, "Boris Johnson", "Mr Keir Starmer", "Ann Other"]),
        }
        # Stances whose float sums depend on the order of addition.
        support = rng.random()
        docs.append(make_doc(" ".join(parts), meta=meta, cats={"support": support, "oppose": 1 - support}))
    return docs


@pytest.mark.parametrize("window", ["sentence", "document"])
def test_spilled_rows_give_the_graph_of_the_rows_in_memory(monkeypatch, window):
    options = ExtractOptions(window=Window.parse(window), evidence=2)
    docs = _docs()
    in_memory = extract_network(docs, options)
    reference = _graph_signature(build_network(in_memory, options))
    # Every document's rows go to disk as soon as the next one comes, so
    # that repeated ids give one key in several batches.
    monkeypatch.setattr(aggregate_module, "SPILL_ROWS", 0)
    spilled = extract_network(docs, options, aggregate=Aggregate(2, spill=True))
    assert spilled == in_memory
    assert _graph_signature(build_network(spilled, options)) == reference
    # Merged from batches (as the local backend does) and read from rows (as
    # a checkpoint or Ray's sum is).
    merged = Aggregate(2, spill=True)
    for start in range(0, len(docs), 7):
        merged.merge(extract_network(docs[start : start + 7], options))
    assert _graph_signature(build_network(merged, options)) == reference
    from_rows = Aggregate.from_rows(in_memory.to_rows(), evidence=2, spill=True)
    assert _graph_signature(build_network(from_rows, options)) == reference
    # A spilled aggregate merged into one in memory.
    back = Aggregate(2)
    back.merge(spilled)
    assert back == in_memory


def _python_heap_after(aggregate: Aggregate, extractions) -> int:
    for extraction in extractions:
        aggregate.add(extraction)
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.mark.parametrize("spill", [True, False])
def test_spilling_aggregate_does_not_grow_with_documents(monkeypatch, spill):
    # The same actors and pairs in every document, each with a new id: only
    # the per-document rows grow, and a spilling aggregate keeps them on disk
    # (SQLite's page cache, outside the Python heap, is bounded apart).
    monkeypatch.setattr(aggregate_module, "SPILL_ROWS", 200)
    options = ExtractOptions()
    templates = [
        make_doc(
            "[Boris Johnson](PERSON) met [Keir Starmer](PERSON) . [Ed Davey](PERSON) and [Johnson](PERSON) ."
        ),
        make_doc("[Keir Starmer](PERSON) thanked [the Treasury](ORG) and [Ed Davey](PERSON) ."),
    ]

    def extractions(start: int, stop: int):
        for i in range(start, stop):
            meta = {"id": f"speech-{i:07d}", "date": f"2020-01-{i % 28 + 1:02d}", "speaker": "Ann Other"}
            yield extract_doc(templates[i % 2], options, meta=meta)

    aggregate = Aggregate(options.evidence, spill=spill)
    tracemalloc.start()
    try:
        # Warm up (dicts and the evidence reach their size), then measure.
        base = _python_heap_after(aggregate, extractions(0, 500))
        grown = _python_heap_after(aggregate, extractions(500, 3000)) - base
    finally:
        tracemalloc.stop()
    if spill:
        # At most the rows not yet spilled (200, about 30 KiB) differ between
        # the two points: 2,500 documents' rows would be about 1.7 MiB.
        assert grown < 64 * 1024, grown
        network = build_network(aggregate, options)
        assert network.graph.edges["Boris Johnson", "Keir Starmer"]["n_docs"] == 1500
    else:
        # What the rows cost in memory: the test would see them.
        assert grown > 1024 * 1024, grown
