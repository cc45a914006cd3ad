"""Text-classification and stance sources: generic JSONL, HanDeSeT, ConVote, SemEval-2016.

Every reader yields Docs with ``doc.cats`` (1.0 for the gold label(s), 0.0 for
every other label of the source's label set), ``doc._.stance_target`` (the
motion, bill or topic the stance is towards, or None) and ``doc._.meta`` (the
record's metadata plus "source", "line" and "group"). ``meta["group"]`` names
the unit a train/dev split must keep whole (a debate); SemEval has no such
unit and instead sets ``meta["stratum"]`` (target and label) for a stratified
split, see `spacy_bilstm.corpora.splits.split_docs`.

Records are tokenised with ``nlp.tokenizer`` (what ``nlp.make_doc`` does,
without its ``max_length`` guard, which protects the parser's memory and
would make a reader drop long speeches).
"""
import csv
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc

from ..errors import InputError
from ..extensions import install_extensions
from ..records import RecordReport, new_report
from .decoding import iter_lines
from .jsonl import iter_jsonl, json_type, record_meta

SUPPORT = "support"
OPPOSE = "oppose"
STANCE_LABELS = (OPPOSE, SUPPORT)
SEMEVAL_LABELS = ("AGAINST", "FAVOR", "NONE")

HANDESET_COLUMNS = (
    "id",
    "title",
    "motion",
    "manual motion",
    "govt/opp motion",
    "motion party affiliation",
    "utt1",
    "utt2",
    "utt3",
    "utt4",
    "utt5",
    "manual speech",
    "vote speech",
    "party affiliation",
    "name",
    "rebellion %",
)
# Debates 76 and 129 are the same debate stored under two titles, with 8
# speeches in both (see shared/data/README.md): they must share a split.
HANDESET_MERGED_GROUPS = {"76": "76+129", "129": "76+129"}
CONVOTE_COLUMNS = ("split", "file", "bill", "speaker", "page", "position", "party", "mention", "vote", "text")
SEMEVAL_COLUMNS = ("ID", "Target", "Tweet", "Stance")

# Python's csv module refuses fields over 128 KiB by default; a speech may be
# longer. 2**31 - 1 is the largest value every platform's C long accepts.
_CSV_FIELD_LIMIT = 2**31 - 1


def make_textcat_doc(
    nlp: Language,
    text: str,
    gold: Sequence[str],
    labels: Sequence[str],
    target: Optional[str],
    meta: Dict[str, Any],
) -> Doc:
    """Build one labelled Doc.

    nlp (Language): Its tokenizer splits the text.
    text (str): The document text.
    gold (Sequence[str]): The gold label(s), all in `labels`.
    labels (Sequence[str]): The source's whole label set.
    target (Optional[str]): The stance target, or None.
    meta (Dict[str, Any]): Stored as ``doc._.meta``.
    RETURNS (Doc): With `cats`, `_.stance_target` and `_.meta`.
    """
    install_extensions()
    doc = nlp.tokenizer(text)
    gold_set = set(gold)
    doc.cats = {label: 1.0 if label in gold_set else 0.0 for label in labels}
    doc._.stance_target = target
    doc._.meta = meta
    return doc


def _reject(message: str, path: Path, line: int, reason: str) -> InputError:
    return InputError(message, path=path, line=line, reason=reason)


# --- generic JSONL -----------------------------------------------------------


def _jsonl_gold(record: Dict[str, Any], path: Path, line: int) -> List[str]:
    if "label" in record and "labels" in record:
        raise _reject("both 'label' and 'labels' given; use one", path, line, "bad_label")
    if "label" in record:
        raw = [record["label"]]
    elif "labels" in record:
        raw = record["labels"]
        if not isinstance(raw, list):
            raise _reject(
                f"'labels' must be an array of strings, got {json_type(raw)}", path, line, "bad_label"
            )
    else:
        raise _reject("missing 'label' (or 'labels')", path, line, "missing_label")
    for label in raw:
        if not isinstance(label, str) or not label.strip() or label != label.strip():
            raise _reject(
                f"a label must be a non-empty string without surrounding spaces, got {label!r}",
                path,
                line,
                "bad_label",
            )
    return sorted(set(raw))


def _jsonl_text(record: Dict[str, Any], path: Path, line: int) -> str:
    if "text" not in record:
        raise _reject("missing 'text'", path, line, "missing_text")
    text = record["text"]
    if not isinstance(text, str):
        raise _reject(f"'text' must be a string, got {json_type(text)}", path, line, "bad_text")
    if not text.strip():
        raise _reject("'text' is empty", path, line, "empty_text")
    return text


