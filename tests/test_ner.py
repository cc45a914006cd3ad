"""The pipe contract of `bilstm_ner`: training, prediction, invariance, IO."""
import pickle
import subprocess
import sys

import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from spacy_bilstm.errors import ModelLoadError
from spacy_bilstm.tags import is_valid_sequence

from .ner_fixtures import TRAIN_DATA, ents_of, make_examples, overfit_pipeline


@pytest.fixture(scope="module")
def trained():
    return overfit_pipeline()


def test_add_pipe_and_labels_before_training():
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("bilstm_ner")
    assert ner.add_label("PER") == 1
    assert ner.add_label("PER") == 0
    assert ner.add_label("LOC") == 1
    assert ner.labels == ("LOC", "PER")
    assert ner.tag_names[0] == "O" and len(ner.tag_names) == 9


def test_uninitialized_use_raises_e109():
    nlp = spacy.blank("en")
    nlp.add_pipe("bilstm_ner")
    with pytest.raises(ValueError, match="E109"):
        nlp("Margaret Okafor spoke .")


def test_overfit_reproduces_the_training_entities(trained):
    for text, ents in TRAIN_DATA:
        assert ents_of(trained(text)) == ents


def test_entities_carry_confidences(trained):
    doc = trained(TRAIN_DATA[0][0])
    confidences = [ent._.confidence for ent in doc.ents]
    assert all(c is not None and 0.5 < c <= 1.0 for c in confidences)


def test_empty_one_token_and_long_docs(trained):
    assert list(trained("").ents) == []
    one = trained("Brussels")
    assert len(one) == 1
    words = ("Margaret Okafor met Tomas Reyes in Brussels on Tuesday .".split() * 1000)[:10_000]
    long_doc = trained(Doc(trained.vocab, words=words))
    assert len(long_doc) == 10_000
    # The long doc repeats the first training sentence; every copy is found.
    assert len(long_doc.ents) == 3 * 1000


def test_decoded_tags_are_valid_biluo(trained):
    ner = trained.get_pipe("bilstm_ner")
    docs = [trained.make_doc(t) for t, _ in TRAIN_DATA] + [trained.make_doc("a b c d e f g")]
    from spacy_bilstm.layers.crf import crf_decode

    for tags in crf_decode(ner.predict(docs)):
        assert is_valid_sequence(tags.tolist(), ner.labels)


def test_non_ascii_emoji_and_whitespace_tokens(trained):
    doc = trained(TRAIN_DATA[5][0])
    assert ents_of(doc) == TRAIN_DATA[5][1]
    spaced = trained(Doc(trained.vocab, words=["Margaret", "\n\n", "Okafor", "  ", "spoke"], spaces=[True, False, True, False, False]))
    for ent in spaced.ents:
        assert not any(token.is_space for token in ent)


def test_whitespace_tokens_never_join_an_entity_the_scores_ask_for(trained):
    """Scores that want "Margaret \\n\\n Okafor" as one PER entity (B I L):
    the whitespace token is held to "O", so two one-token entities remain."""
    from spacy_bilstm.layers.crf import crf_decode

    ner = trained.get_pipe("bilstm_ner")
    doc = Doc(trained.vocab, words=["Margaret", "\n\n", "Okafor", "spoke"], spaces=[True, False, True, False])
    scores = ner.predict([doc])
    tag = {name: i for i, name in enumerate(ner.tag_names)}
    wanted = numpy.zeros((4, len(tag)), dtype="float32")
    wanted[0, tag["B-PER"]], wanted[0, tag["U-PER"]] = 10, 5
    wanted[1, tag["I-PER"]] = 10
    wanted[2, tag["L-PER"]], wanted[2, tag["U-PER"]] = 10, 5
    wanted[3, tag["O"]] = 10
    # Large enough that the trained transition scores cannot overrule them.
    scores.emissions[0] = wanted * 100
    unconstrained = crf_decode(scores)[0].tolist()
    assert unconstrained == [tag["B-PER"], tag["I-PER"], tag["L-PER"], tag["O"]]
    ner.set_annotations([doc], scores)
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("Margaret", "PER"), ("Okafor", "PER")]


def _texts():
    return [t for t, _ in TRAIN_DATA]


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_batch_invariance(trained, batch_size):
    texts = _texts() + ["The Treasury and the European Commission met . " * 30]
    alone = [ents_of(trained(t)) for t in texts]
    batched = [ents_of(d) for d in trained.pipe(texts, batch_size=batch_size)]
    assert batched == alone
    ner = trained.get_pipe("bilstm_ner")
    short = trained.make_doc(texts[0])
    score_alone = ner.predict([short])[0]
    score_batched = ner.predict([trained.make_doc(texts[-1]), short])[1]
    numpy.testing.assert_allclose(score_alone, score_batched, atol=1e-5)


def test_n_process_matches_single_process(trained):
    texts = _texts() * 4
    expected = [ents_of(trained(t)) for t in texts]
    assert [ents_of(d) for d in trained.pipe(texts, n_process=2, batch_size=3)] == expected


