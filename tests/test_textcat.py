"""The `lstm_textcat` pipe contract: initialisation, training to exact
outputs, round trips, batch invariance, target conditioning."""
import pickle
from typing import Dict, List, Optional, Tuple

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_bilstm.errors import ModelLoadError
from spacy_bilstm.extensions import install_extensions
from spacy_bilstm.layers.doc_encoder import segment_spans
from spacy_bilstm.layers.doc_classifier import target_docs, target_words
from spacy_bilstm import with_stance_targets

TRAIN = [
    ("I strongly support this bill", {"support": 1.0, "oppose": 0.0}),
    ("We oppose the motion", {"support": 0.0, "oppose": 1.0}),
    ("This is a great and fair proposal", {"support": 1.0, "oppose": 0.0}),
    ("A terrible , unfair plan", {"support": 0.0, "oppose": 1.0}),
    ("Vote yes", {"support": 1.0, "oppose": 0.0}),
    ("Vote no", {"support": 0.0, "oppose": 1.0}),
]

# The same texts with opposite labels for two targets.
TARGETED = [
    ("I am all for it", "Brexit", "FAVOR"),
    ("I am all for it", "Climate Change", "FAVOR"),
    ("This must be stopped", "Brexit", "AGAINST"),
    ("This must be stopped", "Climate Change", "AGAINST"),
    ("Leave now , leave today", "Brexit", "FAVOR"),
    ("Leave now , leave today", "Climate Change", "AGAINST"),
    ("The planet is fine", "Brexit", "AGAINST"),
    ("The planet is fine", "Climate Change", "AGAINST"),
]

SMALL_MODEL = {
    "@architectures": "spacy_bilstm.LSTMTextCat.v1",
    "hidden_width": 16,
    "depth": 1,
    "cell": "lstm",
    "bidirectional": True,
    "pooling": "max",
    "dropout": 0.0,
    "use_target": True,
    "max_tokens": 512,
    "truncation": "chunk",
    "max_target_tokens": 64,
    "attention_width": 8,
    "exclusive_classes": True,
    "tok2vec": {
        "@architectures": "spacy.MultiHashEmbed.v2",
        "width": 16,
        "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
        "rows": [500, 100, 100, 50],
        "include_static_vectors": False,
    },
}

VARIED_TEXTS = [
    "",
    "one",
    "two words",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    " ".join(f"w{i % 37}" for i in range(301)),
    "Vote yes",
    "We oppose the motion , again and again",
]


def _model(**overrides) -> Dict:
    model = dict(SMALL_MODEL)
    model["tok2vec"] = dict(SMALL_MODEL["tok2vec"])
    model.update(overrides)
    return model


def _examples(nlp: Language, data=TRAIN) -> List[Example]:
    return [Example.from_dict(nlp.make_doc(text), {"cats": cats}) for text, cats in data]


def _targeted_examples(nlp: Language) -> List[Example]:
    install_extensions()
    examples = []
    for text, target, label in TARGETED:
        doc = nlp.make_doc(text)
        doc._.stance_target = target
        cats = {name: float(name == label) for name in ("AGAINST", "FAVOR")}
        examples.append(Example.from_dict(doc, {"cats": cats}))
    return examples


