"""CoNLL-style NER files (one token per line, the tag in the last column).

The format: the token in the first column and the entity tag in the last.
If the file's first token line has a tab, columns are tab-separated (tokens
may then contain spaces); otherwise runs of spaces or tabs separate them.
Every token line must have as many columns as the first one. A blank line
ends a sentence; a line whose first column is ``-DOCSTART-`` starts a new
document. The tag scheme (IOB1, BIO/IOB2 or
BILUO/BIOES) is detected per file unless given.

IOB1 and BIO give the same spans wherever both are valid: ``B-X`` always
starts an entity and ``I-X`` after ``B-X``/``I-X`` continues it. They differ
only for ``I-X`` after ``O`` or another type, which starts an entity in IOB1
and is an error in BIO. `detect_scheme` therefore only has to decide whether
such an ``I-X`` is an entity start or a mistake; see its docstring.

A record is a sentence: a sentence with a malformed line (bad tag, wrong
column count, bad bytes, an ``I-X`` without ``B-X`` in BIO) is raised or, with
``skip_invalid``, skipped whole and counted.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..errors import InputError
from ..extensions import install_extensions
from ..records import RecordReport, new_report
from .decoding import iter_lines

SCHEMES = ("auto", "iob1", "bio", "biluo")
DOCSTART = "-DOCSTART-"
OUT = "O"

# A label is non-empty, has no whitespace and neither starts nor ends with a
# hyphen, so "B-", "B-PER-" and "B--PER" are rejected; "B-creative-work" is fine.
_TAG = re.compile(r"^([BIELSU])-([^\s-](?:\S*[^\s-])?)$")
# BIOES spells BILUO's L and U as E and S.
_BIOES_ALIASES = {"E": "L", "S": "U"}
_BILUO_ONLY = frozenset("LUES")
# Only spaces and tabs separate columns: a token may hold other whitespace
# (e.g. a no-break space), which str.split() would cut.
_SPACES = re.compile("[ \t]+")


class TagSequenceError(ValueError):
    """A tag sequence that cannot be turned into entity spans.

    index (int): The position of the offending tag.
    reason (str): "bad_tag", "i_without_b" or "unclosed_entity".
    """

    def __init__(self, message: str, index: int, reason: str) -> None:
        super().__init__(message)
        self.index = index
        self.reason = reason


def parse_tag(tag: str) -> Tuple[str, str]:
    """Split a tag into its prefix and label, checking its form.

    tag (str): E.g. "O", "B-PER", "I-creative-work", "S-LOC".
    RETURNS (Tuple[str, str]): ("O", "") or (prefix, label).
    RAISES (ValueError): If the tag is not "O" or PREFIX-LABEL.
    """
    if tag == OUT:
        return OUT, ""
    match = _TAG.match(tag)
    if match is None:
        raise ValueError(f"bad tag '{tag}' (expected O or B-/I-/L-/U-/E-/S- followed by a label)")
    return match.group(1), match.group(2)


@dataclass
class SchemeEvidence:
    """What a file's tags say about their scheme (see `detect_scheme`)."""

    biluo_prefix: bool = False
    i_starts: int = 0
    b_starts: int = 0

    def add(self, tags: Sequence[str]) -> None:
        """Record the evidence of one sentence's tags (malformed tags are ignored)."""
        prev_label: Optional[str] = None
        for tag in tags:
            try:
                prefix, label = parse_tag(tag)
            except ValueError:
                prev_label = None
                continue
            if prefix in _BILUO_ONLY:
                self.biluo_prefix = True
            if prefix == "I" and prev_label != label:
                self.i_starts += 1
            elif prefix == "B" and prev_label != label:
                self.b_starts += 1
            prev_label = label if prefix != OUT else None


def detect_scheme(evidence: SchemeEvidence) -> str:
    """Decide a file's tag scheme.

    * Any L-/U-/E-/S- tag: "biluo" (BIOES is read as BILUO).
    * Otherwise compare the two kinds of entity start that only one scheme
      allows: an I-X after O, at a sentence start or after another type
      (IOB1 only) and a B-X in such a place (BIO only: IOB1 uses B-X just
      between two adjacent entities of the same type). Real files have a few
      annotation errors of either kind (CoNLL-2003 eng.train: 23,427 of the
      first, 2 of the second), so the majority decides: more I-X starts ->
      "iob1", else "bio". A tie (including none of either) is "bio", the
      stricter reading, under which a stray I-X is reported ("i_without_b")
      instead of silently starting an entity; pass ``scheme="iob1"`` to read
      such a file leniently.

    evidence (SchemeEvidence): Collected over the whole file.
    RETURNS (str): "iob1", "bio" or "biluo".
    """
    if evidence.biluo_prefix:
        return "biluo"
    if evidence.i_starts > evidence.b_starts:
        return "iob1"
    return "bio"


