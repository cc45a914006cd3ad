"""Loading the pipeline that feeds the network, the same way on every worker."""

from pathlib import Path
from typing import Dict, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from ..errors import InputError
from ..extensions import install_extensions

_SENTENCE_ASSIGNS = ("token.is_sent_start", "doc.sents")


def sets_sentences(nlp: Language) -> bool:
    """Whether an enabled component of the pipeline sets sentence boundaries.

    nlp (Language): The pipeline.
    RETURNS (bool): True if a parser, senter, sentencizer or similar is enabled.
    """
    for name in nlp.pipe_names:
        assigns = nlp.get_pipe_meta(name).assigns
        if any(attr in assigns for attr in _SENTENCE_ASSIGNS):
            return True
    return False


def load_pipeline(model: Union[str, Path], need_sentences: bool = False, gpu_id: int = -1) -> Language:
    """Load MODEL (anything `spacy.load` takes) for extraction.

    If sentence windows are wanted and no component sets sentence boundaries,
    a `sentencizer` is added first, so that "sentence" means a sentence and
    not the whole document.

    model (Union[str, Path]): A pipeline directory or an installed package name.
    need_sentences (bool): Add a sentencizer if nothing sets sentence boundaries.
    gpu_id (int): Run on this GPU (-1: CPU).
    RAISES (InputError): If the pipeline cannot be found or loaded.
    RETURNS (Language): The pipeline.
    """
    install_extensions()
    if gpu_id >= 0:
        from ..optional import require

        require("cupy", extra="cuda12x", purpose="--gpu-id")  # or [cuda11x], to match the CUDA toolkit
        spacy.require_gpu(gpu_id)
    try:
        nlp = spacy.load(model)
    except OSError as err:
        raise InputError(f"cannot load the pipeline: {err}", path=str(model)) from None
    if need_sentences and not sets_sentences(nlp):
        nlp.add_pipe("sentencizer", first=True)
    return nlp


def record_doc(nlp: Language, text: str, meta: Dict[str, object]) -> Doc:
    """The Doc of one input record, carrying the record's metadata.

    The backends hand `nlp.pipe` Docs, not texts, so that components that
    read `doc._.meta` (an `lstm_textcat` with `meta_fields = ["party"]`) see
    the speaker's party as they did in training; from a bare text they would
    read every speech as "unknown" and sign the speaker edges by text alone.

    nlp (Language): The pipeline (its tokenizer makes the Doc).
    text (str): The record's text.
    meta (Dict[str, object]): Its id, date, speaker and further fields.
    RETURNS (Doc): The tokenised Doc with `doc._.meta` set to a copy of meta.
    """
    doc = nlp.make_doc(text)
    doc._.meta = dict(meta)
    return doc
