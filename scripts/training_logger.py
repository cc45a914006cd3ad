"""Registers the `spacy_bilstm.TrainingLogger.v1` training logger for
``spacy train --code scripts/training_logger.py`` (see project.yml): spaCy's
console logger plus a fresh JSONL log, on a fixed number of torch threads.
The logger itself is `spacy_bilstm.project.training.training_logger`."""
import spacy_bilstm.project.training  # noqa: F401
