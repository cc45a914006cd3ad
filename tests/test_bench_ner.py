"""benchmarks/bench_ner.py: the spacy_ner_lower peer really reads the vectors
by lower case (spaCy's own StaticVectors, no change to spaCy)."""
import sys
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.attrs import LOWER, ORTH
from spacy.ml.staticvectors import StaticVectors
from spacy.vectors import Vectors

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench_ner():
    if not (BENCHMARKS / "bench_ner.py").exists():
        pytest.skip("benchmarks/bench_ner.py is not in this checkout")
    sys.path.insert(0, str(BENCHMARKS))
    import bench_ner as module

    return module


def _lower_case_table_nlp():
    # A GloVe-like table: lower-case keys only, as `spacy init vectors` loads it.
    nlp = spacy.blank("en")
    words = ["labour", "leeds", "the"]
    data = numpy.arange(len(words) * 4, dtype="float32").reshape((len(words), 4)) + 1
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=data, keys=words)
    return nlp


def _embed(nlp, text):
    doc = nlp.make_doc(text)
    model = StaticVectors(nO=4, nM=4)
    model.initialize(X=[doc])
    # The projection is random but the same for every token: compare rows.
    return model.predict([doc]).dataXd


def test_spacy_ner_lower_finds_capitalised_words(bench_ner):
    nlp = _lower_case_table_nlp()
    assert nlp.vocab.vectors.attr == ORTH
    by_text = _embed(nlp, "Labour labour")
    assert not by_text[0].any() and by_text[1].any()  # spaCy's default: "Labour" has no vector
    bench_ner.read_vectors_by_lower_case(nlp)
    assert nlp.vocab.vectors.attr == LOWER
    by_lower = _embed(nlp, "Labour labour LEEDS leeds")
    numpy.testing.assert_array_equal(by_lower[0], by_lower[1])
    numpy.testing.assert_array_equal(by_lower[2], by_lower[3])
    assert by_lower[0].any() and by_lower[2].any()


def test_spacy_ner_lower_keeps_every_key_and_row(bench_ner):
    nlp = _lower_case_table_nlp()
    before = dict(nlp.vocab.vectors.key2row)
    data = nlp.vocab.vectors.data.copy()
    bench_ner.read_vectors_by_lower_case(nlp)
    assert dict(nlp.vocab.vectors.key2row) == before
    numpy.testing.assert_array_equal(nlp.vocab.vectors.data, data)