def test_round_trips(trained, tmp_path):
    expected = [ents_of(trained(t)) for t in _texts()]
    trained.to_disk(tmp_path / "model")
    from_disk = spacy.load(tmp_path / "model")
    assert [ents_of(from_disk(t)) for t in _texts()] == expected
    nlp2 = spacy.blank("en")
    nlp2.add_pipe("bilstm_ner")
    nlp2.from_bytes(trained.to_bytes())
    assert [ents_of(nlp2(t)) for t in _texts()] == expected
    unpickled = pickle.loads(pickle.dumps(trained))
    assert [ents_of(unpickled(t)) for t in _texts()] == expected
    confidences = [e._.confidence for e in from_disk(_texts()[0]).ents]
    assert confidences == [e._.confidence for e in trained(_texts()[0]).ents]


def test_fresh_process_loads_through_entry_points(trained, tmp_path):
    expected = [ents_of(trained(t)) for t in _texts()]
    trained.to_disk(tmp_path / "model")
    code = (
        "import json, sys, spacy\n"
        "assert 'spacy_bilstm' not in sys.modules\n"
        f"nlp = spacy.load({str(tmp_path / 'model')!r})\n"
        "assert 'spacy_bilstm.components.ner' in sys.modules\n"
        f"texts = {_texts()!r}\n"
        "print(json.dumps([[[e.start_char, e.end_char, e.label_] for e in nlp(t).ents] for t in texts]))\n"
    )
    # No `import spacy_bilstm` anywhere: spaCy must find the factory itself.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = [[tuple(e) for e in doc] for doc in __import__("json").loads(out.stdout)]
    assert got == expected
    blank = subprocess.run(
        [sys.executable, "-c", "import spacy; nlp = spacy.blank('en'); nlp.add_pipe('bilstm_ner'); print(nlp.pipe_names)"],
        capture_output=True, text=True, check=True,
    )
    assert "bilstm_ner" in blank.stdout


def test_docbin_round_trip_keeps_confidences(trained):
    doc = trained(_texts()[0])
    restored = list(DocBin(docs=[doc], store_user_data=True).get_docs(trained.vocab))[0]
    assert [e._.confidence for e in restored.ents] == [e._.confidence for e in doc.ents]


def test_scored_spans_in_doc_spans():
    nlp = overfit_pipeline(n_iter=60, config={"spans_key": "ner_candidates", "spans_threshold": 0.01})
    doc = nlp(TRAIN_DATA[0][0])
    group = doc.spans["ner_candidates"]
    scores = group.attrs["scores"]
    assert len(group) == len(scores) >= len(doc.ents)
    found = {(s.start, s.end, s.label_): float(p) for s, p in zip(group, scores)}
    for ent in doc.ents:
        assert found[(ent.start, ent.end, ent.label_)] == pytest.approx(ent._.confidence, abs=1e-5)
    assert all(0.01 <= p <= 1.0 for p in scores)


def test_softmax_ablation_trains_and_decodes_validly():
    nlp = overfit_pipeline(n_iter=80, config={"model": {"use_crf": False}})
    for text, ents in TRAIN_DATA:
        assert ents_of(nlp(text)) == ents


def test_gru_cell_and_no_char_features():
    nlp = overfit_pipeline(n_iter=80, config={"model": {"cell": "gru", "tok2vec": {"char_width": 0}}})
    assert ents_of(nlp(TRAIN_DATA[0][0])) == TRAIN_DATA[0][1]


def test_training_without_any_entity_label_is_a_clear_error():
    nlp = spacy.blank("en")
    nlp.add_pipe("bilstm_ner")
    examples = [Example.from_dict(nlp.make_doc("Nothing here ."), {"entities": []})]
    with pytest.raises(ValueError, match="found no entity labels"):
        nlp.initialize(lambda: examples)


def test_unknown_label_in_update_is_a_clear_error(trained):
    nlp = overfit_pipeline(n_iter=1)
    example = Example.from_dict(nlp.make_doc("Acme Corp rose ."), {"entities": [(0, 9, "COMPANY")]})
    with pytest.raises(ValueError, match="'COMPANY'.*labels are"):
        nlp.update([example])


def test_partial_annotation_is_not_penalised():
    nlp = spacy.blank("en")
    nlp.add_pipe("bilstm_ner")
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    ner = nlp.get_pipe("bilstm_ner")
    # A reference doc with no entity annotation at all: every tag unknown.
    missing = Example(nlp.make_doc("Margaret Okafor spoke ."), Doc(nlp.vocab, words=["Margaret", "Okafor", "spoke", "."]))
    scores = ner.model.predict([missing.predicted])
    loss, d_scores = ner.get_loss([missing], scores)
    assert loss == pytest.approx(0.0, abs=1e-4)
    numpy.testing.assert_allclose(d_scores[0], 0.0, atol=1e-5)


