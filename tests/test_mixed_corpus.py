"""spacy_bilstm.MixedCorpus.v1: several corpora drawn by weight."""
from collections import Counter

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from thinc.api import Config

from spacy_bilstm.corpora.mixed_corpus import create_mixed_corpus
from spacy_bilstm.errors import InputError


def write_corpus(path, nlp, prefix, n):
    docs = [Doc(nlp.vocab, words=[f"{prefix}{i}", "said", "so"]) for i in range(n)]
    DocBin(docs=docs).to_disk(path)
    return path


@pytest.fixture
def corpora(tmp_path):
    nlp = spacy.blank("en")
    return nlp, {
        "news": str(write_corpus(tmp_path / "news.spacy", nlp, "news", 40)),
        "parliament": str(write_corpus(tmp_path / "parl.spacy", nlp, "parl", 10)),
    }


def source(example):
    return "news" if example.reference[0].text.startswith("news") else "parliament"


def test_draws_follow_the_weights(corpora):
    nlp, paths = corpora
    reader = create_mixed_corpus(paths, {"news": 1.0, "parliament": 3.0}, seed=0, epoch_size=4000)
    counts = Counter(source(eg) for eg in reader(nlp))
    # 3:1 for parliament although it is the smaller corpus; the binomial
    # standard deviation of 4000 draws at p = 0.75 is 0.007.
    assert counts["parliament"] / 4000 == pytest.approx(0.75, abs=0.03)


def test_the_draw_is_seeded_and_each_epoch_is_new(corpora):
    nlp, paths = corpora
    weights = {"news": 1.0, "parliament": 1.0}
    first = [eg.reference.text for eg in create_mixed_corpus(paths, weights, seed=3)(nlp)]
    reader = create_mixed_corpus(paths, weights, seed=3)
    again = [eg.reference.text for eg in reader(nlp)]
    second_epoch = [eg.reference.text for eg in reader(nlp)]
    other_seed = [eg.reference.text for eg in create_mixed_corpus(paths, weights, seed=4)(nlp)]
    assert first == again
    assert second_epoch != first
    assert other_seed != first
    # Default epoch size: the corpora's sizes added up.
    assert len(first) == 50


def test_a_corpus_is_drawn_without_replacement_until_it_runs_out(corpora):
    nlp, paths = corpora
    reader = create_mixed_corpus(paths, {"news": 0.0, "parliament": 1.0}, seed=0, epoch_size=30)
    texts = [eg.reference.text for eg in reader(nlp)]
    assert all(text.startswith("parl") for text in texts)
    for start in (0, 10, 20):
        assert len(set(texts[start : start + 10])) == 10


def test_zero_weight_is_never_drawn(corpora):
    nlp, paths = corpora
    reader = create_mixed_corpus(paths, {"news": 1.0, "parliament": 0.0}, seed=0)
    assert {source(eg) for eg in reader(nlp)} == {"news"}


def test_a_missing_path_names_the_corpus(corpora, tmp_path):
    _, paths = corpora
    paths = dict(paths, parliament=str(tmp_path / "nope.spacy"))
    with pytest.raises(InputError, match="corpus 'parliament': path does not exist: .*nope.spacy"):
        create_mixed_corpus(paths, {"news": 1.0, "parliament": 1.0})


def test_an_unset_path_names_the_corpus(corpora):
    _, paths = corpora
    with pytest.raises(InputError, match="corpus 'parliament': no path given"):
        create_mixed_corpus(dict(paths, parliament=None), {"news": 1.0, "parliament": 1.0})


@pytest.mark.parametrize(
    "weights,message",
    [
        ({"news": 1.0}, "paths and weights must name the same corpora"),
        ({"news": 1.0, "parliament": -1.0}, "corpus 'parliament': weight -1.0 is negative"),
        ({"news": 0.0, "parliament": 0.0}, "no corpus has a positive weight"),
    ],
)
def test_bad_weights_are_refused(corpora, weights, message):
    _, paths = corpora
    with pytest.raises(InputError, match=message):
        create_mixed_corpus(paths, weights)


def test_resolves_from_a_training_config(corpora):
    nlp, paths = corpora
    config = Config().from_str(
        f"""
        [corpora]
        [corpora.train]
        @readers = "spacy_bilstm.MixedCorpus.v1"
        seed = 1
        [corpora.train.paths]
        news = "{paths['news']}"
        parliament = "{paths['parliament']}"
        [corpora.train.weights]
        news = 1.0
        parliament = 2.0
        """
    )
    reader = spacy.registry.resolve(config)["corpora"]["train"]
    assert reader.sizes(nlp) == {"news": 40, "parliament": 10}
    assert len(list(reader(nlp))) == 50


def test_an_empty_corpus_names_the_corpus_and_its_file(corpora, tmp_path):
    nlp, paths = corpora
    empty = tmp_path / "empty.spacy"
    DocBin().to_disk(empty)
    reader = create_mixed_corpus(dict(paths, parliament=str(empty)), {"news": 1.0, "parliament": 1.0})
    with pytest.raises(InputError, match=f"{empty}: corpus 'parliament' has no documents"):
        list(reader(nlp))
