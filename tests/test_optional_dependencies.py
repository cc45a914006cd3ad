"""A missing optional library is one line naming the extra to install, not a
traceback: ray and pyarrow (--backend ray, Parquet), scikit-learn (the
linear baselines), cupy (--gpu-id)."""
import sys

import pytest

from spacy_bilstm.errors import InputError
from spacy_bilstm.optional import require


def _hide(monkeypatch, *modules):
    # A None entry in sys.modules makes `import name` raise ImportError, as
    # on a machine without the package.
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def test_require_names_the_extra(monkeypatch):
    _hide(monkeypatch, "ray")
    with pytest.raises(InputError, match=r'--backend ray needs ray, which is not installed: '
                       r'pip install "spacy-bilstm\[ray\]"') as info:
        require("ray", extra="ray", purpose="--backend ray")
    assert info.value.reason == "missing_dependency" and info.value.__cause__ is not None
    assert require("json", extra="none", purpose="x").dumps([]) == "[]"


def test_network_backend_ray_without_ray_is_one_line(monkeypatch, capsys, tmp_path):
    from spacy_bilstm.cli import main
    from benchmarks.synthetic_speeches import build_pipeline, write_jsonl

    model = tmp_path / "model"
    build_pipeline().to_disk(model)
    corpus = write_jsonl(tmp_path / "speeches.jsonl", 5, seed=1)
    _hide(monkeypatch, "ray")
    monkeypatch.setattr(sys, "argv", ["spacy-bilstm", "network", str(model), str(corpus), "--out",
                                      str(tmp_path / "net.gexf"), "--backend", "ray", "--no-progress"])
    with pytest.raises(SystemExit) as exit:
        main()
    assert exit.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == 'error: --backend ray needs ray, which is not installed: pip install "spacy-bilstm[ray]"'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "speeches.jsonl"]  # nothing written


def test_baselines_without_scikit_learn(monkeypatch):
    from spacy_bilstm.baselines import ngram_svm, tfidf_logreg

    _hide(monkeypatch, "sklearn")
    with pytest.raises(InputError, match=r'spacy-bilstm\[compare\]'):
        tfidf_logreg(["a", "b"], ["x", "y"], ["a"], ["x"])
    with pytest.raises(InputError, match=r'spacy-bilstm\[compare\]'):
        ngram_svm(["a", "b"], ["x", "y"], ["a"], ["x"])


def test_parquet_without_pyarrow(monkeypatch, tmp_path):
    import networkx as nx

    from spacy_bilstm.network.export import write_parquet

    _hide(monkeypatch, "pyarrow", "pyarrow.parquet")
    with pytest.raises(InputError, match=r'Parquet output needs pyarrow.*spacy-bilstm\[ray\]'):
        write_parquet(nx.Graph(), tmp_path / "out.parquet")


def test_gpu_without_cupy(monkeypatch):
    from spacy_bilstm.network.pipeline import load_pipeline

    _hide(monkeypatch, "cupy")
    with pytest.raises(InputError, match=r'--gpu-id needs cupy.*spacy-bilstm\[cuda12x\]'):
        load_pipeline("en_core_web_md", gpu_id=0)


@pytest.mark.parametrize("fmt,module,message", [
    ("parquet", "pyarrow", 'Parquet output needs pyarrow, which is not installed: pip install "spacy-bilstm[ray]"'),
    ("html", "pyvis", '--formats html needs pyvis, which is not installed: pip install "spacy-bilstm[html]"'),
])
def test_network_format_without_its_library_is_one_line_before_any_work(monkeypatch, capsys, tmp_path,
                                                                         fmt, module, message):
    from spacy_bilstm.cli import main
    from benchmarks.synthetic_speeches import build_pipeline, write_jsonl

    model = tmp_path / "model"
    build_pipeline().to_disk(model)
    corpus = write_jsonl(tmp_path / "speeches.jsonl", 5, seed=1)
    _hide(monkeypatch, module, f"{module}.parquet", f"{module}.network")
    monkeypatch.setattr(sys, "argv", ["spacy-bilstm", "network", str(model), str(corpus), "--out",
                                      str(tmp_path / "net.gexf"), "--formats", fmt, "--no-progress"])
    with pytest.raises(SystemExit) as exit:
        main()
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "speeches.jsonl"]  # nothing written
