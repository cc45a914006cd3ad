"""The seed loop of benchmarks/compare.py: equal seeds give identical
lstm_textcat weights, different seeds give different ones."""
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from thinc.api import Config

from spacy_bilstm.extensions import install_extensions

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"

DATA = [
    ("We support the motion today", "Brexit", "support"),
    ("We oppose the motion today", "Brexit", "oppose"),
    ("I will vote yes on the bill", "Climate Change", "support"),
    ("I will vote no on the bill", "Climate Change", "oppose"),
    ("Leave now", "Brexit", "support"),
    ("Leave now", "Climate Change", "oppose"),
]


@pytest.fixture(scope="module")
def compare():
    if not (BENCHMARKS / "bench_textcat.py").exists():
        pytest.skip("benchmarks/bench_textcat.py (which compare.py builds on) is not in this checkout")
    sys.path.insert(0, str(BENCHMARKS))
    import compare as module

    return module


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    install_extensions()
    root = tmp_path_factory.mktemp("compare_seeds")
    nlp = spacy.blank("en")
    docs = []
    for text, target, label in DATA:
        doc = nlp.make_doc(text)
        doc.cats = {"support": float(label == "support"), "oppose": float(label == "oppose")}
        doc._.stance_target = target
        doc._.meta = {"group": target}
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(root / "fit.spacy")
    DocBin(docs=docs[:4], store_user_data=True).to_disk(root / "stop.spacy")
    return root


def _small_config() -> Config:
    config = Config().from_disk(ROOT / "configs" / "lstm_textcat.cfg", interpolate=False)
    model = config["components"]["lstm_textcat"]["model"]
    model.update(hidden_width=8, vectors_width=8, attention_width=8, include_static_vectors=False)
    model["tok2vec"].update(width=8, rows=[100, 50, 50, 50])
    config["training"]["batcher"]["size"] = 8
    return config


def _weights(compare, data: Path, seed: int) -> bytes:
    nlp, record = compare.fit_seeded(
        _small_config(), data / "fit.spacy", data / "stop.spacy", seed, max_epochs=2, patience=2, metric="macro_f"
    )
    assert record["epochs"] >= 1
    return nlp.get_pipe("lstm_textcat").model.to_bytes()


def test_seed_loop_weights(compare, data):
    first = _weights(compare, data, 0)
    assert _weights(compare, data, 0) == first
    assert _weights(compare, data, 1) != first
