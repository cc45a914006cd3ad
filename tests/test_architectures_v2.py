"""The `.v2` architectures take the static vectors as one sub-layer
(`spacy_bilstm.StaticVectorsEmbed.v1`); a `.v2` config builds the same
network (parameter names and shapes) as the matching `.v1` config. And the
layers read their input widths in `initialize`, so a tok2vec of unknown
width composes."""
from typing import Dict, List, Tuple

import numpy
import pytest
import spacy
from spacy.training import Example
from spacy.vectors import Vectors
from thinc.api import Model, fix_random_seed

WORDS = ["labour", "won", "in", "leeds", "we", "support", "oppose", "the", "bill"]
NER_DATA = [("Labour won in Leeds", [(0, 6, "ORG"), (14, 19, "LOC")])]
TEXTCAT_DATA = [("We support the bill", "FOR"), ("We oppose the bill", "AGAINST")]

STATIC_V1 = {"include_static_vectors": True, "finetune_vectors": True, "vectors_width": 8, "vectors_attr": "LOWER"}
STATIC_V2 = {"@layers": "spacy_bilstm.StaticVectorsEmbed.v1", "nO": 8, "finetune": True, "attr": "LOWER"}
HASH = {"width": 16, "attrs": ["NORM", "SHAPE"], "rows": [100, 50]}
MULTI_HASH = {"@architectures": "spacy.MultiHashEmbed.v2", **HASH, "include_static_vectors": False}


def _word_char(version: str, vectors: bool) -> Dict:
    tok2vec = {"@architectures": f"spacy_bilstm.WordCharEmbed.{version}", **HASH, "char_width": 8, "word_dropout": 0.1}
    if version == "v1":
        tok2vec.update(STATIC_V1 if vectors else {"include_static_vectors": False})
    elif vectors:
        tok2vec["static_vectors"] = STATIC_V2
    return tok2vec


def _lstm_textcat(version: str) -> Dict:
    model = {"@architectures": f"spacy_bilstm.LSTMTextCat.{version}", "tok2vec": MULTI_HASH, "hidden_width": 8,
             "pooling": "attention", "attention_width": 4, "use_target": True}
    if version == "v1":
        model.update(STATIC_V1)
    else:
        model["static_vectors"] = STATIC_V2
    return model


def _mean_embed(version: str) -> Dict:
    model = {"@architectures": f"spacy_bilstm.MeanEmbedTextCat.{version}", "tok2vec": None, "hidden_width": 8}
    if version == "v1":
        model.update(STATIC_V1)
    else:
        model["static_vectors"] = STATIC_V2
    return model


def _initialized(factory: str, model: Dict) -> Model:
    fix_random_seed(0)
    nlp = spacy.blank("en")
    data = numpy.random.default_rng(0).normal(size=(len(WORDS), 6)).astype("float32")
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=data, keys=WORDS)
    nlp.add_pipe(factory, config={"model": model})
    if factory == "bilstm_ner":
        examples = [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in NER_DATA]
    else:
        labels = sorted({label for _, label in TEXTCAT_DATA})
        examples = [Example.from_dict(nlp.make_doc(text), {"cats": {name: float(name == label) for name in labels}})
                    for text, label in TEXTCAT_DATA]
    nlp.initialize(lambda: examples)
    return nlp.get_pipe(factory).model


def _shapes(model: Model) -> List[Tuple[str, str, Tuple[int, ...]]]:
    shapes = []
    for i, node in enumerate(model.walk()):
        for name in node.param_names:
            if node.has_param(name):
                shapes.append((f"{i}:{node.name}", name, tuple(node.get_param(name).shape)))
        for shim in node.shims:
            for name, value in shim._model.state_dict().items():
                shapes.append((f"{i}:{node.name}", name, tuple(value.shape)))
    return shapes


CASES = {
    "WordCharEmbed": ("bilstm_ner", lambda v: {"tok2vec": _word_char(v, True), "hidden_width": 8}),
    "WordCharEmbed-no-vectors": ("bilstm_ner", lambda v: {"tok2vec": _word_char(v, False), "hidden_width": 8}),
    "LSTMTextCat": ("lstm_textcat", _lstm_textcat),
    "MeanEmbedTextCat": ("lstm_textcat", _mean_embed),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_v2_config_builds_the_v1_network(case):
    factory, model = CASES[case]
    v1 = _shapes(_initialized(factory, model("v1")))
    v2 = _shapes(_initialized(factory, model("v2")))
    assert any(name == "static_vectors_embed" for name in (node.split(":")[1] for node, _, _ in v1)) == (
        case != "WordCharEmbed-no-vectors"
    )
    assert v2 == v1


def test_v2_without_features_is_an_error():
    with pytest.raises(ValueError, match="no token features"):
        spacy.blank("en").add_pipe("lstm_textcat", config={"model": {**_mean_embed("v2"), "static_vectors": None}})


def test_tagger_reads_the_width_of_a_tok2vec_that_does_not_say_it():
    # spaCy's MultiHashEmbed leaves its nO unset until it is initialized.
    model = _initialized("bilstm_ner", {"tok2vec": MULTI_HASH, "hidden_width": 8})
    encoder = model.get_ref("encoder")
    assert encoder.get_dim("nI") == 16
    assert model.get_ref("output_layer").get_dim("nI") == encoder.get_dim("nO") == 16
