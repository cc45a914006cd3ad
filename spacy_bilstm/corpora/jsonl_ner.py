"""NER as JSON Lines with character-offset spans.

One object per line::

    {"text": "Angela Merkel visited Paris.",
     "spans": [{"start": 0, "end": 13, "label": "PER"}, [22, 27, "LOC"]],
     "meta": {"id": 7}}

``"entities"`` may be used instead of ``"spans"``; each span is an object
with start/end/label or a ``[start, end, label]`` list. Offsets count Python
characters (code points), end exclusive. A record without spans has no
entities (every token is O). ``"tokens": [...]`` gives a pre-tokenised text;
the tokens must spell out the text (whitespace between them is allowed).
"""
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import get_words_and_spaces

from ..errors import InputError
from ..extensions import install_extensions
from ..records import RecordReport, new_report
from .jsonl import is_int, iter_jsonl, json_type, record_meta


def _text(record: Dict[str, Any], path: Path, line: int) -> str:
    if "text" not in record:
        raise InputError("missing 'text'", path=path, line=line, reason="missing_text")
    text = record["text"]
    if not isinstance(text, str):
        raise InputError(
            f"'text' must be a string, got {json_type(text)}", path=path, line=line, reason="bad_text"
        )
    if not text.strip():
        raise InputError("'text' is empty", path=path, line=line, reason="empty_text")
    return text


def _raw_spans(record: Dict[str, Any], path: Path, line: int) -> List[Any]:
    keys = [key for key in ("spans", "entities") if key in record]
    if len(keys) == 2:
        raise InputError(
            "both 'spans' and 'entities' given; use one", path=path, line=line, reason="bad_spans"
        )
    if not keys:
        return []
    spans = record[keys[0]]
    if spans is None:
        return []
    if not isinstance(spans, list):
        raise InputError(
            f"'{keys[0]}' must be an array, got {json_type(spans)}",
            path=path,
            line=line,
            reason="bad_spans",
        )
    return spans


def _parse_spans(
    record: Dict[str, Any], text: str, path: Path, line: int
) -> List[Tuple[int, int, str]]:
    spans: List[Tuple[int, int, str]] = []
    for i, raw in enumerate(_raw_spans(record, path, line), start=1):
        if isinstance(raw, dict) and {"start", "end", "label"} <= raw.keys():
            start, end, label = raw["start"], raw["end"], raw["label"]
        elif isinstance(raw, list) and len(raw) == 3:
            start, end, label = raw
        else:
            raise InputError(
                f"span {i} must be {{\"start\", \"end\", \"label\"}} or [start, end, label]",
                path=path,
                line=line,
                reason="bad_span",
            )
        if not is_int(start) or not is_int(end):
            raise InputError(
                f"span {i}: start and end must be integers", path=path, line=line, reason="bad_span"
            )
        if not isinstance(label, str) or not label.strip() or label != label.strip():
            raise InputError(
                f"span {i}: label must be a non-empty string without surrounding spaces, "
                f"got {label!r}",
                path=path,
                line=line,
                reason="bad_label",
            )
        if start < 0 or end > len(text):
            raise InputError(
                f"span {i} [{start}, {end}) lies outside the text (length {len(text)})",
                path=path,
                line=line,
                reason="offset_out_of_range",
            )
        if end <= start:
            raise InputError(
                f"span {i} [{start}, {end}) is empty or reversed (end must be > start)",
                path=path,
                line=line,
                reason="empty_span",
            )
        spans.append((start, end, label))
    spans.sort()
    for (s1, e1, l1), (s2, e2, l2) in zip(spans, spans[1:]):
        if s2 < e1:
            raise InputError(
                f"spans [{s1}, {e1}) {l1} and [{s2}, {e2}) {l2} overlap",
                path=path,
                line=line,
                reason="overlapping_spans",
            )
    return spans


def _make_doc(nlp: Language, record: Dict[str, Any], text: str, path: Path, line: int) -> Doc:
    if "tokens" not in record or record["tokens"] is None:
        # nlp.make_doc refuses texts over nlp.max_length, a guard for the
        # memory of parser and NER; a reader must keep long documents.
        return nlp.tokenizer(text)
    tokens = record["tokens"]
    if (
        not isinstance(tokens, list)
        or not tokens
        or not all(isinstance(t, str) and t for t in tokens)
    ):
        raise InputError(
            "'tokens' must be a non-empty array of non-empty strings",
            path=path,
            line=line,
            reason="bad_tokens",
        )
    try:
        words, spaces = get_words_and_spaces(tokens, text)
    except ValueError:
        raise InputError(
            "'tokens' do not spell out 'text'", path=path, line=line, reason="tokens_mismatch"
        ) from None
    return Doc(nlp.vocab, words=words, spaces=spaces)


def parse_ner_record(record: Dict[str, Any], nlp: Language, path: Path, line: int) -> Doc:
    """Turn one parsed JSONL record into a Doc with entities.

    record (Dict[str, Any]): The parsed JSON object.
    nlp (Language): Its tokenizer splits the text (unless "tokens" is given).
    path (Path): The file, for errors.
    line (int): The record's line, for errors.
    RETURNS (Doc): With `ents` and `_.meta`.
    RAISES (InputError): If the record is malformed.
    """
    text = _text(record, path, line)
    spans = _parse_spans(record, text, path, line)
    meta = record_meta(record, path, line)
    doc = _make_doc(nlp, record, text, path, line)
    ents = []
    for start, end, label in spans:
        span = doc.char_span(start, end, label=label, alignment_mode="strict")
        if span is None:
            raise InputError(
                f"span [{start}, {end}) {label} {text[start:end]!r} does not start and end "
                "on token boundaries",
                path=path,
                line=line,
                reason="misaligned_span",
            )
        ents.append(span)
    doc.ents = ents
    doc._.meta = meta
    return doc


def read_jsonl_ner(
    path: Union[str, Path],
    nlp: Language,
    *,
    skip_invalid: bool = False,
    report: Optional[RecordReport] = None,
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Read NER JSONL (text + character-offset spans) into Docs.

    path (Union[str, Path]): The file.
    nlp (Language): Provides the vocab and the tokenizer.
    skip_invalid (bool): Skip malformed records instead of raising.
    report (Optional[RecordReport]): Where to count records.
    encoding (Optional[str]): The encoding if the file has no BOM (default UTF-8).
    YIELDS (Doc): Docs with `ents` and `_.meta` (the record's meta plus
        "source" and "line").
    RAISES (InputError): For the first malformed record unless skipping, and
        for missing or empty files.
    """
    path = Path(path)
    install_extensions()
    report = new_report(skip_invalid, report)
    for line, record in iter_jsonl(path, encoding):
        report.read += 1
        try:
            if isinstance(record, InputError):
                raise record
            doc = parse_ner_record(record, nlp, path, line)
        except InputError as err:
            report.invalid(err)
            continue
        report.used += 1
        yield doc
