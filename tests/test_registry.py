"""Every entry point in pyproject.toml resolves, in this process and in a
fresh one that never imports spacy_bilstm."""
import subprocess
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest
import spacy
from spacy.util import registry

from .conftest import ROOT

ENTRY_POINTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
REGISTRIES = {
    "spacy_architectures": registry.architectures,
    "thinc_layers": registry.layers,
    "spacy_readers": registry.readers,
    "spacy_scorers": registry.scorers,
    "spacy_loggers": registry.loggers,
}
NAMES = [(group, name) for group, names in ENTRY_POINTS.items() if group in REGISTRIES for name in names]


@pytest.mark.parametrize("group,name", NAMES)
def test_registered_name_resolves(group, name):
    assert callable(REGISTRIES[group].get(name))


@pytest.mark.parametrize("factory", sorted(ENTRY_POINTS["spacy_factories"]))
def test_factory_entry_points_work_in_a_fresh_process(factory):
    code = f"import spacy, sys; nlp = spacy.blank('en'); nlp.add_pipe({factory!r}); print('spacy_bilstm' in sys.modules, nlp.pipe_names)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # spaCy found the factory through the entry point, which imported the package.
    assert out.stdout.strip() == f"True [{factory!r}]"


def test_every_registered_name_is_an_entry_point():
    """A name registered only by a decorator is unknown to a process that has
    not imported its module: `spacy train` would fail to resolve it."""
    import re

    pattern = re.compile(r'registry\.(\w+)\("(spacy_bilstm\.[^"]+)"\)')
    group_of = {"architectures": "spacy_architectures", "layers": "thinc_layers", "readers": "spacy_readers",
                "scorers": "spacy_scorers", "loggers": "spacy_loggers"}
    registered = {
        (group_of[kind], name)
        for path in (ROOT / "spacy_bilstm").rglob("*.py")
        for kind, name in pattern.findall(path.read_text(encoding="utf8"))
    }
    assert len(registered) >= 14
    missing = sorted((group, name) for group, name in registered if name not in ENTRY_POINTS.get(group, {}))
    assert missing == []


def test_every_entry_point_target_exists():
    from importlib import import_module

    for group, names in ENTRY_POINTS.items():
        for name, target in names.items():
            module, _, attribute = target.partition(":")
            assert hasattr(import_module(module), attribute), f"{group}: {name} -> {target}"


def test_package_import_is_cheap():
    # (thinc itself imports torch when it is installed, so we check our own
    # heavy modules: components, torch modules and the network stack.)
    code = (
        "import sys, spacy_bilstm; "
        "print(sorted(m for m in sys.modules if m.startswith('spacy_bilstm.') and "
        "any(k in m for k in ('ner', 'textcat', 'torch', 'network', 'ray'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
