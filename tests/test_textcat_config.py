"""configs/lstm_textcat.cfg resolves, trains with `spacy train` on tiny
DocBins, reproduces its weights with the same seed, and the saved pipeline
loads in a fresh process through the entry points alone."""
import json
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.cli.train import train
from spacy.util import load_config, load_model_from_config, registry

from .stance_fixtures import write_stance_docbins

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "lstm_textcat.cfg"

SMALL = {
    "components.lstm_textcat.model.hidden_width": 8,
    "components.lstm_textcat.model.attention_width": 8,
    "components.lstm_textcat.model.tok2vec.width": 8,
    "components.lstm_textcat.model.tok2vec.rows": [100, 50, 50, 50],
    "training.max_steps": 3,
    "training.eval_frequency": 1,
    "training.batcher.size.start": 8,
    "training.batcher.size.stop": 8,
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("textcat_config")
    write_stance_docbins(root / "train.spacy", root / "dev.spacy")
    vectors = spacy.blank("en")
    rng = numpy.random.default_rng(0)
    for word in ["we", "support", "oppose", "motion", "vote", "yes", "no", "bill", "leave"]:
        vectors.vocab.set_vector(word, rng.normal(size=(6,)).astype("float32"))
    vectors.to_disk(root / "vectors")
    return {"root": root, "train": root / "train.spacy", "dev": root / "dev.spacy", "vectors": root / "vectors"}


def _overrides(corpus: dict, **extra) -> dict:
    overrides = {
        "paths.train": str(corpus["train"]),
        "paths.dev": str(corpus["dev"]),
        "paths.vectors": str(corpus["vectors"]),
        "components.lstm_textcat.model.static_vectors.nO": 8,
        **SMALL,
    }
    overrides.update(extra)
    return overrides


def test_config_resolves_and_fills():
    config = load_config(CONFIG)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == ["lstm_textcat"]
    filled = nlp.config
    assert filled["system"]["gpu_allocator"] == "pytorch"
    assert filled["corpora"]["train"]["@readers"] == "spacy_bilstm.StanceCorpus.v1"
    model = filled["components"]["lstm_textcat"]["model"]
    assert model["@architectures"] == "spacy_bilstm.LSTMTextCat.v2"
    assert model["static_vectors"]["@layers"] == "spacy_bilstm.StaticVectorsEmbed.v1"
    assert model["use_target"] is True
    training = registry.resolve(filled["training"], validate=True)
    assert training["optimizer"] is not None
    assert training["batcher"] is not None


def test_registered_names_resolve():
    for name in ("spacy_bilstm.LSTMTextCat.v1", "spacy_bilstm.MeanEmbedTextCat.v1",
                 "spacy_bilstm.LSTMTextCat.v2", "spacy_bilstm.MeanEmbedTextCat.v2"):
        assert callable(registry.architectures.get(name))
    assert callable(registry.scorers.get("spacy_bilstm.textcat_scorer.v1"))
    assert callable(registry.readers.get("spacy_bilstm.StanceCorpus.v1"))
    assert "lstm_textcat" in spacy.registry.factories


def _train(corpus: dict, name: str, **extra) -> Path:
    output = corpus["root"] / name
    train(CONFIG, output, use_gpu=-1, overrides=_overrides(corpus, **extra))
    return output


def test_spacy_train_runs_and_the_pipeline_loads_in_a_fresh_process(corpus):
    output = _train(corpus, "out")
    best = output / "model-best"
    assert (output / "model-last" / "lstm_textcat" / "model").exists()
    nlp = spacy.load(best)
    doc = nlp.make_doc("We support the motion today")
    doc._.stance_target = "Brexit"
    expected = nlp(doc).cats
    assert set(expected) == {"oppose", "support"}
    # A fresh interpreter without `import spacy_bilstm`: the entry points
    # must find the factory, architectures, scorer and extensions.
    script = (
        "import json, sys, spacy\n"
        "from spacy.tokens import Doc\n"
        "nlp = spacy.load(sys.argv[1])\n"
        "doc = nlp.make_doc('We support the motion today')\n"
        "doc._.stance_target = 'Brexit'\n"
        "print(json.dumps(nlp(doc).cats))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(best)], capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == pytest.approx(expected, abs=1e-5)


def test_same_seed_gives_identical_weights(corpus):
    first = _train(corpus, "seed_a", **{"system.seed": 7})
    second = _train(corpus, "seed_b", **{"system.seed": 7})
    a = (first / "model-last" / "lstm_textcat" / "model").read_bytes()
    b = (second / "model-last" / "lstm_textcat" / "model").read_bytes()
    assert a == b
    third = _train(corpus, "seed_c", **{"system.seed": 8})
    assert (third / "model-last" / "lstm_textcat" / "model").read_bytes() != a


def test_the_shipped_char_ngram_partner_and_the_bow_alternative_train(corpus, tmp_path):
    # The config ships the char n-gram partner (measured best with the party);
    # the bag-of-words one its comment names trains in its place.
    config = load_config(CONFIG)
    assert config["components"]["lstm_textcat"]["model"]["linear_model"]["@architectures"] == (
        "spacy_bilstm.CharNgramLinear.v1"
    )
    output = tmp_path / "ngram"
    train(CONFIG, output, use_gpu=-1, overrides=_overrides(corpus))
    nlp = spacy.load(output / "model-best")
    assert "ngram_features" in [layer.name for layer in nlp.get_pipe("lstm_textcat").model.get_ref("linear_model").walk()]
    assert set(nlp("We support the motion").cats) == {"oppose", "support"}
    text = CONFIG.read_text(encoding="utf8")
    assert '"spacy.TextCatBOW.v3"' in text and "ngram_size = 1" in text
    bow = {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True, "ngram_size": 1,
           "no_output_layer": True, "length": 262144}
    config["components"]["lstm_textcat"]["model"]["linear_model"] = bow
    config_path = tmp_path / "with_bow.cfg"
    config.to_disk(config_path)
    train(config_path, tmp_path / "bow", use_gpu=-1, overrides=_overrides(corpus))
    nlp = spacy.load(tmp_path / "bow" / "model-best")
    bow_layers = [layer.name for layer in nlp.get_pipe("lstm_textcat").model.get_ref("linear_model").walk()]
    assert "ngram_features" not in bow_layers and any("sparse_linear" in name for name in bow_layers)
    assert set(nlp("We support the motion").cats) == {"oppose", "support"}
