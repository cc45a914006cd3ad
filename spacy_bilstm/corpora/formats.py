"""Choosing a reader: format detection and one entry point per task."""
from pathlib import Path
from typing import Iterator, Optional, Sequence, Union

from spacy.language import Language
from spacy.tokens import Doc

from ..errors import InputError
from ..records import RecordReport
from .conll import read_conll_ner
from .decoding import first_content_line
from .jsonl_ner import read_jsonl_ner
from .textcat_sources import (
    CONVOTE_COLUMNS,
    HANDESET_COLUMNS,
    SEMEVAL_COLUMNS,
    read_convote,
    read_handeset,
    read_semeval,
    read_textcat_jsonl,
)

NER_FORMATS = ("auto", "conll", "jsonl")
TEXTCAT_FORMATS = ("auto", "jsonl", "handeset", "convote", "semeval")
_JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")


def _check_format(path: Path, format: str, choices: Sequence[str]) -> None:
    if format not in choices:
        raise InputError(
            f"unknown format '{format}' (choose from {', '.join(choices)})",
            path=path,
            reason="bad_argument",
        )


def detect_ner_format(path: Union[str, Path]) -> str:
    """Guess an NER file's format: "jsonl" if its suffix or first line says so, else "conll".

    path (Union[str, Path]): The file.
    RETURNS (str): "jsonl" or "conll".
    """
    path = Path(path)
    if path.suffix.lower() in _JSONL_SUFFIXES:
        return "jsonl"
    return "jsonl" if first_content_line(path).lstrip().startswith("{") else "conll"


def detect_textcat_format(path: Union[str, Path]) -> str:
    """Guess a text-classification file's format from its suffix or header line.

    path (Union[str, Path]): The file.
    RETURNS (str): "jsonl", "handeset", "convote" or "semeval".
    RAISES (InputError): If the header matches none of them ("unknown_format").
    """
    path = Path(path)
    if path.suffix.lower() in _JSONL_SUFFIXES:
        return "jsonl"
    # The header is ASCII in every supported format, so sniffing it as UTF-8
    # works for the cp1252 SemEval file as well.
    head = first_content_line(path).strip()
    if head.startswith("{"):
        return "jsonl"
    cells = [cell.strip() for cell in head.split("\t")]
    if tuple(cells) == SEMEVAL_COLUMNS:
        return "semeval"
    if tuple(cells) == CONVOTE_COLUMNS:
        return "convote"
    if tuple(cell.strip() for cell in head.split(",")[:3]) == HANDESET_COLUMNS[:3]:
        return "handeset"
    raise InputError(
        "cannot tell the format from the first line; pass the format explicitly "
        "(jsonl, handeset, convote or semeval)",
        path=path,
        line=1,
        reason="unknown_format",
    )


def read_ner(
    path: Union[str, Path],
    nlp: Language,
    *,
    format: str = "auto",
    scheme: str = "auto",
    n_sents: int = 1,
    skip_invalid: bool = False,
    report: Optional[RecordReport] = None,
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Read an NER file of any supported format into Docs with entities.

    path (Union[str, Path]): The file.
    nlp (Language): Vocab and tokenizer.
    format (str): "auto", "conll" or "jsonl".
    scheme (str): CoNLL tag scheme ("auto", "iob1", "bio", "biluo").
    n_sents (int): CoNLL sentences per Doc.
    skip_invalid (bool): Skip malformed records instead of raising.
    report (Optional[RecordReport]): Where to count records.
    encoding (Optional[str]): The encoding if the file has no BOM.
    RETURNS (Iterator[Doc]): The Docs, read lazily.
    """
    path = Path(path)
    _check_format(path, format, NER_FORMATS)
    if format == "auto":
        format = detect_ner_format(path)
    if format == "jsonl":
        if scheme != "auto" or n_sents != 1:
            raise InputError(
                "scheme and n_sents apply to CoNLL files only", path=path, reason="bad_argument"
            )
        return read_jsonl_ner(path, nlp, skip_invalid=skip_invalid, report=report, encoding=encoding)
    return read_conll_ner(
        path,
        nlp.vocab,
        scheme=scheme,
        n_sents=n_sents,
        skip_invalid=skip_invalid,
        report=report,
        encoding=encoding,
    )


def read_textcat(
    path: Union[str, Path],
    nlp: Language,
    *,
    format: str = "auto",
    labels: Optional[Sequence[str]] = None,
    skip_invalid: bool = False,
    report: Optional[RecordReport] = None,
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Read a text-classification / stance file of any supported format.

    path (Union[str, Path]): The file.
    nlp (Language): Provides the tokenizer.
    format (str): "auto", "jsonl", "handeset", "convote" or "semeval".
    labels (Optional[Sequence[str]]): The label set, for JSONL only (else
        collected from the file).
    skip_invalid (bool): Skip malformed records instead of raising.
    report (Optional[RecordReport]): Where to count records.
    encoding (Optional[str]): The encoding if the file has no BOM (SemEval
        defaults to cp1252, the others to UTF-8).
    RETURNS (Iterator[Doc]): The Docs, read lazily.
    """
    path = Path(path)
    _check_format(path, format, TEXTCAT_FORMATS)
    if format == "auto":
        format = detect_textcat_format(path)
    if labels is not None and format != "jsonl":
        raise InputError(
            f"a label set can only be given for JSONL; {format} has a fixed one",
            path=path,
            reason="bad_argument",
        )
    if format == "jsonl":
        return read_textcat_jsonl(
            path, nlp, labels=labels, skip_invalid=skip_invalid, report=report, encoding=encoding
        )
    if format == "handeset":
        return read_handeset(path, nlp, skip_invalid=skip_invalid, report=report, encoding=encoding)
    if format == "convote":
        return read_convote(path, nlp, skip_invalid=skip_invalid, report=report, encoding=encoding)
    return read_semeval(
        path,
        nlp,
        skip_invalid=skip_invalid,
        report=report,
        encoding=encoding if encoding is not None else "cp1252",
    )
