"""WordDropout: whole token vectors are dropped in training only."""
import numpy
import pytest
from thinc.api import NumpyOps, fix_random_seed

from spacy_bilstm.layers.word_dropout import WordDropout


def test_training_drops_whole_rows_and_their_gradients():
    fix_random_seed(0)
    layer = WordDropout(0.25)
    Xs = [numpy.ones((400, 6), dtype="f"), numpy.ones((3, 6), dtype="f")]
    Ys, backprop = layer.begin_update(Xs)
    dropped = (Ys[0] == 0).all(axis=1)
    kept = (Ys[0] == 1).all(axis=1)
    assert (dropped | kept).all()  # a row is dropped whole or kept as is (no rescaling)
    assert 0.15 < dropped.mean() < 0.35
    dXs = backprop([numpy.full((400, 6), 2.0, dtype="f"), numpy.full((3, 6), 2.0, dtype="f")])
    assert ((dXs[0] == 0).all(axis=1) == dropped).all()
    assert (dXs[0][kept] == 2.0).all()


def test_prediction_is_unchanged():
    layer = WordDropout(0.5)
    Xs = [NumpyOps().asarray2f(numpy.random.rand(5, 3).astype("f"))]
    assert layer.predict(Xs)[0] is Xs[0]


def test_update_dropout_does_not_overwrite_it():
    from thinc.api import set_dropout_rate

    layer = WordDropout(0.2)
    set_dropout_rate(layer, 0.7)
    assert layer.attrs["word_dropout"] == 0.2


@pytest.mark.parametrize("rate", [-0.1, 1.0])
def test_rate_out_of_range(rate):
    with pytest.raises(ValueError, match="word dropout"):
        WordDropout(rate)


def test_bilstm_ner_trains_with_word_dropout():
    import spacy
    from spacy.training import Example

    nlp = spacy.blank("en")
    ner = nlp.add_pipe(
        "bilstm_ner",
        config={"model": {"tok2vec": {"@architectures": "spacy_bilstm.WordCharEmbed.v1", "width": 16,
                                      "attrs": ["NORM", "SHAPE"], "rows": [100, 50],
                                      "include_static_vectors": False, "char_width": 8, "word_dropout": 0.3},
                          "hidden_width": 16}},
    )
    doc = nlp.make_doc("Angela Merkel visited Paris")
    examples = [Example.from_dict(doc, {"entities": [(0, 13, "PER"), (22, 27, "LOC")]})]
    optimizer = nlp.initialize(lambda: examples)
    fix_random_seed(0)
    for _ in range(60):
        nlp.update(examples, sgd=optimizer)
    assert [(e.text, e.label_) for e in nlp("Angela Merkel visited Paris").ents] == [
        ("Angela Merkel", "PER"), ("Paris", "LOC")
    ]
    assert ner.model.get_ref("tok2vec") is not None


def test_static_vectors_embedded_apart_are_never_dropped():
    # An unseen word still has its pretrained vector, so word dropout (which
    # imitates unseen words) removes the hash embeddings and keeps the vectors.
    import spacy

    from spacy_bilstm.models.embed import build_word_char_embed

    fix_random_seed(0)
    nlp = spacy.blank("en")
    words = [f"w{i}" for i in range(300)]
    for word in words:
        nlp.vocab.set_vector(word, numpy.ones((4,), dtype="f"))
    embed = build_word_char_embed(
        width=6, attrs=["NORM"], rows=[50], include_static_vectors=True, char_width=0,
        word_dropout=0.5, vectors_width=3, vectors_attr="LOWER",
    )
    docs = [nlp.make_doc(" ".join(words))]
    embed.initialize(X=docs)
    (Y,), _ = embed.begin_update(docs)
    hashed, vectors = Y[:, :6], Y[:, 6:]
    assert 0.3 < (hashed == 0).all(axis=1).mean() < 0.7
    assert not (vectors == 0).all(axis=1).any()
    assert numpy.allclose(vectors, vectors[0])
