"""spacy-bilstm: BiLSTM-CRF entity recognition, LSTM stance classification
and actor networks for spaCy.

Importing the package is cheap: components, architectures and readers are
found by spaCy through entry points, and torch loads only when a model is built.
"""
from .about import __version__
from .extensions import install_extensions
from .fork_safety import install_fork_guard

# Before any model runs: `nlp.pipe(n_process=2)` forks, and a forked child
# must not use the parent's torch thread pool (see fork_safety).
install_fork_guard()

__all__ = ["__version__", "install_extensions"]