def _trained(model: Dict, examples_of=_examples, steps: int = 60, seed: int = 0) -> Tuple[Language, List[Example]]:
    fix_random_seed(seed)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat", config={"model": model})
    examples = examples_of(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return nlp, examples


def _cats(nlp: Language, docs: List[Doc]) -> numpy.ndarray:
    labels = nlp.get_pipe("lstm_textcat").labels
    return numpy.asarray([[doc.cats[label] for label in labels] for doc in docs])


def _docs_with_targets(nlp: Language, items: List[Tuple[str, Optional[str]]]) -> List[Doc]:
    docs = []
    for text, target in items:
        doc = nlp.make_doc(text)
        doc._.stance_target = target
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def overfit() -> Tuple[Language, List[Example]]:
    return _trained(_model())


@pytest.fixture(scope="module")
def overfit_targets() -> Tuple[Language, List[Example]]:
    return _trained(_model(pooling="attention"), examples_of=_targeted_examples, steps=100)


def test_add_pipe_and_labels():
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("lstm_textcat")
    assert textcat.add_label("b") == 1
    assert textcat.add_label("a") == 1
    assert textcat.add_label("a") == 0
    assert textcat.labels == ("a", "b")
    assert nlp.get_pipe_meta("lstm_textcat").assigns == ["doc.cats"]


def test_uninitialized_raises_E109():
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat")
    with pytest.raises(ValueError, match="E109"):
        nlp("some text")
    with pytest.raises(ValueError, match="E109"):
        list(nlp.pipe(["some text", "more"]))


def test_initialize_needs_two_exclusive_labels():
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat")
    examples = [Example.from_dict(nlp.make_doc("x y"), {"cats": {"only": 1.0}})]
    with pytest.raises(ValueError, match="at least 2"):
        nlp.initialize(lambda: examples)


def test_exclusive_classes_reject_two_positive_labels():
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat")
    examples = [Example.from_dict(nlp.make_doc("x y"), {"cats": {"a": 1.0, "b": 1.0}})]
    with pytest.raises(ValueError, match="E895"):
        nlp.initialize(lambda: examples)


def test_empty_and_one_token_docs(overfit):
    nlp, _ = overfit
    for text in ["", "x", " ", "Vote"]:
        doc = nlp(text)
        assert set(doc.cats) == {"oppose", "support"}
        assert abs(sum(doc.cats.values()) - 1.0) < 1e-5
    docs = list(nlp.pipe(["", "", ""]))
    assert all(abs(sum(doc.cats.values()) - 1.0) < 1e-5 for doc in docs)
    # An empty doc's scores do not depend on the docs beside it.
    assert docs[0].cats == pytest.approx(nlp("").cats, abs=1e-6)


def test_overfit_to_exact_outputs(overfit):
    nlp, examples = overfit
    for example in examples:
        doc = nlp(example.reference.text)
        gold = max(example.reference.cats, key=example.reference.cats.get)
        assert max(doc.cats, key=doc.cats.get) == gold
        assert doc.cats[gold] > 0.9
    scores = nlp.evaluate(examples)
    assert scores["cats_score"] == 1.0
    assert scores["cats_macro_f"] == 1.0


def test_round_trips_keep_outputs(overfit, tmp_path):
    nlp, examples = overfit
    texts = [eg.reference.text for eg in examples] + VARIED_TEXTS
    expected = _cats(nlp, [nlp(text) for text in texts])

    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert numpy.abs(_cats(loaded, [loaded(t) for t in texts]) - expected).max() < 1e-5

    from_bytes = spacy.blank("en")
    from_bytes.add_pipe("lstm_textcat", config={"model": _model()})
    from_bytes.from_bytes(nlp.to_bytes())
    assert numpy.abs(_cats(from_bytes, [from_bytes(t) for t in texts]) - expected).max() < 1e-5

    unpickled = pickle.loads(pickle.dumps(nlp))
    assert numpy.abs(_cats(unpickled, [unpickled(t) for t in texts]) - expected).max() < 1e-5


def test_corrupt_bytes_raise_model_load_error(overfit, tmp_path):
    nlp, _ = overfit
    data = nlp.get_pipe("lstm_textcat").to_bytes()
    fresh = spacy.blank("en").add_pipe("lstm_textcat", config={"model": _model()})
    with pytest.raises(ModelLoadError) as info:
        fresh.from_bytes(data[: len(data) // 2])
    assert info.value.__cause__ is not None
    # The same bytes cut short in a saved directory: the error names its path.
    nlp.to_disk(tmp_path / "pipeline")
    weights = tmp_path / "pipeline" / "lstm_textcat" / "model"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelLoadError) as info:
        spacy.load(tmp_path / "pipeline")
    assert str(info.value).startswith(f"{tmp_path / 'pipeline' / 'lstm_textcat'}: ")
    assert info.value.__cause__ is not None


def test_batch_invariance(overfit_targets):
    nlp, _ = overfit_targets
    items = [
        (text, target)
        for text in VARIED_TEXTS
        for target in (None, "Brexit", "Climate Change", "")
    ]
    expected = _cats(nlp, [nlp(doc) for doc in _docs_with_targets(nlp, items)])
    for batch_size in (1, 7, 1000):
        docs = list(nlp.pipe(_docs_with_targets(nlp, items), batch_size=batch_size))
        assert numpy.abs(_cats(nlp, docs) - expected).max() < 1e-5, batch_size
    docs = list(nlp.pipe(_docs_with_targets(nlp, items), batch_size=5, n_process=2))
    assert [doc._.stance_target for doc in docs] == [t for _, t in items]
    assert numpy.abs(_cats(nlp, docs) - expected).max() < 1e-5


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("truncation", ["head", "head_tail", "chunk"])
@pytest.mark.parametrize("cell,bidirectional,depth", [("lstm", True, 2), ("gru", False, 1), ("rnn", True, 1)])
def test_batch_invariance_every_setting(pooling, truncation, cell, bidirectional, depth):
    # Untrained weights are enough: padding that leaked into the encoder,
    # the pooling or the attention would change a doc's scores with its batch.
    fix_random_seed(1)
    nlp = spacy.blank("en")
    model = _model(
        pooling=pooling,
        truncation=truncation,
        cell=cell,
        bidirectional=bidirectional,
        depth=depth,
        max_tokens=6,
    )
    textcat = nlp.add_pipe("lstm_textcat", config={"model": model})
    examples = _examples(nlp)
    nlp.initialize(lambda: examples)
    items = [(text, target) for text in VARIED_TEXTS for target in (None, "Brexit")]
    docs = _docs_with_targets(nlp, items)
    alone = numpy.concatenate([textcat.predict([doc]) for doc in docs])
    together = textcat.predict(docs)
    reverse = textcat.predict(docs[::-1])[::-1]
    assert numpy.abs(alone - together).max() < 1e-5
    assert numpy.abs(alone - reverse).max() < 1e-5


def test_target_conditioning_changes_predictions(overfit_targets):
    nlp, examples = overfit_targets
    for example in examples:
        # Example.from_dict keeps user data on the predicted doc only.
        doc = nlp.make_doc(example.reference.text)
        doc._.stance_target = example.predicted._.stance_target
        assert doc._.stance_target in ("Brexit", "Climate Change")
        doc = nlp(doc)
        gold = max(example.reference.cats, key=example.reference.cats.get)
        assert max(doc.cats, key=doc.cats.get) == gold, (doc.text, doc._.stance_target)
    brexit, climate = _docs_with_targets(
        nlp, [("Leave now , leave today", "Brexit"), ("Leave now , leave today", "Climate Change")]
    )
    assert nlp(brexit).cats["FAVOR"] > 0.5 > nlp(climate).cats["FAVOR"]


def test_with_stance_targets_in_pipe_as_tuples(overfit_targets):
    nlp, _ = overfit_targets
    data = [
        ("Leave now , leave today", {"target": "Brexit", "id": 1}),
        ("Leave now , leave today", {"target": "Climate Change", "id": 2}),
        ("Leave now , leave today", {"id": 3}),
    ]
    results = list(nlp.pipe(with_stance_targets(nlp, data), as_tuples=True))
    assert [context["id"] for _, context in results] == [1, 2, 3]
    assert [doc._.stance_target for doc, _ in results] == ["Brexit", "Climate Change", None]
    assert results[0][0].cats["FAVOR"] > 0.5 > results[1][0].cats["FAVOR"]


def test_target_words_and_docs():
    assert target_words("Climate Change is a Real Concern") == (
        "Climate", "Change", "is", "a", "Real", "Concern"
    )
    assert target_words("Brexit, now!") == ("Brexit", ",", "now", "!")
    nlp = spacy.blank("en")
    install_extensions()
    docs = _docs_with_targets(nlp, [("a", "X y"), ("b", None), ("c", "X y"), ("d", "  "), ("e", "Z")])
    targets, index = target_docs(docs)
    assert [[token.text for token in t] for t in targets] == [["X", "y"], ["Z"]]
    assert index == [0, -1, 0, -1, 1]


def test_segment_spans():
    assert segment_spans(0, 5, "chunk") == []
    assert segment_spans(4, 5, "head") == [[(0, 4)]]
    assert segment_spans(12, 5, "head") == [[(0, 5)]]
    assert segment_spans(12, 5, "head_tail") == [[(0, 3), (10, 12)]]
    assert segment_spans(12, 5, "chunk") == [[(0, 4)], [(4, 8)], [(8, 12)]]
    assert segment_spans(12, 0, "chunk") == [[(0, 12)]]
    with pytest.raises(ValueError, match="truncation"):
        segment_spans(3, 2, "middle")


@pytest.mark.parametrize("truncation", ["head", "head_tail", "chunk"])
def test_long_documents(truncation, monkeypatch):
    from spacy_bilstm.layers.recurrent_torch import MaskedRNN

    # What bounds memory: the RNN never reads more than max_tokens steps at
    # once, in training or prediction, however long the document.
    real_forward = MaskedRNN.forward
    steps = []

    def recording_forward(self, padded, lengths, *args, **kwargs):
        steps.append(padded.shape[1])
        return real_forward(self, padded, lengths, *args, **kwargs)

    monkeypatch.setattr(MaskedRNN, "forward", recording_forward)
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat", config={"model": _model(max_tokens=64, truncation=truncation)})
    examples = _examples(nlp)
    long_text = " ".join(["word"] * 4000 + ["end"])
    long_example = Example.from_dict(nlp.make_doc(long_text), {"cats": {"support": 1.0, "oppose": 0.0}})
    optimizer = nlp.initialize(lambda: examples)
    steps.clear()
    nlp.update(examples + [long_example], sgd=optimizer)
    assert steps and max(steps) <= 64
    steps.clear()
    doc = nlp(long_text)
    assert len(doc) == 4001
    assert abs(sum(doc.cats.values()) - 1.0) < 1e-5
    assert steps and max(steps) <= 64


def test_multilabel_overfit():
    data = [
        ("taxes and schools", {"economy": 1.0, "education": 1.0, "health": 0.0}),
        ("taxes", {"economy": 1.0, "education": 0.0, "health": 0.0}),
        ("hospitals and schools", {"economy": 0.0, "education": 1.0, "health": 1.0}),
        ("hospitals", {"economy": 0.0, "education": 0.0, "health": 1.0}),
    ]
    nlp, examples = _trained(
        _model(exclusive_classes=False), examples_of=lambda nlp: _examples(nlp, data), steps=80
    )
    for text, cats in data:
        doc = nlp(text)
        for label, value in cats.items():
            assert (doc.cats[label] > 0.5) == bool(value), (text, label, doc.cats)
    scores = nlp.evaluate(examples)
    # As spaCy's textcat_multilabel: cats_score is the macro AUC.
    assert scores["cats_score_desc"] == "macro AUC"
    assert scores["cats_score"] == 1.0
    assert scores["cats_micro_f"] == 1.0


def test_mean_embed_baseline_overfits():
    model = {
        "@architectures": "spacy_bilstm.MeanEmbedTextCat.v1",
        "hidden_width": 16,
        "dropout": 0.0,
        "exclusive_classes": True,
        "tok2vec": dict(SMALL_MODEL["tok2vec"]),
    }
    nlp, examples = _trained(model, steps=80)
    assert nlp.evaluate(examples)["cats_score"] == 1.0
    assert nlp("").cats["support"] == pytest.approx(nlp("").cats["support"])


def _vectors_nlp() -> Language:
    nlp = spacy.blank("en")
    rng = numpy.random.default_rng(0)
    for word in ["support", "oppose", "vote", "yes", "no", "bill", "motion", "great", "terrible"]:
        nlp.vocab.set_vector(word, rng.normal(size=(8,)).astype("float32"))
    return nlp


@pytest.mark.parametrize("finetune", [False, True])
def test_static_vectors(finetune):
    fix_random_seed(0)
    nlp = _vectors_nlp()
    table_before = nlp.vocab.vectors.data.copy()
    model = _model(include_static_vectors=True, finetune_vectors=finetune, vectors_width=8, tok2vec=None)
    nlp.add_pipe("lstm_textcat", config={"model": model})
    examples = _examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples, sgd=optimizer)
    # The shared table never changes; fine-tuning learns a correction.
    assert numpy.array_equal(nlp.vocab.vectors.data, table_before)
    embed = nlp.get_pipe("lstm_textcat").model.get_ref("embed")
    assert embed.name == "static_vectors_embed"
    assert embed.has_param("D") == finetune
    if finetune:
        assert numpy.abs(embed.get_param("D")).max() > 0
    a, b = nlp("vote yes"), nlp("vote no")
    assert a.cats != b.cats


def test_static_vectors_without_vectors_fails_clearly():
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat", config={"model": _model(include_static_vectors=True)})
    examples = _examples(nlp)
    with pytest.raises(ValueError, match=r"\[initialize\] vectors"):
        nlp.initialize(lambda: examples)


def test_listener_shares_tok2vec():
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "tok2vec",
        config={
            "model": {
                "@architectures": "spacy.HashEmbedCNN.v2",
                "pretrained_vectors": None,
                "width": 16,
                "depth": 1,
                "embed_size": 500,
                "window_size": 1,
                "maxout_pieces": 2,
                "subword_features": True,
            }
        },
    )
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 16, "upstream": "*"}
    nlp.add_pipe("lstm_textcat", config={"model": _model(use_target=False, tok2vec=listener)})
    examples = _examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(40):
        nlp.update(examples, sgd=optimizer)
    assert nlp.evaluate(examples)["cats_score"] == 1.0
    with pytest.raises(ValueError, match="listener"):
        other = spacy.blank("en")
        other.add_pipe("tok2vec")
        other.add_pipe("lstm_textcat", config={"model": _model(use_target=True, tok2vec=listener)})


