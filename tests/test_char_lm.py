"""Character language models: pretraining, token features, and the
`spacy_bilstm.CharLMEmbed.v1` layer inside `bilstm_ner`."""
import subprocess
import sys

import numpy
import pytest
import spacy
import torch
from spacy.training import Example

from spacy_bilstm.char_lm_training import CharLMSettings, train_char_lm
from spacy_bilstm.layers.char_lm_torch import load_char_lm, save_char_lm
from spacy_bilstm.errors import InputError
from spacy_bilstm.layers.char_lm_torch import BiCharLanguageModel, token_string

from .ner_fixtures import RAW_CONLL

LINES = [
    "the hon. member for warrington asked the minister about the nhs .",
    "mr speaker , the european commission told parliament in brussels .",
    "i rise in support of the bill from the gentleman from texas .",
] * 120
SETTINGS = CharLMSettings(embed_width=8, hidden_width=24, batch_size=8, window=40, epochs=3.0, learn_rate=0.01, seed=0)

# Small LSTMs on a shared, busy machine: torch's thread pool only adds waiting.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_lm_path(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, report = train_char_lm(LINES, SETTINGS)
    finally:
        torch.set_num_threads(before)
    path = tmp_path_factory.mktemp("char_lm") / "tiny.pt"
    save_char_lm(model, path, {"report": report.valid_bits_per_byte})
    return path


def test_token_string_frames_lower_cased_words_and_finds_their_bytes():
    text, spans = token_string(["Mr", "Ó", "Súilleabháin", "MP"])
    assert text == "\nmr ó súilleabháin mp\n".encode("utf8")
    assert [text[start:end].decode("utf8") for start, end in spans] == ["mr", "ó", "súilleabháin", "mp"]
    assert token_string([]) == (b"\n\n", [])


def test_training_learns_the_text():
    _, report = train_char_lm(LINES, SETTINGS)
    # Uniform over 257 symbols is 8 bits per byte, English letter frequencies
    # alone about 4: below 3, the models have learned sequences.
    assert report.valid_bits_per_byte["forward"] < 3.0
    assert report.valid_bits_per_byte["backward"] < 3.0
    # Seeded: the same settings give the same model.
    _, again = train_char_lm(LINES, SETTINGS)
    assert again.valid_bits_per_byte == report.valid_bits_per_byte


def test_too_little_text_is_a_clear_error():
    with pytest.raises(ValueError, match="too few to train"):
        train_char_lm(["a b"], CharLMSettings(hidden_width=8, embed_width=4))


def test_forward_features_see_only_the_left_context_and_backward_only_the_right():
    torch.manual_seed(0)
    lm = BiCharLanguageModel(8, 12).eval()
    h = lm.hidden_width
    base = lm.features([["Mr", "Smith", "spoke", "for", "Labour"]])[0]
    later_changed = lm.features([["Mr", "Smith", "spoke", "against", "Reform"]])[0]
    earlier_changed = lm.features([["Dr", "Jones", "spoke", "for", "Labour"]])[0]
    # Forward half of "spoke" (index 2) ends at the space after it: words
    # after it cannot move it; the backward half can.
    assert torch.allclose(base[:3, :h], later_changed[:3, :h])
    assert not torch.allclose(base[2, h:], later_changed[2, h:])
    # Backward half starts at the space before the word: earlier words cannot move it.
    assert torch.allclose(base[2:, h:], earlier_changed[2:, h:])
    assert not torch.allclose(base[2, :h], earlier_changed[2, :h])
    # A word's own bytes reach both halves.
    own = lm.features([["Mr", "Smith", "spake", "for", "Labour"]])[0]
    assert not torch.allclose(base[2, :h], own[2, :h]) and not torch.allclose(base[2, h:], own[2, h:])