def test_corrupted_model_directory_is_a_clear_error(trained, tmp_path):
    path = tmp_path / "model"
    trained.to_disk(path)
    (path / "bilstm_ner" / "model").write_bytes(b"\x00not a model")
    with pytest.raises(ModelLoadError, match="bilstm_ner") as info:
        spacy.load(path)
    # The message names the component's directory, not only the component.
    assert str(info.value).startswith(f"{path / 'bilstm_ner'}: ")
    # The cause is kept for a bug report (the message alone is one line).
    assert info.value.__cause__ is not None


def test_truncated_model_file_is_a_clear_error(trained, tmp_path):
    path = tmp_path / "model"
    trained.to_disk(path)
    weights = path / "bilstm_ner" / "model"
    weights.write_bytes(weights.read_bytes()[: len(weights.read_bytes()) // 2])
    with pytest.raises(ModelLoadError, match=r"bilstm_ner: could not load .*incomplete input") as info:
        spacy.load(path)
    assert str(info.value).startswith(f"{path / 'bilstm_ner'}: ")


def test_incompatible_widths_are_a_clear_error(trained, tmp_path):
    path = tmp_path / "model"
    trained.to_disk(path)
    with pytest.raises(ModelLoadError, match=r"bilstm_ner: could not load .*dimension"):
        spacy.load(path, config={"components": {"bilstm_ner": {"model": {"hidden_width": 64}}}})


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_planted_pickle_never_runs(trained, tmp_path):
    import pickle as pickle_module

    import srsly

    path = tmp_path / "model"
    trained.to_disk(path)
    marker = tmp_path / "PAYLOAD_RAN"
    weights_file = path / "bilstm_ner" / "model"
    msg = srsly.msgpack_loads(weights_file.read_bytes())
    evil = pickle_module.dumps(_Payload(marker))
    planted = 0
    for node_shims in msg["shims"]:
        for i, shim_bytes in enumerate(node_shims):
            shim = srsly.msgpack_loads(shim_bytes)
            shim["state"] = evil
            node_shims[i] = srsly.msgpack_dumps(shim)
            planted += 1
    assert planted >= 2  # the byte CNN and the BiLSTM
    weights_file.write_bytes(srsly.msgpack_dumps(msg))
    # Sanity check that the payload is live: plain pickle would run it.
    pickle_module.loads(evil)
    assert marker.exists()
    marker.unlink()
    with pytest.raises(ModelLoadError, match="plain tensor state dict"):
        spacy.load(path)
    assert not marker.exists()


def test_saved_model_holds_no_caches(trained, tmp_path):
    model = trained.get_pipe("bilstm_ner").model
    before = model.to_bytes()
    trained(" ".join(f"word{i}" for i in range(2000)))
    assert model.to_bytes() == before


def test_listens_to_a_shared_tok2vec(tmp_path):
    from spacy.util import fix_random_seed

    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    nlp.add_pipe(
        "bilstm_ner",
        config={"model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1", "width": 96, "upstream": "*"}}},
    )
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    assert nlp.get_pipe("tok2vec").listening_components == ["bilstm_ner"]
    for _ in range(80):
        nlp.update(examples, sgd=optimizer)
    expected = [ents for _, ents in TRAIN_DATA]
    assert [ents_of(nlp(t)) for t, _ in TRAIN_DATA] == expected
    nlp.to_disk(tmp_path / "shared")
    assert [ents_of(spacy.load(tmp_path / "shared")(t)) for t, _ in TRAIN_DATA] == expected


def test_same_seed_same_weights_different_seed_different_weights():
    def weights(seed):
        from spacy.util import fix_random_seed

        fix_random_seed(seed)
        nlp = spacy.blank("en")
        nlp.add_pipe("bilstm_ner")
        examples = make_examples(nlp)
        optimizer = nlp.initialize(lambda: examples)
        for _ in range(3):
            nlp.update(examples, sgd=optimizer, drop=0.2)
        return nlp.get_pipe("bilstm_ner").model.to_bytes()

    first = weights(1)
    assert weights(1) == first
    assert weights(2) != first


def test_fast_gold_tags_equal_spacys_alignment():
    from spacy_bilstm.tags import gold_tag_ids, tag_ids_from_strings

    nlp = spacy.blank("en")
    labels = ["LOC", "MISC", "ORG", "PER"]
    label_ids = {nlp.vocab.strings.add(label): i for i, label in enumerate(labels)}
    examples = make_examples(nlp)
    partial = Doc(nlp.vocab, words=["Mr", "Hollis", "\n", "spoke", "in", "Leeds"], ents=["O", "B-PER", "", "", "O", "B-LOC"])
    examples.append(Example(Doc(nlp.vocab, words=[t.text for t in partial], spaces=[bool(t.whitespace_) for t in partial]), partial))
    for example in examples:
        expected = tag_ids_from_strings(example.get_aligned_ner(), labels)
        assert gold_tag_ids(example.reference, label_ids).tolist() == expected
