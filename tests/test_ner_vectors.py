"""bilstm_ner with static vectors: frozen through spaCy's MultiHashEmbed,
or embedded apart (looked up by a given attribute, optionally fine-tuned).
And the spaCy 3.8 behaviour that makes `vectors_attr` necessary."""
from typing import Optional

import numpy
import pytest
import spacy
from spacy.attrs import LOWER, ORTH
from spacy.language import Language
from spacy.training import Example
from spacy.vectors import Vectors
from thinc.api import fix_random_seed

TEXTS = [
    ("Angela Merkel visited Paris", [(0, 13, "PER"), (22, 27, "LOC")]),
    ("Labour won in Leeds", [(0, 6, "ORG"), (14, 19, "LOC")]),
    ("Rishi Sunak met Merkel", [(0, 11, "PER"), (16, 22, "PER")]),
]
WORDS = ["angela", "merkel", "paris", "labour", "leeds", "rishi", "sunak", "visited", "won", "met"]
PROBE = "Merkel visited Leeds and Paris"


def _lowercased_table(nlp: Language) -> Vectors:
    # A lower-cased table, as `spacy init vectors --attr LOWER` makes GloVe.
    data = numpy.random.default_rng(0).normal(size=(len(WORDS), 8)).astype("float32")
    return Vectors(strings=nlp.vocab.strings, data=data, keys=WORDS, attr="LOWER")


def _config(include_static_vectors: bool, finetune: bool, vectors_attr: Optional[str]) -> dict:
    tok2vec = {
        "@architectures": "spacy_bilstm.WordCharEmbed.v1",
        "width": 16,
        "attrs": ["NORM", "SHAPE"],
        "rows": [100, 50],
        "include_static_vectors": include_static_vectors,
        "finetune_vectors": finetune,
        "vectors_width": 8,
        "vectors_attr": vectors_attr,
        "char_width": 8,
    }
    return {"model": {"tok2vec": tok2vec, "hidden_width": 16}}


def _trained(finetune: bool, vectors_attr: Optional[str]) -> Language:
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.vocab.vectors = _lowercased_table(nlp)
    nlp.add_pipe("bilstm_ner", config=_config(True, finetune, vectors_attr))
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in TEXTS]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(80):
        nlp.update(examples, sgd=optimizer)
    return nlp


def _ents(nlp: Language, text: str):
    return [(e.start_char, e.end_char, e.label_) for e in nlp(text).ents]


def test_spacy_forgets_a_default_tables_lookup_attribute(tmp_path):
    # Why `vectors_attr` exists: if this starts failing, spaCy saves the
    # attribute now and the option is no longer needed for new pipelines.
    nlp = spacy.blank("en")
    nlp.vocab.vectors = _lowercased_table(nlp)
    assert nlp.vocab.vectors.attr == LOWER
    nlp.to_disk(tmp_path / "pipeline")
    assert spacy.load(tmp_path / "pipeline").vocab.vectors.attr == ORTH


@pytest.mark.parametrize("finetune", [False, True])
def test_vectors_looked_up_by_lower_train_and_round_trip(finetune, tmp_path):
    nlp = _trained(finetune, "LOWER")
    table_before = nlp.vocab.vectors.data.copy()
    for text, ents in TEXTS:
        assert _ents(nlp, text) == ents
    tok2vec = nlp.get_pipe("bilstm_ner").model.get_ref("tok2vec")
    static = [node for node in tok2vec.walk() if node.name == "static_vectors_embed"]
    assert len(static) == 1 and static[0].attrs["vectors_attr"] == "LOWER"
    assert static[0].has_param("D") == finetune
    if finetune:
        assert numpy.abs(static[0].get_param("D")).max() > 0
    # The shared table is only read, never changed.
    assert numpy.array_equal(nlp.vocab.vectors.data, table_before)
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert _ents(loaded, PROBE) == _ents(nlp, PROBE)
    scores = [e._.confidence for e in nlp(PROBE).ents]
    assert [e._.confidence for e in loaded(PROBE).ents] == pytest.approx(scores, abs=1e-5)