def test_features_do_not_depend_on_the_batch():
    torch.manual_seed(0)
    lm = BiCharLanguageModel(8, 12).eval()
    sentences = [["Mr", "Smith"], ["The", "European", "Commission", "told", "Parliament", "."], ["Ja"]]
    batch = lm.features(sentences)
    for sentence, together in zip(sentences, batch):
        alone = lm.features([sentence])[0]
        assert alone.shape == (len(sentence), 2 * lm.hidden_width)
        assert torch.allclose(alone, together, atol=1e-6)


def test_load_refuses_what_is_not_a_language_model(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_char_lm(tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(InputError, match=r"other\.pt.*not a character language model"):
        load_char_lm(other)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(InputError, match=r"garbage\.pt.*not a character language model"):
        load_char_lm(garbage)


def test_save_load_round_trip(tiny_lm_path):
    lm = load_char_lm(tiny_lm_path)
    again = load_char_lm(tiny_lm_path)
    words = [["Mr", "Smith", "spoke"]]
    assert torch.equal(lm.features(words)[0], again.features(words)[0])


def _pipeline(lm_path):
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "bilstm_ner",
        config={
            "model": {
                "tok2vec": {
                    "char_lm": {"@layers": "spacy_bilstm.CharLMEmbed.v1", "path": str(lm_path)}
                }
            }
        },
    )
    return nlp


TRAIN = [
    ("Mr Smith spoke for Warrington .", [(3, 8, "PER"), (19, 29, "LOC")]),
    ("The European Commission told Parliament .", [(4, 23, "ORG"), (29, 39, "ORG")]),
    ("Mrs Jones asked the Minister about Leeds .", [(4, 9, "PER"), (35, 40, "LOC")]),
]
TEXTS = ["Mr Smith spoke for Leeds .", "  The  Commission\n told Mrs Jones", "", "Parliament ."] * 4


def _trained(lm_path, steps=15):
    torch.manual_seed(0)
    spacy.util.fix_random_seed(0)
    nlp = _pipeline(lm_path)
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in TRAIN]
    nlp.initialize(lambda: examples)
    for _ in range(steps):
        nlp.update(examples)
    return nlp


def _scores(nlp, texts, batch_size):
    return [
        (tuple((e.start_char, e.end_char, e.label_) for e in doc.ents), doc.to_array(["ENT_IOB"]).tolist())
        for doc in nlp.pipe(texts, batch_size=batch_size)
    ]


def test_pipeline_trains_saves_and_loads_with_the_language_models_inside(tiny_lm_path, tmp_path):
    nlp = _trained(tiny_lm_path)
    layer = nlp.get_pipe("bilstm_ner").model.get_ref("tok2vec").layers[-1]
    assert layer.name == "char_lm" and layer.get_dim("nO") == 48
    nlp.to_disk(tmp_path / "pipeline")
    # The saved pipeline holds the models: the file is not needed to load it.
    tiny_lm_path.rename(tmp_path / "moved.pt")
    try:
        loaded = spacy.load(tmp_path / "pipeline")
        assert _scores(loaded, TEXTS, 1000) == _scores(nlp, TEXTS, 1000)
        loaded_layer = loaded.get_pipe("bilstm_ner").model.get_ref("tok2vec").layers[-1]
        doc = loaded.make_doc("The Commission told Parliament")
        Y, _ = loaded_layer([doc], is_train=False)
        X, _ = layer([doc], is_train=False)
        numpy.testing.assert_array_equal(X[0], Y[0])
    finally:
        (tmp_path / "moved.pt").rename(tiny_lm_path)


def test_predictions_do_not_depend_on_batch_size(tiny_lm_path):
    nlp = _trained(tiny_lm_path)
    expected = _scores(nlp, TEXTS, 1)
    assert _scores(nlp, TEXTS, 7) == expected
    assert _scores(nlp, TEXTS, 1000) == expected