def test_no_features_is_an_error():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="no token features"):
        nlp.add_pipe("lstm_textcat", config={"model": _model(tok2vec=None)})


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional,depth", [(True, 2), (False, 1)])
def test_masked_rnn_equals_packed_rnn(cell, bidirectional, depth):
    """MaskedRNN gives what torch's packed sequences give, with the same weights."""
    import torch

    from spacy_bilstm.layers.recurrent_torch import MaskedRNN

    torch.manual_seed(0)
    masked = MaskedRNN(5, 4, depth=depth, cell=cell, bidirectional=bidirectional).eval()
    packed = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](
        5, 4, num_layers=depth, bidirectional=bidirectional, batch_first=True
    )
    n_dir = 2 if bidirectional else 1
    with torch.no_grad():
        for layer in range(depth):
            for direction in range(n_dir):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                source = masked.cells[layer * n_dir + direction]
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(packed, name + suffix).copy_(getattr(source, name + "_l0"))
    lengths = torch.tensor([7, 1, 4, 7, 2])
    padded = torch.randn(5, 7, 5)
    for i, n in enumerate(lengths.tolist()):
        padded[i, n:] = 1e3  # padding that would show if it were read
    h0 = torch.randn(depth * n_dir, 5, 4)
    initial = (h0, torch.randn(depth * n_dir, 5, 4)) if cell == "lstm" else h0
    ours, _ = masked(padded, lengths, initial)
    sequence = torch.nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
    theirs, final = packed(sequence, initial)
    theirs, _ = torch.nn.utils.rnn.pad_packed_sequence(theirs, batch_first=True, total_length=7)
    assert torch.allclose(ours, theirs, atol=1e-5)
    final_h = final[0] if cell == "lstm" else final
    expected_last = torch.cat(list(final_h[-n_dir:]), dim=1)
    assert torch.allclose(masked.final_hidden(ours, lengths), expected_last, atol=1e-5)
    exact = masked.final_states(padded, lengths)
    _, final = packed(sequence)
    if cell == "lstm":
        assert torch.allclose(exact[0], final[0], atol=1e-5)
        assert torch.allclose(exact[1], final[1], atol=1e-5)
    else:
        assert torch.allclose(exact, final, atol=1e-5)


