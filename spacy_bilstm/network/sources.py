"""Streaming input for the network command: JSONL files or a `.spacy` DocBin.

JSONL: one JSON object per line with the text (field ``text`` unless told
otherwise) and metadata. INPUT may be one file or a directory of ``*.jsonl``
shards (read in sorted order). Lines are read as bytes, so a record is
located by file, line and byte offset; that is what checkpoints and Ray
shards use to resume and split the input without holding it in memory.
A line holding only whitespace is not a record and is passed over.

Malformed records follow the `RecordReport` policy: by default the first one
raises `InputError` (``FILE:LINE: problem``); with ``skip_invalid`` it is
skipped and counted by reason:

``invalid_utf8``, ``nul_byte`` (a NUL byte in the line or character in the
text), ``invalid_json``, ``not_object``, ``missing_text``,
``text_not_string``, ``invalid_field`` (an id, date, speaker or metadata
field that is a list or an object).

A record without an id gets ``NAME:LINE`` (NAME: the file's path relative to
INPUT), which is stable across runs, shards and backends.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from ..errors import InputError
from ..extensions import install_extensions
from .extract import META_DATE, META_ID, META_SPEAKER

JSONL_SUFFIXES = (".jsonl", ".ndjson")
_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class FieldMap:
    """Which JSONL fields hold the text and the metadata.

    text (str): The text field.
    id (str): The document id field (missing: ``NAME:LINE``).
    date (str): The date field (ISO 8601 sorts correctly).
    speaker (str): The speaker field.
    meta (Tuple[str, ...]): Further fields copied into `doc._.meta` (e.g. party).
    """

    text: str = "text"
    id: str = "id"
    date: str = "date"
    speaker: str = "speaker"
    meta: Tuple[str, ...] = ()


class Position(NamedTuple):
    """Where the next record starts: what a checkpoint stores.

    file_index (int): Index into the list of input files.
    offset (int): Byte offset in that file.
    line (int): The number of the last line read in that file (0 at its start).
    """

    file_index: int = 0
    offset: int = 0
    line: int = 0


class Record(NamedTuple):
    """One valid input record, ready for `nlp.pipe(..., as_tuples=True)`.

    text (str): The text.
    meta (Dict[str, object]): id, date, speaker and further metadata.
    after (Position): The position just after this record.
    skipped (Tuple[InputError, ...]): Malformed lines skipped since the
        previous record (counted when this record is consumed, so that a
        checkpoint's counts match its position).
    """

    text: str
    meta: Dict[str, object]
    after: Position
    skipped: Tuple[InputError, ...] = ()


def input_files(path: Union[str, Path]) -> List[Path]:
    """The JSONL files named by INPUT: the file itself, or a directory's shards.

    path (Union[str, Path]): A JSONL file or a directory of them.
    RAISES (InputError): If there is nothing to read.
    RETURNS (List[Path]): The files, sorted.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in JSONL_SUFFIXES)
        if not files:
            raise InputError("no *.jsonl files in this directory", path=path)
        return files
    if not path.exists():
        raise InputError("input not found", path=path)
    return [path]


def file_names(path: Union[str, Path], files: List[Path]) -> List[str]:
    """The names used in default ids: paths relative to INPUT (a directory),
    or the file's name (INPUT is a file)."""
    root = Path(path)
    if root.is_dir():
        return [f.relative_to(root).as_posix() for f in files]
    return [f.name for f in files]


def parse_line(
    raw: bytes, fields: FieldMap, path: Union[str, Path], line: int, name: str
) -> Tuple[str, Dict[str, object]]:
    """Parse one JSONL line into (text, meta).

    raw (bytes): The line, without its line break.
    fields (FieldMap): Where the text and metadata are.
    path (Union[str, Path]): The file, for errors.
    line (int): The line number, for errors and the default id.
    name (str): The file's name for the default id.
    RAISES (InputError): With a `reason` from the module docstring.
    RETURNS (Tuple[str, Dict[str, object]]): The text and the metadata.
    """
    if b"\x00" in raw:
        raise InputError("NUL byte in line", path=path, line=line, reason="nul_byte")
    try:
        decoded = raw.decode("utf8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"invalid UTF-8 at byte {err.start + 1} of the line", path=path, line=line, reason="invalid_utf8"
        ) from None
    try:
        record = json.loads(decoded)
    except json.JSONDecodeError as err:
        raise InputError(
            f"invalid JSON: {err.msg} (column {err.colno})", path=path, line=line, reason="invalid_json"
        ) from None
    if not isinstance(record, dict):
        raise InputError(
            f"expected a JSON object, found {type(record).__name__}",
            path=path,
            line=line,
            reason="not_object",
        )
    if fields.text not in record:
        raise InputError(f"no {fields.text!r} field", path=path, line=line, reason="missing_text")
    text = record[fields.text]
    if not isinstance(text, str):
        raise InputError(
            f"field {fields.text!r} is {type(text).__name__}, not a string",
            path=path,
            line=line,
            reason="text_not_string",
        )
    if "\x00" in text:
        raise InputError("NUL character in the text", path=path, line=line, reason="nul_byte")
    meta: Dict[str, object] = {}
    wanted = [(META_ID, fields.id), (META_DATE, fields.date), (META_SPEAKER, fields.speaker)]
    wanted += [(name_, name_) for name_ in fields.meta]
    for target, source in wanted:
        value = record.get(source)
        if value is None:
            continue
        if not isinstance(value, _SCALARS):
            raise InputError(
                f"field {source!r} must be a string or number, not {type(value).__name__}",
                path=path,
                line=line,
                reason="invalid_field",
            )
        meta[target] = value
    if META_ID not in meta or meta[META_ID] == "":
        meta[META_ID] = f"{name}:{line}"
    return text, meta