def decode_tags(tags: Sequence[str], scheme: str) -> List[Tuple[int, int, str]]:
    """Turn one sentence's tags into entity spans.

    tags (Sequence[str]): One tag per token.
    scheme (str): "iob1", "bio" or "biluo" (E-/S- are accepted as L-/U-).
    RETURNS (List[Tuple[int, int, str]]): (start, end, label) token spans.
    RAISES (TagSequenceError): With the index of the first bad tag.
    """
    if scheme not in ("iob1", "bio", "biluo"):
        raise ValueError(f"unknown tag scheme '{scheme}'")
    spans: List[Tuple[int, int, str]] = []
    open_start: Optional[int] = None
    open_label = ""
    for i, tag in enumerate(tags):
        try:
            prefix, label = parse_tag(tag)
        except ValueError as err:
            raise TagSequenceError(str(err), i, "bad_tag") from None
        if scheme != "biluo" and prefix in _BILUO_ONLY:
            raise TagSequenceError(
                f"bad tag '{tag}': prefix {prefix}- is not part of the {scheme.upper()} scheme",
                i,
                "bad_tag",
            )
        prefix = _BIOES_ALIASES.get(prefix, prefix)
        if scheme == "biluo":
            if prefix in (OUT, "B", "U") and open_start is not None:
                raise TagSequenceError(
                    f"entity {open_label} starting at token {open_start + 1} is not closed "
                    f"with L-{open_label} before '{tag}'",
                    i,
                    "unclosed_entity",
                )
            if prefix == "B":
                open_start, open_label = i, label
            elif prefix == "U":
                spans.append((i, i + 1, label))
            elif prefix in ("I", "L"):
                if open_start is None or open_label != label:
                    raise TagSequenceError(
                        f"'{tag}' does not continue a B-{label} or I-{label}", i, "i_without_b"
                    )
                if prefix == "L":
                    spans.append((open_start, i + 1, label))
                    open_start = None
            continue
        if prefix == OUT:
            if open_start is not None:
                spans.append((open_start, i, open_label))
            open_start = None
        elif prefix == "B" or open_start is None or open_label != label:
            if prefix == "I" and scheme == "bio":
                raise TagSequenceError(
                    f"'{tag}' does not follow B-{label} or I-{label} (invalid in BIO; "
                    "use scheme 'iob1' if I- may start an entity)",
                    i,
                    "i_without_b",
                )
            if open_start is not None:
                spans.append((open_start, i, open_label))
            open_start, open_label = i, label
    if open_start is not None:
        if scheme == "biluo":
            raise TagSequenceError(
                f"entity {open_label} starting at token {open_start + 1} is not closed with "
                f"L-{open_label} at the end of the sentence",
                open_start,
                "unclosed_entity",
            )
        spans.append((open_start, len(tags), open_label))
    return spans


@dataclass
class _Sentence:
    """The raw rows of one sentence and the first problem found in them."""

    doc_index: int
    lines: List[int] = field(default_factory=list)
    words: List[str] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)
    error: Optional[InputError] = None