def _jsonl_target(record: Dict[str, Any], path: Path, line: int) -> Optional[str]:
    target = record.get("target")
    if target is None:
        return None
    if not isinstance(target, str):
        raise _reject(f"'target' must be a string, got {json_type(target)}", path, line, "bad_target")
    return target.strip() or None


def collect_jsonl_labels(path: Union[str, Path], encoding: Optional[str] = None) -> List[str]:
    """The label set of a text-classification JSONL file (first pass).

    Labels are taken from every record whose "label"/"labels" field is well
    formed, whatever else is wrong with it, so the label set does not depend
    on `skip_invalid`.

    path (Union[str, Path]): The file.
    encoding (Optional[str]): As for `iter_lines`.
    RETURNS (List[str]): The sorted labels.
    """
    path = Path(path)
    labels: Set[str] = set()
    for line, record in iter_jsonl(path, encoding):
        if isinstance(record, InputError):
            continue
        try:
            labels.update(_jsonl_gold(record, path, line))
        except InputError:
            continue
    return sorted(labels)


def read_textcat_jsonl(
    path: Union[str, Path],
    nlp: Language,
    *,
    labels: Optional[Sequence[str]] = None,
    skip_invalid: bool = False,
    report: Optional[RecordReport] = None,
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Read text-classification JSONL into Docs with `cats`.

    Each line: ``{"text": str, "label": str}`` or ``{"text": str, "labels":
    [str, ...]}`` (multi-label), optional ``"target": str`` and ``"meta": {...}``.

    labels (Optional[Sequence[str]]): The label set. If None the file is read
        twice: first to collect the labels of all records, then to build the
        Docs. If given, a gold label outside it is malformed ("unknown_label").
    path (Union[str, Path]): The file.
    nlp (Language): Provides the tokenizer.
    skip_invalid (bool): Skip malformed records instead of raising.
    report (Optional[RecordReport]): Where to count records.
    encoding (Optional[str]): The encoding if the file has no BOM (default UTF-8).
    YIELDS (Doc): With `cats` over the label set, `_.stance_target`, `_.meta`.
    RAISES (InputError): For the first malformed record unless skipping.
    """
    path = Path(path)
    report = new_report(skip_invalid, report)
    label_set = list(labels) if labels is not None else collect_jsonl_labels(path, encoding)
    known = set(label_set)
    for line, record in iter_jsonl(path, encoding):
        report.read += 1
        try:
            if isinstance(record, InputError):
                raise record
            text = _jsonl_text(record, path, line)
            gold = _jsonl_gold(record, path, line)
            unknown = [label for label in gold if label not in known]
            if unknown:
                raise _reject(
                    f"label {unknown[0]!r} is not in the label set {sorted(known)}",
                    path,
                    line,
                    "unknown_label",
                )
            target = _jsonl_target(record, path, line)
            meta = record_meta(record, path, line)
        except InputError as err:
            report.invalid(err)
            continue
        report.used += 1
        yield make_textcat_doc(nlp, text, gold, label_set, target, meta)


# --- delimited files -----------------------------------------------------------


def iter_csv_rows(
    path: Union[str, Path], encoding: Optional[str] = None, **fmtparams: Any
) -> Iterator[Tuple[int, List[str], Optional[InputError]]]:
    """Stream the rows of a CSV file with the csv module, numbered by physical line.

    Cells may hold line breaks (quoted), so a row can span several lines; a
    row is malformed if any of its lines had bad bytes or a NUL.

    path (Union[str, Path]): The file.
    encoding (Optional[str]): As for `iter_lines`.
    fmtparams: Passed to `csv.reader` (delimiter, quoting ...).
    YIELDS (Tuple[int, List[str], Optional[InputError]]): (first line of the
        row, its cells, the problem or None); blank lines are not rows.
    RAISES (InputError): If the csv module itself fails ("csv_error"). The
        read cannot be resynchronised after that, so this is raised even
        when skipping.
    """
    path = Path(path)
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    bad: List[InputError] = []
    position = {"line": 0}

    def texts() -> Iterator[str]:
        for line in iter_lines(path, encoding, keep_ends=True):
            position["line"] = line.number
            if line.error is not None:
                bad.append(line.error)
            yield line.text

    reader = csv.reader(texts(), **fmtparams)
    end = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise InputError(
                f"CSV error: {err}", path=path, line=position["line"], reason="csv_error"
            ) from None
        start, end = end + 1, position["line"]
        error = bad[0] if bad else None
        bad.clear()
        if not row and error is None:
            continue
        yield start, row, error


def _iter_table(
    path: Path,
    rows: Iterator[Tuple[int, List[str], Optional[InputError]]],
    required: Sequence[str],
    report: RecordReport,
) -> Iterator[Tuple[int, Dict[str, str]]]:
    """Check the header, then yield each well-formed row as a dict (counting all)."""
    header: Optional[List[str]] = None
    n_records = 0
    for line, row, error in rows:
        if header is None:
            header = [cell.strip() for cell in row]
            missing = [name for name in required if name not in header]
            if error is not None or missing:
                raise InputError(
                    f"header lacks column(s) {missing or list(required)}; expected {', '.join(required)}",
                    path=path,
                    line=line,
                    reason="bad_header",
                )
            continue
        report.read += 1
        n_records += 1
        if error is None and len(row) != len(header):
            error = _reject(
                f"{len(row)} columns, expected {len(header)} as in the header",
                path,
                line,
                "column_count",
            )
        if error is not None:
            report.invalid(error)
            continue
        yield line, dict(zip(header, row))
    if n_records == 0:
        raise InputError("no records after the header", path=path, reason="no_records")


def iter_tsv_rows(
    path: Union[str, Path], encoding: Optional[str] = None
) -> Iterator[Tuple[int, List[str], Optional[InputError]]]:
    """Stream the rows of a tab-separated file without quoting (one row per line).

    path (Union[str, Path]): The file.
    encoding (Optional[str]): As for `iter_lines`.
    YIELDS (Tuple[int, List[str], Optional[InputError]]): (line, cells, problem).
    """
    for line in iter_lines(path, encoding):
        if line.error is None and not line.text.strip():
            continue
        yield line.number, line.text.split("\t"), line.error


def _binary_label(value: str, path: Path, line: int, column: str) -> str:
    value = value.strip()
    if value == "1":
        return SUPPORT
    if value == "0":
        return OPPOSE
    raise _reject(f"'{column}' must be 1 or 0, got {value!r}", path, line, "bad_label")


def _int_field(row: Dict[str, str], column: str, path: Path, line: int) -> int:
    value = row[column].strip()
    if value not in ("0", "1"):
        raise _reject(f"'{column}' must be 1 or 0, got {value!r}", path, line, "bad_field")
    return int(value)


def _float_field(row: Dict[str, str], column: str, path: Path, line: int) -> float:
    value = row[column].strip()
    try:
        return float(value)
    except ValueError:
        raise _reject(f"'{column}' must be a number, got {value!r}", path, line, "bad_field") from None


def _cell_text(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


# --- HanDeSeT ---------------------------------------------------------------------


def read_handeset(
    path: Union[str, Path],
    nlp: Language,
    *,
    label_column: str = "manual speech",
    skip_invalid: bool = False,
    report: Optional[RecordReport] = None,
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Read HanDeSeT (Abercrombie & Batista-Navarro 2018) speeches.

    Text: the non-empty utterances utt1..utt5 (stripped) joined by "\\n".
    Target: the motion. Label: `label_column` 1 -> "support", 0 -> "oppose".
    Meta: debate_id, title, party, speaker, vote_speech, manual_motion,
    govt_opp_motion (0/1), rebellion (float, %), and group = the debate id,
    except that debates 76 and 129 (one debate stored twice) share "76+129".

    path (Union[str, Path]): HanDeSeT.csv.
    nlp (Language): Provides the tokenizer.
    label_column (str): "manual speech" (default) or "vote speech".
    skip_invalid (bool): Skip malformed records instead of raising.
    report (Optional[RecordReport]): Where to count records.
    encoding (Optional[str]): Default UTF-8.
    YIELDS (Doc): One per speech.
    """
    path = Path(path)
    if label_column not in ("manual speech", "vote speech"):
        raise InputError(
            f"label_column must be 'manual speech' or 'vote speech', not {label_column!r}",
            path=path,
            reason="bad_argument",
        )
    report = new_report(skip_invalid, report)
    rows = iter_csv_rows(path, encoding)
    for line, row in _iter_table(path, rows, HANDESET_COLUMNS, report):
        try:
            utterances = [_cell_text(row[f"utt{i}"]) for i in range(1, 6)]
            text = "\n".join(u for u in utterances if u)
            if not text:
                raise _reject("all utterances utt1..utt5 are empty", path, line, "empty_text")
            label = _binary_label(row[label_column], path, line, label_column)
            debate = row["id"].strip()
            if not debate:
                raise _reject("empty debate 'id'", path, line, "bad_field")
            meta: Dict[str, Any] = {
                "source": str(path),
                "line": line,
                "debate_id": debate,
                "group": HANDESET_MERGED_GROUPS.get(debate, debate),
                "title": _cell_text(row["title"]),
                "party": row["party affiliation"].strip(),
                "speaker": row["name"].strip(),
                "vote_speech": _int_field(row, "vote speech", path, line),
                "manual_motion": _int_field(row, "manual motion", path, line),
                "govt_opp_motion": _int_field(row, "govt/opp motion", path, line),
                "rebellion": _float_field(row, "rebellion %", path, line),
            }
            target = _cell_text(row["motion"]) or None
        except InputError as err:
            report.invalid(err)
            continue
        report.used += 1
        yield make_textcat_doc(nlp, text, [label], STANCE_LABELS, target, meta)


# --- ConVote ----------------------------------------------------------------------


def read_convote(
    path: Union[str, Path],
    nlp: Language,
    *,
    skip_invalid: bool = False,
    report: Optional[RecordReport] = None,
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Read the ConVote stage-three TSV (Thomas, Pang & Lee 2006).

    Label: `vote` Y -> "support", N -> "oppose". Target: None (the bill text is
    not in the corpus). Meta: bill (also the group), speaker, party, file,
    mention, split.

    path (Union[str, Path]): convote_stage3.tsv.
    nlp (Language): Provides the tokenizer.
    skip_invalid (bool): Skip malformed records instead of raising.
    report (Optional[RecordReport]): Where to count records.
    encoding (Optional[str]): Default UTF-8.
    YIELDS (Doc): One per speech segment.
    """
    path = Path(path)
    report = new_report(skip_invalid, report)
    rows = iter_tsv_rows(path, encoding)
    for line, row in _iter_table(path, rows, CONVOTE_COLUMNS, report):
        try:
            vote = row["vote"].strip()
            if vote not in ("Y", "N"):
                raise _reject(f"'vote' must be Y or N, got {vote!r}", path, line, "bad_label")
            text = row["text"]
            if not text.strip():
                raise _reject("empty 'text'", path, line, "empty_text")
            bill = row["bill"].strip()
            if not bill:
                raise _reject("empty 'bill'", path, line, "bad_field")
            meta: Dict[str, Any] = {
                "source": str(path),
                "line": line,
                "bill": bill,
                "group": bill,
                "speaker": row["speaker"].strip(),
                "party": row["party"].strip(),
                "file": row["file"].strip(),
                "mention": row["mention"].strip(),
                "split": row["split"].strip(),
            }
        except InputError as err:
            report.invalid(err)
            continue
        report.used += 1
        label = SUPPORT if vote == "Y" else OPPOSE
        yield make_textcat_doc(nlp, text, [label], STANCE_LABELS, None, meta)


# --- SemEval-2016 Task 6 -------------------------------------------------------------


def read_semeval(
    path: Union[str, Path],
    nlp: Language,
    *,
    skip_invalid: bool = False,
    report: Optional[RecordReport] = None,
    encoding: Optional[str] = "cp1252",
) -> Iterator[Doc]:
    """Read SemEval-2016 Task 6 (subtask A) stance tweets.

    Target: `Target`. Label: `Stance` (FAVOR / AGAINST / NONE, unchanged).
    Meta: id, group = the id (tweets have no debates), stratum =
    "TARGET|STANCE" so that a dev split can be stratified by both.

    path (Union[str, Path]): The tab-separated file (header ID Target Tweet Stance).
    nlp (Language): Provides the tokenizer.
    skip_invalid (bool): Skip malformed records instead of raising.
    report (Optional[RecordReport]): Where to count records.
    encoding (Optional[str]): Default cp1252, the official files' encoding.
    YIELDS (Doc): One per tweet.
    """
    path = Path(path)
    report = new_report(skip_invalid, report)
    rows = iter_tsv_rows(path, encoding)
    for line, row in _iter_table(path, rows, SEMEVAL_COLUMNS, report):
        try:
            stance = row["Stance"].strip()
            if stance not in SEMEVAL_LABELS:
                raise _reject(
                    f"'Stance' must be one of {', '.join(SEMEVAL_LABELS)}, got {stance!r}",
                    path,
                    line,
                    "bad_label",
                )
            text = row["Tweet"]
            if not text.strip():
                raise _reject("empty 'Tweet'", path, line, "empty_text")
            target = row["Target"].strip()
            if not target:
                raise _reject("empty 'Target'", path, line, "missing_target")
            tweet_id = row["ID"].strip()
            if not tweet_id:
                raise _reject("empty 'ID'", path, line, "bad_field")
            meta: Dict[str, Any] = {
                "source": str(path),
                "line": line,
                "id": tweet_id,
                "group": tweet_id,
                "stratum": f"{target}|{stance}",
            }
        except InputError as err:
            report.invalid(err)
            continue
        report.used += 1
        yield make_textcat_doc(nlp, text, [stance], SEMEVAL_LABELS, target, meta)
