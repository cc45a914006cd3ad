"""The actor network built from a statistical recogniser: a small
`bilstm_ner`, trained here on speeches the entity ruler of
`benchmarks/synthetic_speeches.py` labels, runs through the local backend and through Ray
on a real local cluster, and both find the same network, close to the
ruler's own."""
import random

import pytest
import spacy
from spacy.training import Example

from spacy_bilstm.network import ExtractOptions, Window, build_network
from spacy_bilstm.network.checkpoint import Checkpoint
from spacy_bilstm.network.local_backend import run_jsonl
from spacy_bilstm.network.pipeline import load_pipeline
from spacy_bilstm.network.sources import JsonlSource
from benchmarks.synthetic_speeches import build_pipeline, generate_records, write_jsonl

OPTIONS = ExtractOptions(window=Window.parse("sentence"))
SMALL_TAGGER = {
    "@architectures": "spacy_bilstm.BiLSTMCRFTagger.v1", "hidden_width": 32,
    "tok2vec": {"@architectures": "spacy_bilstm.WordCharEmbed.v1", "width": 32,
                "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"], "rows": [2000, 500, 500, 200],
                "include_static_vectors": False},
}


@pytest.fixture(scope="module")
def trained_ner(tmp_path_factory):
    """A bilstm_ner trained on 100 speeches that the entity ruler labelled."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # training only: the backends below run on torch's defaults
    ruler = build_pipeline()
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("bilstm_ner", config={"model": SMALL_TAGGER})
    examples = []
    for record in generate_records(100, seed=5):
        labelled = ruler(record["text"])
        spans = [(ent.start_char, ent.end_char, ent.label_) for ent in labelled.ents]
        examples.append(Example.from_dict(nlp.make_doc(record["text"]), {"entities": spans}))
    random.seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(6):
        random.shuffle(examples)
        for start in range(0, len(examples), 16):
            nlp.update(examples[start:start + 16], sgd=optimizer, drop=0.1)
    path = tmp_path_factory.mktemp("models") / "bilstm_ner"
    nlp.to_disk(path)
    torch.set_num_threads(threads)
    return path


@pytest.fixture(scope="module")
def speeches(tmp_path_factory):
    """80 unseen speeches (another seed) in two JSONL shards."""
    directory = tmp_path_factory.mktemp("speeches")
    write_jsonl(directory / "part-a.jsonl", 50, seed=31)
    write_jsonl(directory / "part-b.jsonl", 30, seed=32)
    return directory


def _edges(aggregate):
    return {tuple(sorted(edge)) for edge in build_network(aggregate, OPTIONS).graph.edges}


def test_trained_bilstm_ner_builds_the_network_locally_and_on_ray(trained_ner, speeches, tmp_path, tmp_path_factory):
    ray = pytest.importorskip("ray")
    nlp = load_pipeline(trained_ner, need_sentences=True)
    local = run_jsonl(nlp, JsonlSource(speeches), OPTIONS, progress=False)

    from spacy_bilstm.network.ray_backend import run_ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        checkpoint = Checkpoint.open(tmp_path / "ckpt", {"test": 1}, resume=False, restart=False)
        distributed = run_ray(trained_ner, speeches, OPTIONS, skip_invalid=False, lines_per_shard=20,
                              checkpoint=checkpoint, progress=False)
    finally:
        if started:
            ray.shutdown()
    assert distributed.aggregate == local.aggregate
    assert local.report.used == 80

    # The statistical model's network is the ruler's, nearly: most of the
    # ruler's co-mentions are found, and few edges are invented.
    ruler_path = tmp_path_factory.mktemp("models") / "ruler"
    build_pipeline().to_disk(ruler_path)
    reference = run_jsonl(load_pipeline(ruler_path, need_sentences=True), JsonlSource(speeches), OPTIONS,
                          progress=False)
    found, expected = _edges(local.aggregate), _edges(reference.aggregate)
    assert len(expected) >= 20
    recall = len(found & expected) / len(expected)
    precision = len(found & expected) / max(len(found), 1)
    assert recall >= 0.6 and precision >= 0.6, (recall, precision)
