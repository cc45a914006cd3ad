"""`nlp.pipe(texts, n_process=2)` with a saved `bilstm_ner` or `lstm_textcat`,
in a fresh Python process whose torch runs a multi-threaded pool first (the
case that hung in libgomp before fork_safety), finishes in time and gives
what one process gives."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.training import Example

TEXTS = ["Mr Smith went to London .", "The Council met in Brussels ."]
SCRIPT = r'''
import sys
import spacy
import torch

# What a user's machine does by default with two or more cores: a pool of
# several threads, started here, before the fork.
torch.set_num_threads(2)
nlp = spacy.load(sys.argv[1])
texts = [f"Mr Smith number {i} went to London and met the Council in Brussels ." * 20 for i in range(120)]

def result(docs):
    return [([(e.start_char, e.end_char, e.label_) for e in d.ents], {k: round(v, 5) for k, v in d.cats.items()})
            for d in docs]

single = result(nlp.pipe(texts, batch_size=10))
multi = result(nlp.pipe(texts, batch_size=10, n_process=2))
print("SAME" if single == multi else "DIFFERENT", flush=True)
'''


def _ner_pipeline(path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("bilstm_ner", config={"model": {
        "@architectures": "spacy_bilstm.BiLSTMCRFTagger.v1", "hidden_width": 16,
        "tok2vec": {"@architectures": "spacy_bilstm.WordCharEmbed.v1", "width": 16,
                    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"], "rows": [500, 100, 100, 100],
                    "include_static_vectors": False},
    }})
    spans = {TEXTS[0]: [(3, 8, "PER"), (17, 23, "LOC")], TEXTS[1]: [(4, 11, "ORG"), (19, 27, "LOC")]}
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": spans[t]}) for t in TEXTS * 4]
    _fit(nlp, examples, path)


def _textcat_pipeline(path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat", config={"model": {
        "@architectures": "spacy_bilstm.LSTMTextCat.v1", "hidden_width": 16, "use_target": False,
        "tok2vec": {"@architectures": "spacy.MultiHashEmbed.v2", "width": 16,
                    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"], "rows": [500, 100, 100, 100],
                    "include_static_vectors": False},
    }})
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {"A": float(i == 0), "B": float(i == 1)}})
                for i, t in enumerate(TEXTS)] * 4
    _fit(nlp, examples, path)


def _fit(nlp, examples, path: Path) -> None:
    nlp.initialize(lambda: examples)
    optimizer = nlp.create_optimizer()
    for _ in range(5):
        nlp.update(examples, sgd=optimizer)
    nlp.to_disk(path)


@pytest.mark.parametrize("build", [_ner_pipeline, _textcat_pipeline], ids=["bilstm_ner", "lstm_textcat"])
def test_n_process_2_from_a_saved_pipeline_in_a_fresh_process(tmp_path, build):
    build(tmp_path / "pipeline")
    # No thread pinning from the environment either: torch's own defaults.
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "pipeline")], capture_output=True,
                            text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "SAME"
