"""spacy-bilstm: BiLSTM-CRF entity recognition, LSTM stance classification
and actor networks for spaCy.

Importing the package is cheap: components, architectures and readers are
found by spaCy through entry points, and torch loads only when a model is built.
"""
from .about import __version__
from .extensions import install_extensions

__all__ = ["__version__", "install_extensions"]
