"""Metadata conditioning in `lstm_textcat` (`meta_fields`): the party is
learned where the text says nothing, unknown values share one vector, the
value vocabulary survives every round trip, outputs do not depend on the
batch or the process, and metadata dropout acts in training only."""
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy
import pytest
import spacy
from spacy.cli.train import train
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import registry
from thinc.api import Adam, fix_random_seed

from spacy_bilstm.errors import ModelLoadError
from spacy_bilstm.extensions import install_extensions
from spacy_bilstm.layers.meta_embed import MetaEmbed, collect_meta_values, meta_rows, meta_value
from spacy_bilstm import with_stance_targets

from .test_textcat_config import SMALL

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "lstm_textcat.cfg"

# The label follows the party; every text occurs with both labels, so the
# text alone cannot tell them apart.
PARTY_LABEL = {"Con": "AGAINST", "Lab": "FAVOR", "LD": "FAVOR", "SNP": "AGAINST"}
TARGET = "That this House supports the Bill"
TRAIN_TEXTS = [
    "I rise to speak on this motion",
    "The honourable member opposite is mistaken",
    "We have heard all of this before",
]
HELD_OUT_TEXTS = ["Order , order", "I thank the honourable member for her question"]
VARIED_TEXTS = [
    "",
    "one",
    "two words",
    " ".join(f"w{i % 37}" for i in range(301)),
    "I rise to speak on this motion",
]
# Values the model never saw in training, or no value at all: each must be
# treated exactly as "unknown".
UNKNOWN_METAS: List[Any] = [
    {"party": "Reform"},
    {"party": None},
    {"party": ""},
    {"party": "   "},
    {"speaker": "Ms Smith"},
    {},
    None,
    "Lab",
]

SMALL_MODEL = {
    "@architectures": "spacy_bilstm.LSTMTextCat.v1",
    "hidden_width": 16,
    "pooling": "max",
    "dropout": 0.0,
    "use_target": True,
    "max_tokens": 64,
    "attention_width": 8,
    "exclusive_classes": True,
    "meta_fields": ["party"],
    "meta_width": 8,
    "meta_dropout": 0.0,
    "tok2vec": {
        "@architectures": "spacy.MultiHashEmbed.v2",
        "width": 16,
        "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
        "rows": [500, 100, 100, 50],
        "include_static_vectors": False,
    },
}


def _model(**overrides) -> Dict:
    model = dict(SMALL_MODEL)
    model["tok2vec"] = dict(SMALL_MODEL["tok2vec"])
    model.update(overrides)
    return model


def _doc(nlp: Language, text: str, meta: Any = None, target: Optional[str] = TARGET) -> Doc:
    install_extensions()
    doc = nlp.make_doc(text)
    doc._.meta = meta
    doc._.stance_target = target
    return doc


def _party_examples(nlp: Language) -> List[Example]:
    examples = []
    for text in TRAIN_TEXTS:
        for party, label in PARTY_LABEL.items():
            doc = _doc(nlp, text, {"party": party, "speaker": f"{party} member"})
            cats = {name: float(name == label) for name in ("AGAINST", "FAVOR")}
            examples.append(Example.from_dict(doc, {"cats": cats}))
    return examples


def _trained(model: Dict, steps: int = 60, seed: int = 0) -> Language:
    fix_random_seed(seed)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat", config={"model": model})
    examples = _party_examples(nlp)
    nlp.initialize(lambda: examples)
    # A higher rate than spaCy's default, so that a few steps suffice.
    optimizer = Adam(0.01)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return nlp


def _cats(nlp: Language, docs: List[Doc]) -> numpy.ndarray:
    labels = nlp.get_pipe("lstm_textcat").labels
    return numpy.asarray([[doc.cats[label] for label in labels] for doc in docs])


def _accuracy(nlp: Language, docs: List[Doc], gold: List[str]) -> float:
    docs = list(nlp.pipe(docs))
    return float(numpy.mean([max(doc.cats, key=doc.cats.get) == label for doc, label in zip(docs, gold)]))


def _held_out(nlp: Language) -> Tuple[List[Doc], List[str]]:
    pairs = [(text, party) for text in HELD_OUT_TEXTS for party in PARTY_LABEL]
    docs = [_doc(nlp, text, {"party": party}) for text, party in pairs]
    return docs, [PARTY_LABEL[party] for _, party in pairs]


