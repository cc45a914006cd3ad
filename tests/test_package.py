"""`spacy package` builds an installable pipeline that requires spacy-bilstm."""
import subprocess
import sys

import pytest

from .ner_fixtures import TRAIN_DATA, ents_of, overfit_pipeline


@pytest.mark.slow
def test_spacy_package_builds_a_wheel_that_loads(tmp_path):
    nlp = overfit_pipeline(n_iter=60)
    nlp.to_disk(tmp_path / "model")
    (tmp_path / "packages").mkdir()
    subprocess.run(
        [sys.executable, "-m", "spacy", "package", str(tmp_path / "model"), str(tmp_path / "packages"),
         "--name", "bilstm_test", "--version", "0.0.1", "--build", "wheel"],
        check=True, capture_output=True,
    )
    wheel = next((tmp_path / "packages").glob("*/dist/*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True)
    code = (
        f"import sys; sys.path.insert(0, {str(target)!r}); import spacy, json; "
        "nlp = spacy.load('en_bilstm_test'); "
        f"print(json.dumps([[e.start_char, e.end_char, e.label_] for e in nlp({TRAIN_DATA[0][0]!r}).ents])); "
        "print(json.dumps(nlp.meta['requirements']))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    import json

    assert [tuple(e) for e in json.loads(out[0])] == ents_of(nlp(TRAIN_DATA[0][0]))
    assert any(req.startswith("spacy-bilstm") for req in json.loads(out[1]))