def test_finetuning_changes_only_the_rows_of_words_seen_in_training():
    # "berlin" has a vector but is in no training text: it must keep its
    # pretrained vector exactly, as must every row no training word reads.
    fix_random_seed(0)
    nlp = spacy.blank("en")
    table = _lowercased_table(nlp)
    table.resize((len(WORDS) + 1, 8))
    table.add("berlin", vector=numpy.ones((8,), dtype="float32"))
    nlp.vocab.vectors = table
    nlp.add_pipe("bilstm_ner", config=_config(True, True, "LOWER"))
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in TEXTS]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(20):
        nlp.update(examples, sgd=optimizer)
    tok2vec = nlp.get_pipe("bilstm_ner").model.get_ref("tok2vec")
    correction = [node for node in tok2vec.walk() if node.name == "static_vectors_embed"][0].get_param("D")
    changed = {nlp.vocab.strings[key] for key, row in table.key2row.items() if numpy.abs(correction[row]).max() > 0}
    assert changed == {word for word in WORDS}


def test_finetuning_only_the_first_rows(tmp_path):
    from spacy_bilstm.layers.static_vectors import StaticVectorsEmbed

    nlp = spacy.blank("en")
    nlp.vocab.vectors = _lowercased_table(nlp)
    docs = [nlp.make_doc(text) for text, _ in TEXTS]
    embed = StaticVectorsEmbed(4, finetune=True, finetune_rows=3, attr="LOWER")
    embed.initialize(X=docs)
    assert embed.get_param("D").shape == (3, 8)
    Ys, backprop = embed(docs, is_train=True)
    backprop([embed.ops.alloc2f(*Y.shape) + 1 for Y in Ys])
    gradient = embed.get_grad("D")
    # Rows 0-2 ("angela", "merkel", "paris") occur; "merkel" twice, so its
    # row gathers two tokens' gradients ("angela" and "paris" once each; a
    # zero gradient would make the comparison vacuous).
    assert numpy.abs(gradient[0]).max() > 0
    assert numpy.allclose(gradient[2], gradient[0])
    assert numpy.allclose(gradient[1], 2 * gradient[0])
    with pytest.raises(ValueError, match="finetune_rows must be at least 1"):
        StaticVectorsEmbed(4, finetune=True, finetune_rows=0)


def test_finetuning_a_floret_table_warns_that_it_stays_frozen():
    # Floret tables hash subwords: no row per word to correct, so say so
    # rather than train a correction that is never read.
    from spacy_bilstm.layers.static_vectors import StaticVectorsEmbed

    nlp = spacy.blank("en")
    data = numpy.random.default_rng(0).random((10, 4), dtype="float32")
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, mode="floret", data=data, minn=1, maxn=3, hash_count=1)
    docs = [nlp.make_doc("Angela Merkel visited Paris")]
    embed = StaticVectorsEmbed(3, finetune=True)
    with pytest.warns(UserWarning, match="no effect with a floret vectors table"):
        embed.initialize(X=docs)
    Ys, _ = embed(docs, is_train=True)
    assert Ys[0].shape == (4, 3)


def test_capitalised_words_find_their_lowercased_vectors():
    nlp = _trained(False, "LOWER")
    before = [e._.confidence for e in nlp(PROBE).ents]
    # Zero the rows of the words in the probe: its scores must change, so
    # "Merkel", "Leeds" and "Paris" were reading the rows of their lower case.
    for word in ("merkel", "leeds", "paris", "visited"):
        nlp.vocab.vectors.data[nlp.vocab.vectors.find(key=word)] = 0
    after = [e._.confidence for e in nlp(PROBE).ents]
    assert before != pytest.approx(after, abs=1e-6)


def test_frozen_vectors_through_spacys_multihashembed():
    nlp = _trained(False, None)
    for text, ents in TEXTS:
        assert _ents(nlp, text) == ents
    tok2vec = nlp.get_pipe("bilstm_ner").model.get_ref("tok2vec")
    assert not [node for node in tok2vec.walk() if node.name == "static_vectors_embed"]
    assert [node for node in tok2vec.walk() if node.name == "static_vectors"]


@pytest.mark.parametrize("finetune,vectors_attr", [(True, None), (False, "LOWER")])
def test_vector_options_without_static_vectors_are_an_error(finetune, vectors_attr):
    with pytest.raises(ValueError, match="need include_static_vectors = true"):
        spacy.blank("en").add_pipe("bilstm_ner", config=_config(False, finetune, vectors_attr))


def test_unknown_vectors_attr_is_an_error():
    with pytest.raises(ValueError, match="Unknown vectors attribute 'LOWERCASE'"):
        spacy.blank("en").add_pipe("bilstm_ner", config=_config(True, False, "LOWERCASE"))
