"""`spacy-bilstm vectors`: floret vectors from the raw text under a data folder."""
import json
import subprocess
import sys

import pytest
import spacy

from spacy_bilstm.cli.vectors import excluded_debates
from spacy_bilstm.errors import InputError

from .ner_fixtures import RAW_CONLL

pytest.importorskip("floret")


def run(*args):
    return subprocess.run([sys.executable, "-m", "spacy_bilstm", "vectors", *args], capture_output=True, text=True)


def test_trains_a_floret_table_from_the_sources_present(tmp_path):
    data = tmp_path / "data"
    (data / "conll2003").mkdir(parents=True)
    (data / "conll2003" / "eng.train").write_text(RAW_CONLL * 50, encoding="utf8")
    out = tmp_path / "vectors"
    result = run(str(data), str(out), "--dim", "8", "--bucket", "1000", "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert "conll2003: 100 documents" in result.stdout
    assert "handeset: missing" in result.stdout and "convote: missing" in result.stdout
    nlp = spacy.load(out)
    assert nlp.vocab.vectors.mode == "floret"
    assert nlp.vocab.vectors.shape == (1000, 8)
    # Subword hashing: an unseen word still gets a vector.
    assert nlp.vocab.vectors.get_batch(["parliamentarian"]).any()
    # Trained on lower-cased text, and saved to be read by lower case, so
    # spaCy's own StaticVectors finds "labour" for "Labour" too.
    from spacy.attrs import LOWER

    assert nlp.vocab.vectors.attr == LOWER
    doc = nlp("Labour")
    assert (doc[0].vector == nlp.vocab.vectors.get_batch(["labour"])[0]).all()


def test_no_raw_text_is_one_clear_error(tmp_path):
    result = run(str(tmp_path), str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path}: no raw text found")
    assert "Traceback" not in result.stderr


def test_excluded_debates_are_read_from_the_corpus_meta(tmp_path):
    path = tmp_path / "test.jsonl"
    records = [{"text": "A.", "meta": {"source": "handeset", "debate": "76"}}, {"text": "B.", "meta": {"source": "convote", "debate": "052"}}]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf8")
    assert excluded_debates(path) == {("handeset", "76"), ("convote", "052")}
    path.write_text('{"text": \n', encoding="utf8")
    with pytest.raises(InputError, match=f"{path}:1: not JSON"):
        excluded_debates(path)
