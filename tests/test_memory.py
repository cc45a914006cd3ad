"""HeapTrimmer: the heap is trimmed every N training updates."""
import sys

import pytest
import spacy
from spacy.training import Example

from spacy_bilstm.components import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_trim_heap_calls_glibc():
    assert memory.trim_heap() is True


def test_trimmer_trims_every_n_updates(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "trim_heap", lambda: calls.append(1) or True)
    trimmer = memory.HeapTrimmer(every=3)
    for _ in range(10):
        trimmer.step()
    assert len(calls) == 3


@pytest.mark.parametrize("factory,annotations", [
    ("bilstm_ner", {"entities": [(0, 6, "PER")]}),
    ("lstm_textcat", {"cats": {"A": 1.0, "B": 0.0}}),
])
def test_pipes_count_their_updates(factory, annotations):
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe(factory)
    examples = [Example.from_dict(nlp.make_doc("Angela spoke"), annotations)]
    if factory == "lstm_textcat":
        examples.append(Example.from_dict(nlp.make_doc("Bo left"), {"cats": {"A": 0.0, "B": 1.0}}))
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    assert pipe._heap_trimmer.updates == 3