def _items() -> List[Tuple[str, Any, Optional[str]]]:
    metas: List[Any] = [{"party": "Lab"}, {"party": "Con"}, {"party": "Reform"}, None]
    return [
        (text, meta, target)
        for text in VARIED_TEXTS + HELD_OUT_TEXTS
        for meta in metas
        for target in (TARGET, None)
    ]


def _meta_layer(nlp: Language):
    return nlp.get_pipe("lstm_textcat").model.get_ref("meta_embed")


def _initialized(model: Dict) -> Language:
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat", config={"model": model})
    examples = _party_examples(nlp)
    nlp.initialize(lambda: examples)
    return nlp


@pytest.fixture(scope="module")
def party_model() -> Language:
    return _trained(_model())


@pytest.fixture(scope="module")
def text_only_model() -> Language:
    return _trained(_model(meta_fields=[]))


def test_party_is_learned_where_the_text_is_uninformative(party_model, text_only_model):
    docs, gold = _held_out(party_model)
    assert _accuracy(party_model, docs, gold) == 1.0
    # Each held-out text occurs once with each party, two FAVOR and two
    # AGAINST: a model that cannot see the party gets at best half right.
    docs, gold = _held_out(text_only_model)
    assert _accuracy(text_only_model, docs, gold) <= 0.5
    assert not text_only_model.get_pipe("lstm_textcat").model.has_ref("meta_embed")


def test_unseen_and_missing_values_predict_as_unknown(party_model):
    nlp = party_model
    layer = _meta_layer(nlp)
    assert layer.attrs["values"] == {"party": ["Con", "LD", "Lab", "SNP"]}
    for text in HELD_OUT_TEXTS + ["", "one"]:
        docs = [nlp(_doc(nlp, text, meta)) for meta in UNKNOWN_METAS]
        cats = _cats(nlp, docs)
        assert (cats == cats[0]).all(), text
        # The unknown row of the field (row 0), for every one of them.
        assert (meta_rows(layer, docs) == 0).all()
        assert not numpy.array_equal(cats[0], _cats(nlp, [nlp(_doc(nlp, text, {"party": "Lab"}))])[0])
    # A doc whose _.meta is not set at all: the extension's default (None).
    plain = nlp(nlp.make_doc("Order , order"))
    assert plain._.meta is None
    assert numpy.array_equal(
        _cats(nlp, [plain]), _cats(nlp, [nlp(_doc(nlp, "Order , order", {"party": "Reform"}, target=None))])
    )


def test_meta_values_are_compared_as_stripped_strings():
    nlp = spacy.blank("en")
    docs = [_doc(nlp, "x", meta) for meta in ({"n": 3}, {"n": " 3 "}, {"n": "b"}, {"n": ["a"]}, None)]
    assert [meta_value(doc, "n") for doc in docs] == ["3", "3", "b", None, None]
    assert collect_meta_values(docs, ["n", "m"]) == {"n": ["3", "b"], "m": []}


def test_vocabulary_comes_from_every_training_example():
    # The model's shapes are inferred from the first ten examples only; a
    # value first seen after them must still get its own row.
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat", config={"model": _model(meta_fields=["speaker", "party"], meta_width=3)})
    examples = _party_examples(nlp)
    late = _doc(nlp, "A late speech", {"party": "Plaid", "speaker": "Plaid member"})
    examples.append(Example.from_dict(late, {"cats": {"AGAINST": 0.0, "FAVOR": 1.0}}))
    assert len(examples) > 10
    nlp.initialize(lambda: examples)
    layer = _meta_layer(nlp)
    assert layer.attrs["values"]["party"] == ["Con", "LD", "Lab", "Plaid", "SNP"]
    assert layer.attrs["values"]["speaker"][-2:] == ["Plaid member", "SNP member"]
    # Two fields: one unknown row each, plus one row per value.
    assert layer.get_param("E").shape == (6 + 6, 3)
    assert layer.get_dim("nO") == 6


