"""`spacy_bilstm.CharNgramLinear.v1`: hashed character and word n-grams as
the linear partner of `lstm_textcat` — config resolution, joint training,
round trips, batch invariance, a task only character n-grams can solve, and
argument errors."""
import pickle
import random
from pathlib import Path
from typing import Dict, List, Tuple

import numpy
import pytest
import spacy
from spacy.attrs import LOWER, ORTH
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import load_config, load_model_from_config, registry
from thinc.api import Config, fix_random_seed

# Entry points register the other architectures; this one is registered by
# importing its module until pyproject.toml lists it.
from spacy_bilstm.errors import InputError
from spacy_bilstm.layers.ngram_features import char_ngram_keys, doc_features
from spacy_bilstm.models.ngram_linear import build_char_ngram_linear

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "lstm_textcat.cfg"
NAME = "spacy_bilstm.CharNgramLinear.v1"

LINEAR = {"@architectures": NAME, "exclusive_classes": True, "length": 4096}

# The RNN sees only each token's SHAPE, and every word of the toy task has
# the shape "xxxx": it cannot tell the documents apart, so whatever is
# learned about unseen words is learned by the linear partner.
BLIND_RNN = {
    "@architectures": "spacy_bilstm.LSTMTextCat.v1",
    "hidden_width": 8,
    "dropout": 0.0,
    "use_target": False,
    "exclusive_classes": True,
    "tok2vec": {
        "@architectures": "spacy.MultiHashEmbed.v2",
        "width": 8,
        "attrs": ["SHAPE"],
        "rows": [50],
        "include_static_vectors": False,
    },
}

TEXTS = [
    "",
    " ",
    "x",
    "Realism",
    "The realist voted against the motion .",
    "We support the bill , and we support it today",
    " ".join(f"w{i % 41}ism" for i in range(403)),
]