def test_long_targets_are_cut_to_their_head():
    fix_random_seed(0)
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("lstm_textcat", config={"model": _model(max_target_tokens=4)})
    examples = _examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    long_target = examples + [Example.from_dict(
        _docs_with_targets(nlp, [("Vote yes", " ".join(["motion"] * 500))])[0],
        {"cats": {"support": 1.0, "oppose": 0.0}},
    )]
    nlp.update(long_target, sgd=optimizer)
    same_head = _docs_with_targets(
        nlp, [("Vote yes", "a b c d e f g"), ("Vote yes", "a b c d x y z"), ("Vote yes", "z b c d e f g")]
    )
    scores = textcat.predict(same_head)
    assert numpy.abs(scores[0] - scores[1]).max() < 1e-6
    assert numpy.abs(scores[0] - scores[2]).max() > 1e-6


def test_out_of_memory_in_predict_splits_the_batch(overfit_targets, monkeypatch):
    """A CUDA OOM inside the torch module (fault injected at the module
    boundary: no GPU here) halves the batch down to single docs, with a
    warning, and the cats are those of an unsplit run."""
    import torch

    from spacy_bilstm.layers.recurrent_torch import MaskedRNN

    nlp, _ = overfit_targets
    items = [(text, target) for text, target, _ in TARGETED] * 3
    expected = _cats(nlp, list(nlp.pipe(_docs_with_targets(nlp, items), batch_size=100)))
    real_forward = MaskedRNN.forward
    seen = []

    def forward_that_fits_two_docs(self, padded, lengths, *args, **kwargs):
        seen.append(padded.shape[0])
        if padded.shape[0] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(self, padded, lengths, *args, **kwargs)

    monkeypatch.setattr(MaskedRNN, "forward", forward_that_fits_two_docs)
    with pytest.warns(RuntimeWarning, match=f"out of memory on a batch of {len(items)} docs"):
        got = _cats(nlp, list(nlp.pipe(_docs_with_targets(nlp, items), batch_size=100)))
    numpy.testing.assert_allclose(got, expected, atol=1e-6)
    assert max(seen) == len(items) and seen[-1] <= 2

    def always_oom(self, padded, lengths, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(MaskedRNN, "forward", always_oom)
    with pytest.raises(torch.cuda.OutOfMemoryError, match="CUDA out of memory"):
        nlp(_docs_with_targets(nlp, items[:1])[0])


BOW = {
    "@architectures": "spacy.TextCatBOW.v3",
    "exclusive_classes": True,
    "ngram_size": 1,
    "no_output_layer": True,
    "length": 4096,
}


@pytest.fixture(scope="module")
def overfit_with_bow() -> Tuple[Language, List[Example]]:
    return _trained(_model(linear_model=dict(BOW)), examples_of=_targeted_examples, steps=100)


def test_linear_model_trains_with_the_rnn_and_round_trips(overfit_with_bow, tmp_path):
    nlp, examples = overfit_with_bow
    assert nlp.evaluate(examples)["cats_score"] == 1.0
    # Both parts learned: the BOW weights moved from zero, and the scores
    # change when the BOW part is switched off.
    model = nlp.get_pipe("lstm_textcat").model
    sparse = model.get_ref("linear_model").get_ref("output_layer")
    weights = sparse.get_param("W").copy()
    assert numpy.abs(weights).max() > 0
    items = [(eg.reference.text, eg.reference._.stance_target) for eg in examples] + [
        (text, None) for text in VARIED_TEXTS
    ]
    expected = _cats(nlp, [nlp(doc) for doc in _docs_with_targets(nlp, items)])
    sparse.set_param("W", weights * 0)
    assert numpy.abs(_cats(nlp, [nlp(doc) for doc in _docs_with_targets(nlp, items)]) - expected).max() > 1e-3
    sparse.set_param("W", weights)

    for batch_size in (1, 4, 1000):
        docs = list(nlp.pipe(_docs_with_targets(nlp, items), batch_size=batch_size))
        assert numpy.abs(_cats(nlp, docs) - expected).max() < 1e-5, batch_size
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert numpy.abs(_cats(loaded, [loaded(d) for d in _docs_with_targets(loaded, items)]) - expected).max() < 1e-5
    from_bytes = spacy.blank("en")
    from_bytes.add_pipe("lstm_textcat", config={"model": _model(linear_model=dict(BOW))})
    from_bytes.from_bytes(nlp.to_bytes())
    docs = _docs_with_targets(from_bytes, items)
    assert numpy.abs(_cats(from_bytes, [from_bytes(d) for d in docs]) - expected).max() < 1e-5


def test_linear_model_with_its_own_softmax_is_an_error():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="no_output_layer = true"):
        nlp.add_pipe("lstm_textcat", config={"model": _model(linear_model=dict(BOW, no_output_layer=False))})


