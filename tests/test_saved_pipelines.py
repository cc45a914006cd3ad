"""Pipelines saved by an earlier release still load and predict what they
predicted when they were saved (tests/fixtures/make_saved_pipelines.py wrote
them, with the version named in each folder's expected.json)."""
from pathlib import Path

import pytest
import spacy
import srsly

from spacy_bilstm import with_stance_targets

FIXTURES = Path(__file__).parent / "fixtures"
SAVED = sorted(FIXTURES.glob("saved_v*"))


@pytest.mark.parametrize("saved", SAVED, ids=[path.name for path in SAVED])
def test_saved_bilstm_ner_loads_and_predicts_as_saved(saved):
    expected = srsly.read_json(saved / "expected.json")
    nlp = spacy.load(saved / "bilstm_ner")
    ents = [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in nlp.pipe(expected["ner_texts"])]
    assert ents == expected["ner"]


@pytest.mark.parametrize("saved", SAVED, ids=[path.name for path in SAVED])
def test_saved_lstm_textcat_loads_and_predicts_as_saved(saved):
    expected = srsly.read_json(saved / "expected.json")
    nlp = spacy.load(saved / "lstm_textcat")
    pairs = [(text, {"target": target, "meta": {"party": party}})
             for text, target, party in expected["textcat_inputs"]]
    cats = [doc.cats for doc, _ in nlp.pipe(with_stance_targets(nlp, pairs), as_tuples=True)]
    assert len(cats) == len(expected["textcat"])
    for got, want in zip(cats, expected["textcat"]):
        assert got.keys() == want.keys()
        for label in want:
            assert got[label] == pytest.approx(want[label], abs=1e-5)


def test_there_is_a_saved_release_to_check():
    assert SAVED, f"no saved pipelines under {FIXTURES}"