def test_whitespace_tokens_get_zero_features_and_others_do_not(tiny_lm_path):
    nlp = _trained(tiny_lm_path, steps=0)
    layer = nlp.get_pipe("bilstm_ner").model.get_ref("tok2vec").layers[-1]
    doc = nlp.make_doc("The  Commission\n told")
    (Y,), _ = layer([doc], is_train=False)
    spaces = [token.is_space for token in doc]
    assert any(spaces)
    for row, space in zip(Y, spaces):
        assert (not row.any()) if space else row.any()


def test_the_training_cache_changes_nothing_it_returns(tiny_lm_path):
    nlp = _trained(tiny_lm_path, steps=0)
    layer = nlp.get_pipe("bilstm_ner").model.get_ref("tok2vec").layers[-1]
    docs = [nlp.make_doc(text) for text in TEXTS]
    first, _ = layer(docs, is_train=True)  # fills the cache
    cached, _ = layer(docs, is_train=True)  # reads it
    fresh, _ = layer(docs, is_train=False)  # never uses it
    for a, b, c in zip(first, cached, fresh):
        numpy.testing.assert_array_equal(a, b)
        numpy.testing.assert_allclose(a, c, atol=1e-6)


def test_a_missing_path_is_a_clear_error():
    nlp = spacy.blank("en")
    nlp.add_pipe("bilstm_ner", config={"model": {"tok2vec": {"char_lm": {"@layers": "spacy_bilstm.CharLMEmbed.v1"}}}})
    with pytest.raises(ValueError, match="CharLMEmbed.v1 has no language models: give its `path`"):
        nlp.initialize(lambda: [Example.from_dict(nlp.make_doc("Mr Smith"), {"entities": [(3, 8, "PER")]})])



def test_command_trains_and_writes_a_loadable_file(tmp_path):
    data = tmp_path / "data"
    (data / "conll2003").mkdir(parents=True)
    # Two sentences a copy: 300 documents.
    (data / "conll2003" / "eng.train").write_text(RAW_CONLL * 150, encoding="utf8")
    out = tmp_path / "lm.pt"
    args = [str(data), str(out), "--hidden", "8", "--embed", "4", "--epochs", "0.5", "--batch-size", "4", "--window", "30",
            "--threads", "1"]
    result = subprocess.run([sys.executable, "-m", "spacy_bilstm", "char-lm", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "conll2003: 300 documents" in result.stdout
    assert "handeset: missing" in result.stdout
    lm = load_char_lm(out)
    assert lm.hidden_width == 8
    saved = torch.load(out, weights_only=True)
    assert saved["meta"]["sources"]["conll2003"] == "300 documents"
    missing = subprocess.run(
        [sys.executable, "-m", "spacy_bilstm", "char-lm", str(tmp_path / "nowhere"), str(out)], capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert "nowhere" in missing.stderr and "not a directory" in missing.stderr


def test_dropout_zeroes_features_only_while_training(tiny_lm_path):
    from spacy_bilstm.layers.char_lm import CharLMEmbed

    nlp = _trained(tiny_lm_path, steps=0)
    plain = nlp.get_pipe("bilstm_ner").model.get_ref("tok2vec").layers[-1]
    layer = CharLMEmbed(dropout=0.5)
    layer.shims[0]._model = plain.shims[0]._model
    layer.initialize()
    docs = [nlp.make_doc("The European Commission told Parliament in Brussels today .")]
    (kept,), _ = plain(docs, is_train=False)
    (predicted,), _ = layer(docs, is_train=False)
    numpy.testing.assert_allclose(predicted, kept, atol=1e-6)
    (dropped,), _ = layer(docs, is_train=True)
    zeroed = dropped == 0
    assert 0.35 < zeroed.mean() < 0.65
    numpy.testing.assert_allclose(dropped[~zeroed], 2 * kept[~zeroed], rtol=1e-5)
    # The second call reads the cache, which must hold the undropped features.
    (again,), _ = layer(docs, is_train=True)
    assert not numpy.array_equal(again == 0, zeroed)
    numpy.testing.assert_allclose(again[again != 0], 2 * kept[again != 0], rtol=1e-5)