@pytest.mark.parametrize("finetune", [False, True])
def test_static_vectors_looked_up_by_lower_round_trip(finetune, tmp_path):
    # spaCy 3.8 saves no lookup attribute for a default-mode table, so a
    # lower-cased table is read by ORTH once loaded; vectors_attr fixes the
    # lookup in the model itself, and a fine-tuned correction loads back.
    from spacy.vectors import Vectors

    fix_random_seed(0)
    nlp = spacy.blank("en")
    words = ["support", "oppose", "vote", "yes", "no", "bill", "motion", "great", "terrible"]
    data = numpy.random.default_rng(0).normal(size=(len(words), 8)).astype("float32")
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=data, keys=words, attr="LOWER")
    model = _model(
        include_static_vectors=True, finetune_vectors=finetune, vectors_width=8, vectors_attr="LOWER", tok2vec=None
    )
    nlp.add_pipe("lstm_textcat", config={"model": model})
    examples = _examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples, sgd=optimizer)
    texts = ["VOTE YES", "Vote No", "A Great Bill"]
    expected = _cats(nlp, [nlp(t) for t in texts])
    # Upper-case words find their lower-case rows: they are not all zero.
    assert _cats(nlp, [nlp("VOTE YES")]).tolist() != _cats(nlp, [nlp("QQQ ZZZ")]).tolist()
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert numpy.abs(_cats(loaded, [loaded(t) for t in texts]) - expected).max() < 1e-5