def test_round_trips_keep_the_vocabulary_and_the_cats(party_model, tmp_path):
    nlp = party_model

    def docs(pipeline: Language) -> List[Doc]:
        return [_doc(pipeline, *item) for item in _items()]

    expected = _cats(nlp, [nlp(doc) for doc in docs(nlp)])
    layer = _meta_layer(nlp)

    def check(loaded: Language) -> None:
        loaded_layer = _meta_layer(loaded)
        assert loaded_layer.attrs["values"] == layer.attrs["values"]
        assert loaded_layer.attrs["fields"] == ["party"]
        assert numpy.array_equal(loaded_layer.get_param("E"), layer.get_param("E"))
        assert numpy.array_equal(_cats(loaded, [loaded(doc) for doc in docs(loaded)]), expected)

    from_bytes = spacy.blank("en")
    from_bytes.add_pipe("lstm_textcat", config={"model": _model()})
    check(from_bytes.from_bytes(nlp.to_bytes()))

    nlp.to_disk(tmp_path / "pipeline")
    check(spacy.load(tmp_path / "pipeline"))

    check(pickle.loads(pickle.dumps(nlp)))


def test_loading_into_other_meta_fields_fails_clearly(party_model):
    data = party_model.get_pipe("lstm_textcat").to_bytes()
    # Other fields: the saved field list is named. No fields: the network has
    # no metadata layer to load the saved one into.
    expected = {"speaker": re.escape("saved with meta_fields = ['party'], but its model config says ['speaker']"),
                "": "Could not load 'lstm_textcat' from bytes"}
    for other in (["speaker"], []):
        fresh = spacy.blank("en").add_pipe("lstm_textcat", config={"model": _model(meta_fields=other)})
        with pytest.raises(ModelLoadError, match=expected["".join(other)]):
            fresh.from_bytes(data)


def test_default_options_build_todays_model():
    # No metadata: no extra layer, ref or width, and the same weights from
    # the same seed whether the options are left out or given as defaults.
    old = {key: value for key, value in _model().items() if not key.startswith("meta_")}
    old_nlp = _initialized(old)
    new_nlp = _initialized(_model(meta_fields=[], meta_width=16, meta_dropout=0.0))
    old_model = old_nlp.get_pipe("lstm_textcat").model
    new_model = new_nlp.get_pipe("lstm_textcat").model
    assert [node.name for node in old_model.walk()] == [node.name for node in new_model.walk()]
    assert "meta_embed" not in [node.name for node in old_model.walk()]
    assert not old_model.has_ref("meta_embed")
    output_layer = old_model.get_ref("output_layer")
    assert output_layer.get_dim("nI") == old_model.get_ref("encoder").get_dim("nO")
    assert old_model.to_bytes() == new_model.to_bytes()
    filled = old_nlp.config["components"]["lstm_textcat"]["model"]
    assert list(filled["meta_fields"]) == [] and filled["meta_width"] == 16 and filled["meta_dropout"] == 0.0


@pytest.mark.parametrize(
    "options",
    [{"meta_fields": "party"}, {"meta_fields": ["party", "party"]}, {"meta_fields": [""]},
     {"meta_width": 0}, {"meta_dropout": 1.0}, {"meta_dropout": -0.1}],
)
def test_invalid_meta_options_are_refused(options):
    build = registry.architectures.get("spacy_bilstm.LSTMTextCat.v1")
    tok2vec = registry.resolve({"t": SMALL_MODEL["tok2vec"]})["t"]
    with pytest.raises(ValueError, match="meta_"):
        build(tok2vec, **{"meta_fields": ["party"], **options})


def test_batch_invariance(party_model):
    nlp = party_model
    items = _items()
    expected = _cats(nlp, [nlp(_doc(nlp, *item)) for item in items])
    for batch_size in (1, 7, 1000):
        docs = list(nlp.pipe([_doc(nlp, *item) for item in items], batch_size=batch_size))
        assert numpy.abs(_cats(nlp, docs) - expected).max() < 1e-5, batch_size


def test_with_stance_targets_sets_meta(party_model):
    nlp = party_model
    data = [
        ("Order , order", {"target": TARGET, "meta": {"party": "Lab"}, "id": 1}),
        ("Order , order", {"target": TARGET, "meta": {"party": "Con"}, "id": 2}),
        ("Order , order", {"target": TARGET, "id": 3}),
    ]
    results = list(nlp.pipe(with_stance_targets(nlp, data), as_tuples=True))
    assert [context["id"] for _, context in results] == [1, 2, 3]
    assert [doc._.meta for doc, _ in results] == [{"party": "Lab"}, {"party": "Con"}, None]
    assert results[0][0]._.meta is not data[0][1]["meta"]
    manual = [nlp(_doc(nlp, "Order , order", meta)) for meta in ({"party": "Lab"}, {"party": "Con"}, None)]
    assert numpy.abs(_cats(nlp, [doc for doc, _ in results]) - _cats(nlp, manual)).max() < 1e-5
    assert results[0][0].cats["FAVOR"] > 0.5 > results[1][0].cats["FAVOR"]
    unset = next(with_stance_targets(nlp, data[:1], meta_key=None))[0]
    assert unset._.meta is None


