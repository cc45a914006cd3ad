"""spacy-bilstm: BiLSTM-CRF entity recognition, LSTM stance classification
and actor networks for spaCy.

Importing the package is cheap: components, architectures and readers are
found by spaCy through entry points, and torch loads only when a model is built.
The public names below that live in the components load on first use.
"""
from importlib import import_module
from typing import Any

from .about import __version__
from .extensions import install_extensions
from .fork_safety import install_fork_guard

# Before any model runs: `nlp.pipe(n_process=2)` forks, and a forked child
# must not use the parent's torch thread pool (see fork_safety).
install_fork_guard()

_LAZY = {
    "BiLSTMEntityRecognizer": "spacy_bilstm.components.ner",
    "LSTMTextCategorizer": "spacy_bilstm.components.textcat",
    "with_stance_targets": "spacy_bilstm.components.textcat",
}

__all__ = ["__version__", "install_extensions", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spacy_bilstm' has no attribute {name!r}")