class _Columns:
    """The file's column layout, fixed by its first token line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tab: Optional[bool] = None
        self.count: Optional[int] = None

    def split(self, text: str, number: int) -> Tuple[List[str], Optional[InputError]]:
        if self.tab is None:
            self.tab = "\t" in text
        if self.tab:
            columns = text.split("\t")
            columns[-1] = columns[-1].rstrip()
        else:
            columns = _SPACES.split(text.strip(" \t"))
        if self.count is None:
            self.count = len(columns)
        if len(columns) != self.count or len(columns) < 2:
            sep = "tab" if self.tab else "space"
            expected = max(self.count, 2)
            return columns, InputError(
                f"{len(columns)} {sep}-separated column(s), expected {expected} "
                "(as on the file's first token line; the tag is the last column)",
                path=self.path,
                line=number,
                reason="column_count",
            )
        if not columns[0]:
            return columns, InputError(
                "empty token in the first column", path=self.path, line=number, reason="empty_token"
            )
        return columns, None


def _iter_sentences(path: Path, encoding: Optional[str]) -> Iterator[_Sentence]:
    """Group a file's lines into sentences, noting each sentence's first problem."""
    columns = _Columns(path)
    doc_index = -1
    sentence: Optional[_Sentence] = None
    for line in iter_lines(path, encoding):
        text = line.text
        if line.error is None and not text.strip():
            if sentence is not None:
                yield sentence
            sentence = None
            continue
        if line.error is None and text.split(None, 1)[0] == DOCSTART:
            if sentence is not None:
                yield sentence
            sentence = None
            doc_index += 1
            continue
        if sentence is None:
            doc_index = max(doc_index, 0)
            sentence = _Sentence(doc_index)
        sentence.lines.append(line.number)
        if line.error is not None:
            sentence.words.append("")
            sentence.tags.append(OUT)
            sentence.error = sentence.error or line.error
            continue
        row, error = columns.split(text, line.number)
        sentence.words.append(row[0] if row else "")
        sentence.tags.append(row[-1] if len(row) >= 2 else OUT)
        if error is not None and sentence.error is None:
            sentence.error = error
    if sentence is not None:
        yield sentence


def read_conll_evidence(path: Union[str, Path], encoding: Optional[str] = None) -> SchemeEvidence:
    """Scan a CoNLL file once and collect the evidence for its tag scheme.

    path (Union[str, Path]): The file.
    encoding (Optional[str]): As for `iter_lines`.
    RETURNS (SchemeEvidence): The evidence over all well-formed sentences.
    """
    evidence = SchemeEvidence()
    for sentence in _iter_sentences(Path(path), encoding):
        if sentence.error is None:
            evidence.add(sentence.tags)
    return evidence


def _check_options(path: Path, scheme: str, n_sents: int) -> None:
    if scheme not in SCHEMES:
        raise InputError(
            f"unknown tag scheme '{scheme}' (choose from {', '.join(SCHEMES)})",
            path=path,
            reason="bad_argument",
        )
    if n_sents < 1:
        raise InputError(f"n_sents must be at least 1, not {n_sents}", path=path, reason="bad_argument")


def _make_doc(
    vocab: Vocab,
    sentences: Sequence[Tuple[_Sentence, List[Tuple[int, int, str]]]],
    path: Path,
    set_sent_starts: bool,
) -> Doc:
    words: List[str] = []
    sent_starts: List[bool] = []
    spans: List[Tuple[int, int, str]] = []
    for sentence, sentence_spans in sentences:
        offset = len(words)
        words.extend(sentence.words)
        sent_starts.extend([True] + [False] * (len(sentence.words) - 1))
        spans.extend((offset + start, offset + end, label) for start, end, label in sentence_spans)
    doc = Doc(vocab, words=words, sent_starts=sent_starts if set_sent_starts else None)
    doc.ents = [Span(doc, start, end, label=label) for start, end, label in spans]
    first = sentences[0][0]
    doc._.meta = {"source": str(path), "doc": first.doc_index, "line": first.lines[0]}
    return doc


def read_conll_ner(
    path: Union[str, Path],
    vocab: Vocab,
    *,
    scheme: str = "auto",
    n_sents: int = 1,
    skip_invalid: bool = False,
    report: Optional[RecordReport] = None,
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Read a CoNLL-style NER file into Docs with `doc.ents` set.

    With ``scheme="auto"`` the file is read twice: once to detect the scheme
    (only tags are kept), once to convert. Records are sentences.

    path (Union[str, Path]): The file.
    vocab (Vocab): The vocab for the Docs.
    scheme (str): "auto", "iob1", "bio" or "biluo" (BIOES is read as BILUO).
    n_sents (int): Sentences per Doc. Docs never cross a -DOCSTART- line;
        with n_sents > 1 the sentence starts are set.
    skip_invalid (bool): Skip malformed sentences instead of raising.
    report (Optional[RecordReport]): Where to count sentences read, used and
        skipped; a new one (with `skip_invalid`) if None.
    encoding (Optional[str]): The encoding if the file has no BOM (default UTF-8).
    YIELDS (Doc): Docs with `ents` and ``doc._.meta = {"source", "doc", "line"}``
        (the 0-based -DOCSTART- document index and the first line).
    RAISES (InputError): For the first malformed sentence unless skipping,
        and for files that are missing, empty or hold no sentence.
    """
    path = Path(path)
    install_extensions()
    _check_options(path, scheme, n_sents)
    report = new_report(skip_invalid, report)
    if scheme == "auto":
        scheme = detect_scheme(read_conll_evidence(path, encoding))
    group: List[Tuple[_Sentence, List[Tuple[int, int, str]]]] = []
    n_read = 0
    for sentence in _iter_sentences(path, encoding):
        n_read += 1
        report.read += 1
        if group and group[0][0].doc_index != sentence.doc_index:
            yield _make_doc(vocab, group, path, n_sents > 1)
            group = []
        error = sentence.error
        spans: List[Tuple[int, int, str]] = []
        if error is None:
            try:
                spans = decode_tags(sentence.tags, scheme)
            except TagSequenceError as err:
                error = InputError(
                    f"{err} (tag scheme {scheme.upper()})",
                    path=path,
                    line=sentence.lines[err.index],
                    reason=err.reason,
                )
        if error is not None:
            report.invalid(error)
            continue
        report.used += 1
        group.append((sentence, spans))
        if len(group) == n_sents:
            yield _make_doc(vocab, group, path, n_sents > 1)
            group = []
    if group:
        yield _make_doc(vocab, group, path, n_sents > 1)
    if n_read == 0:
        raise InputError("no sentences (only -DOCSTART- lines?)", path=path, reason="no_records")