N_PROCESS_SCRIPT = """
import json, sys
import spacy
from spacy_bilstm import with_stance_targets

nlp = spacy.load(sys.argv[1])
items = json.loads(open(sys.argv[2], encoding="utf8").read())
labels = nlp.get_pipe("lstm_textcat").labels
pairs = [(text, {"target": target, "meta": meta}) for text, meta, target in items]
tuples = [
    doc for doc, _ in nlp.pipe(with_stance_targets(nlp, pairs), as_tuples=True, batch_size=3, n_process=2)
]
docs = []
for text, meta, target in items:
    doc = nlp.make_doc(text)
    doc._.meta = meta
    doc._.stance_target = target
    docs.append(doc)
docs = list(nlp.pipe(docs, batch_size=3, n_process=2))
print(json.dumps({
    name: {"cats": [[doc.cats[label] for label in labels] for doc in result],
           "meta": [doc._.meta for doc in result]}
    for name, result in (("tuples", tuples), ("docs", docs))
}))
"""


def test_n_process_from_a_saved_pipeline(party_model, tmp_path):
    nlp = party_model
    nlp.to_disk(tmp_path / "pipeline")
    items = _items()
    (tmp_path / "items.json").write_text(json.dumps(items), encoding="utf8")
    expected = _cats(nlp, [nlp(_doc(nlp, *item)) for item in items])
    out = subprocess.run(
        [sys.executable, "-c", N_PROCESS_SCRIPT, str(tmp_path / "pipeline"), str(tmp_path / "items.json")],
        capture_output=True,
        text=True,
        check=True,
    )
    results = json.loads(out.stdout.strip().splitlines()[-1])
    for name in ("tuples", "docs"):
        # `doc._.meta` travelled to the workers and back with each Doc.
        assert results[name]["meta"] == [meta for _, meta, _ in items], name
        assert numpy.abs(numpy.asarray(results[name]["cats"]) - expected).max() < 1e-5, name


def test_meta_dropout_acts_in_training_only():
    fix_random_seed(0)
    nlp = spacy.blank("en")
    docs = [_doc(nlp, "x", {"party": party}) for party in ["Con", "Lab"] * 200]
    layer = MetaEmbed(["party"], 4, dropout=0.5)
    layer.initialize(X=docs)
    seen = layer.predict(docs)
    # The unknown row starts at zero; no seen value's row is zero.
    assert (numpy.abs(seen).sum(axis=1) > 0).all()

    def dropped(seed: int) -> numpy.ndarray:
        fix_random_seed(seed)
        Y, _ = layer.begin_update(docs)
        is_dropped = numpy.abs(Y).sum(axis=1) == 0
        # The docs kept have their own vectors, exactly as at inference.
        assert numpy.array_equal(Y[~is_dropped], seen[~is_dropped])
        return is_dropped

    first = dropped(1)
    assert 0.35 < first.mean() < 0.65
    assert numpy.array_equal(first, dropped(1))
    assert not numpy.array_equal(first, dropped(2))
    # Inference never drops, whatever the generator's state.
    assert numpy.array_equal(layer.predict(docs), seen)


def test_meta_dropout_trains_the_unknown_vector_and_leaves_inference_alone(party_model):
    # Without dropout the unknown row is never trained and stays at zero.
    assert not _meta_layer(party_model).get_param("E")[0].any()
    nlp = _trained(_model(meta_dropout=0.3), steps=30)
    layer = _meta_layer(nlp)
    assert layer.get_param("E")[0].any()

    def predicted() -> numpy.ndarray:
        return _cats(nlp, [nlp(_doc(nlp, *item)) for item in _items()])

    first = predicted()
    assert numpy.array_equal(predicted(), first)
    layer.attrs["dropout"] = 0.0
    try:
        assert numpy.array_equal(predicted(), first)
    finally:
        layer.attrs["dropout"] = 0.3
    # The dropout draws follow the seed: the same seed, the same weights.
    again = _trained(_model(meta_dropout=0.3), steps=30)
    assert again.get_pipe("lstm_textcat").model.to_bytes() == nlp.get_pipe("lstm_textcat").model.to_bytes()