def iter_lines(
    path: Path, start: int = 0, end: Optional[int] = None, first_line: int = 1
) -> Iterator[Tuple[int, bytes, int]]:
    """Yield (line number, line without its break, offset after it) in a byte range.

    path (Path): The file.
    start (int): Offset of the first line to read (a line start).
    end (Optional[int]): Stop before this offset (a line start), or read to the end.
    first_line (int): The number of the line at `start`.
    YIELDS (Tuple[int, bytes, int]): Line number, content, next offset.
    """
    offset = start
    line = first_line - 1
    with path.open("rb") as f:
        f.seek(start)
        for raw in f:
            if end is not None and offset >= end:
                return
            offset += len(raw)
            line += 1
            yield line, raw.rstrip(b"\r\n"), offset


@dataclass
class JsonlSource:
    """Valid records from JSONL files, in order, under the record policy.

    path (Union[str, Path]): A JSONL file or a directory of shards.
    fields (FieldMap): Where the text and metadata are.
    skip_invalid (bool): Skip malformed lines (else the first one raises).
    trailing (List[InputError]): Lines skipped after the last record; read
        it once `records` is exhausted.
    """

    path: Union[str, Path]
    fields: FieldMap = FieldMap()
    skip_invalid: bool = False
    trailing: List[InputError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.files = input_files(self.path)
        self.names = file_names(self.path, self.files)

    def records(self, start: Position = Position()) -> Iterator[Record]:
        """Yield the valid records from `start` on.

        start (Position): Where to begin (a checkpoint's position).
        RAISES (InputError): On the first malformed line, unless skipping.
        YIELDS (Record): The records, with the lines skipped before each.
        """
        pending: List[InputError] = []
        for index in range(start.file_index, len(self.files)):
            path = self.files[index]
            offset, line = (start.offset, start.line) if index == start.file_index else (0, 0)
            for number, raw, after in iter_lines(path, offset, None, line + 1):
                if not raw.strip():
                    continue
                try:
                    text, meta = parse_line(raw, self.fields, path, number, self.names[index])
                except InputError as err:
                    if not self.skip_invalid:
                        raise
                    pending.append(err)
                    continue
                yield Record(text, meta, Position(index, after, number), tuple(pending))
                pending = []
        self.trailing = pending

    def count_records(self) -> int:
        """The number of non-blank lines in all files (a progress bar's total)."""
        total = 0
        for path in self.files:
            with path.open("rb") as f:
                total += sum(1 for line in f if line.strip())
        return total


def read_docbin(path: Union[str, Path], vocab: Vocab) -> Tuple[DocBin, int]:
    """Load a `.spacy` DocBin (a DocBin is read whole: that is its format).

    path (Union[str, Path]): The file.
    vocab (Vocab): The pipeline's vocab.
    RAISES (InputError): If it cannot be read.
    RETURNS (Tuple[DocBin, int]): The DocBin and the number of Docs in it.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("input not found", path=path)
    try:
        docbin = DocBin(store_user_data=True).from_disk(path)
    except Exception as err:  # msgpack, zlib and spaCy all raise their own types
        raise InputError(f"not a readable .spacy DocBin ({type(err).__name__}: {err})", path=path) from None
    return docbin, len(docbin)


def iter_docbin(
    path: Union[str, Path],
    vocab: Vocab,
    fields: FieldMap = FieldMap(),
    start: int = 0,
    docbin: Optional[DocBin] = None,
) -> Iterator[Tuple[Doc, Dict[str, object], int]]:
    """Yield (Doc, meta, number) from a DocBin, from Doc number `start` on.

    Metadata comes from `doc._.meta` (saved with the DocBin's user data),
    read through `fields`; a Doc without an id gets ``NAME:NUMBER`` (1-based).

    path (Union[str, Path]): The file.
    vocab (Vocab): The pipeline's vocab.
    fields (FieldMap): Which `doc._.meta` keys hold id, date, speaker, metadata.
    start (int): How many Docs to pass over (a checkpoint's position).
    docbin (Optional[DocBin]): The DocBin, if already loaded from `path`.
    YIELDS (Tuple[Doc, Dict[str, object], int]): The Doc, its metadata, its number.
    """
    install_extensions()
    path = Path(path)
    if docbin is None:
        docbin, _ = read_docbin(path, vocab)
    for number, doc in enumerate(docbin.get_docs(vocab), start=1):
        if number <= start:
            continue
        source = doc._.meta or {}
        meta: Dict[str, object] = {}
        for target, key in [(META_ID, fields.id), (META_DATE, fields.date), (META_SPEAKER, fields.speaker)]:
            if isinstance(source.get(key), _SCALARS):
                meta[target] = source[key]
        for key in fields.meta:
            if isinstance(source.get(key), _SCALARS):
                meta[key] = source[key]
        meta.setdefault(META_ID, f"{path.name}:{number}")
        yield doc, meta, number