def _stems(rng: random.Random, count: int, taken: set) -> List[str]:
    stems: List[str] = []
    while len(stems) < count:
        stem = "".join(rng.choice("bcdfgklmnprtvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 3)))
        if stem not in taken:
            taken.add(stem)
            stems.append(stem)
    return stems


def suffix_task(n_train: int = 40, n_test: int = 30, seed: int = 0) -> Tuple[List[str], List[str]]:
    """Train and test stems, disjoint. Every stem appears with both "-ism"
    and "-ist", so only the suffix decides the label, and no test word (nor
    its stem) is seen in training: word unigrams cannot help."""
    rng = random.Random(seed)
    taken: set = set()
    return _stems(rng, n_train, taken), _stems(rng, n_test, taken)


def _suffix_examples(nlp: Language, stems: List[str]) -> List[Example]:
    examples = []
    for stem in stems:
        for suffix, label in (("ism", "ISM"), ("ist", "IST")):
            doc = nlp.make_doc(stem + suffix)
            cats = {"ISM": float(label == "ISM"), "IST": float(label == "IST")}
            examples.append(Example.from_dict(doc, {"cats": cats}))
    return examples


def _train_suffix_task(linear: Dict, epochs: int = 12) -> Tuple[Language, List[Example]]:
    fix_random_seed(0)
    train_stems, test_stems = suffix_task()
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat", config={"model": dict(BLIND_RNN, linear_model=dict(linear))})
    train_examples = _suffix_examples(nlp, train_stems)
    optimizer = nlp.initialize(lambda: train_examples)
    optimizer.learn_rate = 0.01
    rng = random.Random(0)
    for _ in range(epochs):
        rng.shuffle(train_examples)
        for start in range(0, len(train_examples), 16):
            nlp.update(train_examples[start : start + 16], sgd=optimizer)
    return nlp, _suffix_examples(nlp, test_stems)


def _accuracy(nlp: Language, examples: List[Example]) -> float:
    docs = nlp.pipe([eg.reference.text for eg in examples])
    right = [
        max(doc.cats, key=doc.cats.get) == max(eg.reference.cats, key=eg.reference.cats.get)
        for doc, eg in zip(docs, examples)
    ]
    return sum(right) / len(right)


def _cats(nlp: Language, docs: List[Doc]) -> numpy.ndarray:
    labels = nlp.get_pipe("lstm_textcat").labels
    return numpy.asarray([[doc.cats[label] for label in labels] for doc in docs])


@pytest.fixture(scope="module")
def suffix_pipe() -> Tuple[Language, List[Example]]:
    return _train_suffix_task(LINEAR)


def test_registered():
    assert registry.architectures.get(NAME) is build_char_ngram_linear


def test_resolves_from_the_textcat_config_and_trains():
    config = load_config(CONFIG)
    model = config["components"]["lstm_textcat"]["model"]
    model["static_vectors"] = None
    model["hidden_width"] = 8
    model["attention_width"] = 8
    model["tok2vec"]["width"] = 8
    model["tok2vec"]["rows"] = [100, 50, 50, 50]
    model["linear_model"] = {"@architectures": NAME, "exclusive_classes": True, "length": 4096}
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    filled = nlp.config["components"]["lstm_textcat"]["model"]["linear_model"]
    assert filled["char_ngram_min"] == 2 and filled["char_ngram_max"] == 5
    assert filled["word_ngram_max"] == 3 and filled["attr"] == "LOWER"
    assert filled["no_output_layer"] is True and filled["weighting"] == "count"
    # The filled config is a complete description: it resolves again.
    again = load_model_from_config(Config().from_str(nlp.config.to_str()), auto_fill=False, validate=True)
    assert again.get_pipe("lstm_textcat").model.has_ref("linear_model")

    fix_random_seed(0)
    examples = [
        Example.from_dict(nlp.make_doc(text), {"cats": {"support": float(label), "oppose": float(not label)}})
        for text, label in [("We support the motion", True), ("We oppose the motion", False)]
    ]
    optimizer = nlp.initialize(lambda: examples)
    sparse = nlp.get_pipe("lstm_textcat").model.get_ref("linear_model").get_ref("output_layer")
    assert sparse.get_dim("nO") == 2
    losses = [nlp.update(examples, sgd=optimizer, losses={})["lstm_textcat"] for _ in range(30)]
    assert losses[-1] < losses[0]
    assert numpy.abs(sparse.get_param("W")).max() > 0


def test_char_ngrams_learn_suffixes_of_unseen_words(suffix_pipe):
    nlp, test_examples = suffix_pipe
    assert _accuracy(nlp, test_examples) >= 0.95


def test_word_ngrams_alone_are_at_chance_on_unseen_words():
    # The same split and training, without character n-grams: a model that
    # did not use them would score like this, so the test above can fail.
    nlp, test_examples = _train_suffix_task(dict(LINEAR, char_ngram_max=0))
    assert _accuracy(nlp, test_examples) <= 0.6


def test_round_trips_give_identical_scores(suffix_pipe, tmp_path):
    nlp, test_examples = suffix_pipe
    texts = [eg.reference.text for eg in test_examples] + TEXTS
    expected = _cats(nlp, [nlp(text) for text in texts])
    config = {"model": dict(BLIND_RNN, linear_model=dict(LINEAR))}

    from_bytes = spacy.blank("en")
    from_bytes.add_pipe("lstm_textcat", config=config)
    from_bytes.from_bytes(nlp.to_bytes())
    assert numpy.abs(_cats(from_bytes, [from_bytes(t) for t in texts]) - expected).max() <= 1e-6

    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("lstm_textcat").model.has_ref("linear_model")
    assert numpy.abs(_cats(loaded, [loaded(t) for t in texts]) - expected).max() <= 1e-6

    unpickled = pickle.loads(pickle.dumps(nlp))
    assert numpy.abs(_cats(unpickled, [unpickled(t) for t in texts]) - expected).max() <= 1e-6


def test_pipe_scores_do_not_depend_on_the_batch(suffix_pipe):
    nlp, test_examples = suffix_pipe
    texts = TEXTS + [eg.reference.text for eg in test_examples] + TEXTS
    expected = _cats(nlp, [nlp(text) for text in texts])
    for batch_size in (1, 7, 1000):
        docs = list(nlp.pipe(texts, batch_size=batch_size))
        assert numpy.abs(_cats(nlp, docs) - expected).max() <= 1e-6, batch_size


@pytest.mark.parametrize("weighting", ["count", "log", "log_l2"])
def test_linear_scores_do_not_depend_on_the_batch(weighting):
    nlp = spacy.blank("en")
    docs = [nlp.make_doc(text) for text in TEXTS * 3]
    model = build_char_ngram_linear(exclusive_classes=True, nO=3, length=1024, weighting=weighting)
    model.initialize(X=docs[:2])
    sparse = model.get_ref("output_layer")
    rng = numpy.random.default_rng(0)
    sparse.set_param("W", rng.normal(size=sparse.get_param("W").shape).astype("float32"))
    sparse.set_param("b", rng.normal(size=(3,)).astype("float32"))
    one_by_one = numpy.vstack([model.predict([doc]) for doc in docs])
    for batch_size in (1, 7, 1000):
        batched = numpy.vstack([model.predict(docs[i : i + batch_size]) for i in range(0, len(docs), batch_size)])
        assert numpy.abs(batched - one_by_one).max() <= 1e-6, batch_size
    assert model.predict([]).shape == (0, 3)


def test_char_ngrams_are_padded_token_ngrams():
    # " realism " gives 8 2-grams, 7 3-grams, 6 4-grams and 5 5-grams.
    assert len(char_ngram_keys("realism", 2, 5)) == 26
    # A padded token shorter than n is one n-gram, counted once: " a ".
    assert len(char_ngram_keys("a", 2, 5)) == 3
    assert len(char_ngram_keys("\n\n", 2, 5)) == 0
    assert len(set(char_ngram_keys("realism", 2, 5)) & set(char_ngram_keys("realist", 2, 5))) > 0
    assert char_ngram_keys("realism", 2, 5).dtype == numpy.uint64


def test_character_and_word_features_are_counted_per_doc():
    nlp = spacy.blank("en")
    options = {"char_ngram_min": 2, "char_ngram_max": 5, "word_ngram_max": 3, "attr": LOWER}
    doc = nlp.make_doc("Ism ism ism")
    keys, values = doc_features(doc, weighting="count", **options)
    assert len(keys) == len(set(keys.tolist()))
    counts = dict(zip(keys.tolist(), values.tolist()))
    # Case is folded; each 3-gram of " ism " occurs once per token.
    for key in char_ngram_keys("ism", 2, 5):
        assert counts[int(key)] >= 3
    # The word "ism" and the character 3-gram "ism" are different features.
    assert counts[int(doc[0].lower)] == 3
    assert int(doc[0].lower) not in set(char_ngram_keys("ism", 2, 5).tolist())
    # Words only: unigrams, bigrams and one trigram.
    keys, values = doc_features(doc, weighting="count", **dict(options, char_ngram_max=0))
    assert sorted(values.tolist()) == [1.0, 2.0, 3.0]
    # ORTH keeps case: "Ism" and "ism" are two unigrams.
    keys, _ = doc_features(doc, weighting="count", **dict(options, char_ngram_max=0, word_ngram_max=1, attr=ORTH))
    assert len(keys) == 2
    empty_keys, empty_values = doc_features(nlp.make_doc(""), weighting="log_l2", **options)
    assert len(empty_keys) == len(empty_values) == 0


def test_log_l2_weighting_gives_unit_blocks():
    nlp = spacy.blank("en")
    options = {"char_ngram_min": 2, "char_ngram_max": 5, "word_ngram_max": 3, "attr": LOWER}
    doc = nlp.make_doc("the motion , the motion and the bill")
    _, counts = doc_features(doc, weighting="count", **options)
    _, logs = doc_features(doc, weighting="log", **options)
    assert numpy.allclose(numpy.sort(logs), numpy.sort(1 + numpy.log(counts)), atol=1e-6)
    _, chars = doc_features(doc, weighting="log_l2", **dict(options, word_ngram_max=0))
    _, words = doc_features(doc, weighting="log_l2", **dict(options, char_ngram_max=0))
    _, both = doc_features(doc, weighting="log_l2", **options)
    assert (chars**2).sum() == pytest.approx(1.0, abs=1e-5)
    assert (words**2).sum() == pytest.approx(1.0, abs=1e-5)
    assert (both**2).sum() == pytest.approx(2.0, abs=1e-5)


@pytest.mark.parametrize("exclusive_classes", [True, False])
def test_with_an_output_layer_it_is_a_classifier(exclusive_classes):
    nlp = spacy.blank("en")
    docs = [nlp.make_doc(text) for text in TEXTS]
    model = build_char_ngram_linear(exclusive_classes=exclusive_classes, length=1024, no_output_layer=False)
    model.initialize(X=docs, Y=numpy.zeros((len(docs), 3), dtype="f"))
    scores = model.predict(docs)
    assert scores.shape == (len(docs), 3)
    assert numpy.all((scores > 0) & (scores < 1))
    if exclusive_classes:
        assert numpy.allclose(scores.sum(axis=1), 1.0, atol=1e-6)
    # lstm_textcat adds raw scores before its own softmax, so it refuses this.
    with pytest.raises(ValueError, match="no_output_layer = true"):
        nlp.add_pipe(
            "lstm_textcat", config={"model": dict(BLIND_RNN, linear_model=dict(LINEAR, no_output_layer=False))}
        )


@pytest.mark.parametrize(
    "options,option",
    [
        ({"char_ngram_min": 4, "char_ngram_max": 3}, "char_ngram_max"),
        ({"char_ngram_min": 0}, "char_ngram_min"),
        ({"char_ngram_max": -1}, "char_ngram_max"),
        ({"word_ngram_max": -1}, "word_ngram_max"),
        ({"char_ngram_max": 0, "word_ngram_max": 0}, "no features"),
        ({"weighting": "tfidf"}, "weighting"),
        ({"length": 0}, "length"),
        ({"attr": "NOT_AN_ATTR"}, "attr"),
    ],
)
def test_bad_arguments_are_clear_errors(options, option):
    with pytest.raises(InputError, match=option):
        build_char_ngram_linear(exclusive_classes=True, **options)
    # The same error when the model is built from a config.
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match=option):
        nlp.add_pipe("lstm_textcat", config={"model": dict(BLIND_RNN, linear_model=dict(LINEAR, **options))})


def _with_target(nlp: Language, text: str, target) -> Doc:
    from spacy_bilstm.extensions import install_extensions

    install_extensions()
    doc = nlp.make_doc(text)
    doc._.stance_target = target
    return doc


def test_per_target_keys_are_the_shared_keys_plus_one_copy_per_target():
    nlp = spacy.blank("en")
    options = dict(char_ngram_min=2, char_ngram_max=4, word_ngram_max=2, attr=LOWER, weighting="count")
    shared, values = doc_features(_with_target(nlp, "We support the bill", None), **options)
    untargeted, _ = doc_features(_with_target(nlp, "We support the bill", None), per_target=True, **options)
    assert numpy.array_equal(shared, untargeted)
    keys_a, values_a = doc_features(_with_target(nlp, "We support the bill", "the bill"), per_target=True, **options)
    keys_b, _ = doc_features(_with_target(nlp, "We support the bill", "the motion"), per_target=True, **options)
    n = len(shared)
    assert len(keys_a) == len(keys_b) == 2 * n
    assert numpy.array_equal(keys_a[:n], shared) and numpy.array_equal(values_a[n:], values)
    # The conjoined keys are new features, different for each target.
    assert not set(keys_a[n:].tolist()) & set(shared.tolist())
    assert not set(keys_a[n:].tolist()) & set(keys_b[n:].tolist())


@pytest.mark.parametrize("per_target", [False, True])
def test_per_target_weights_learn_a_word_whose_stance_flips_with_the_target(per_target):
    """"good" is FAVOR towards one target and AGAINST the other, "bad" the
    reverse, with the same texts under both: shared weights cannot fit it,
    per-target weights can."""
    fix_random_seed(0)
    nlp = spacy.blank("en")
    linear = dict(LINEAR, per_target=per_target)
    nlp.add_pipe("lstm_textcat", config={"model": dict(BLIND_RNN, linear_model=linear)})
    examples = []
    for text, word in ((f"this is {w} news {i}", w) for w in ("good", "bad") for i in range(6)):
        for target, favour_word in (("taxes", "good"), ("war", "bad")):
            label = "FAVOR" if word == favour_word else "AGAINST"
            cats = {"FAVOR": float(label == "FAVOR"), "AGAINST": float(label == "AGAINST")}
            examples.append(Example.from_dict(_with_target(nlp, text, target), {"cats": cats}))
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(30):
        nlp.update(examples, sgd=optimizer)
    textcat = nlp.get_pipe("lstm_textcat")
    scores = textcat.predict([eg.predicted for eg in examples])
    labels = textcat.labels
    right = [labels[int(numpy.argmax(row))] == max(eg.reference.cats, key=eg.reference.cats.get)
             for row, eg in zip(textcat.model.ops.to_numpy(scores), examples)]
    accuracy = sum(right) / len(right)
    if per_target:
        assert accuracy == 1.0
    else:
        assert accuracy <= 0.5