def test_the_shipped_meta_options_train_with_spacy_train(tmp_path):
    # The config ships the measured setting: the party, with its prior.
    config_path = CONFIG
    text = CONFIG.read_text(encoding="utf8")
    for line in ('meta_fields = ["party"]', "meta_width = 16", "meta_dropout = 0.3", "meta_prior = true"):
        assert f"\n{line}\n" in text, line
    nlp = spacy.blank("en")
    docs = [example.reference for example in _party_examples(nlp)]
    for doc, example in zip(docs, _party_examples(nlp)):
        doc._.meta = example.predicted._.meta
        doc._.stance_target = example.predicted._.stance_target
    DocBin(docs=docs, store_user_data=True).to_disk(tmp_path / "train.spacy")
    DocBin(docs=docs[:4], store_user_data=True).to_disk(tmp_path / "dev.spacy")
    overrides = {
        **SMALL,
        "paths.train": str(tmp_path / "train.spacy"),
        "paths.dev": str(tmp_path / "dev.spacy"),
        "components.lstm_textcat.model.static_vectors": None,
    }
    train(config_path, tmp_path / "out", use_gpu=-1, overrides=overrides)
    loaded = spacy.load(tmp_path / "out" / "model-best")
    layer = _meta_layer(loaded)
    assert layer.attrs["values"] == {"party": sorted(PARTY_LABEL)}
    assert layer.attrs["dropout"] == 0.3
    assert layer.attrs["use_prior"] and len(layer.attrs["prior"]) == len(PARTY_LABEL) + 1
    assert set(loaded(_doc(loaded, "Order , order", {"party": "Lab"})).cats) == {"AGAINST", "FAVOR"}


def test_meta_prior_starts_from_the_party_line_before_any_update():
    """The counted prior alone, with no training step, predicts each party's
    line; an unseen party gets no prior and the untrained text decides."""
    nlp = _initialized(_model(meta_prior=True))
    docs, gold = _held_out(nlp)
    assert _accuracy(nlp, docs, gold) == 1.0
    layer = _meta_layer(nlp)
    prior = numpy.asarray(layer.attrs["prior"])
    # add-one smoothed: p(FAVOR | Lab) = 4/5 against p(FAVOR) = 7/14.
    lab = layer.attrs["values"]["party"].index("Lab") + 1
    labels = nlp.get_pipe("lstm_textcat").labels
    assert prior[lab, labels.index("FAVOR")] == pytest.approx(numpy.log(0.8 / 0.5), abs=1e-6)
    assert prior[lab, labels.index("AGAINST")] == pytest.approx(numpy.log(0.2 / 0.5), abs=1e-6)
    assert not prior[0].any()  # the unknown row
    without = _initialized(_model())
    unknown = [_doc(nlp, text, {"party": "Reform"}) for text in HELD_OUT_TEXTS]
    numpy.testing.assert_allclose(
        _cats(nlp, list(nlp.pipe(unknown))),
        _cats(without, list(without.pipe([_doc(without, t, {"party": "Reform"}) for t in HELD_OUT_TEXTS]))),
        atol=1e-6,
    )


def test_meta_prior_survives_round_trips_and_training(tmp_path):
    nlp = _trained(_model(meta_prior=True), steps=20)
    prior = _meta_layer(nlp).attrs["prior"]
    docs, _ = _held_out(nlp)
    before = _cats(nlp, list(nlp.pipe(docs)))
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert _meta_layer(loaded).attrs["prior"] == prior
    docs_again, _ = _held_out(loaded)
    numpy.testing.assert_allclose(_cats(loaded, list(loaded.pipe(docs_again))), before, atol=1e-6)


@pytest.mark.parametrize(
    "overrides, message",
    [({"meta_prior": True, "meta_fields": []}, "meta_prior needs meta_fields"),
     ({"meta_prior": True, "exclusive_classes": False}, "exclusive classes only")],
)
def test_meta_prior_needs_fields_and_exclusive_classes(overrides, message):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match=message):
        nlp.add_pipe("lstm_textcat", config={"model": _model(**overrides)})
