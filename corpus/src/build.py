"""Build the shipped corpus files from their human-editable sources.

`ner.txt` holds one sentence per line with inline entity markup,
``[Margaret Okafor](PER)``; a line ``## d012 news`` starts a document.
`speeches.txt` holds a roster of speakers (``% Name | Party``), debate
headers (``### deb-07 m-07 2022-03-08`` followed by ``MOTION: ...``) and
speeches (``@ support | Name`` or ``@ oppose | Name | YYYY-MM-DD`` followed
by the speech text up to the next blank line).

Run from anywhere: ``python corpus/src/build.py``. It rewrites
`corpus/ner.jsonl` and `corpus/speeches.jsonl` and stops at the first
malformed source line, naming file and line.
"""
import json
import re
from pathlib import Path
from typing import Dict, Iterator, NoReturn

from spacy_bilstm.corpora.markup import parse_markup
from spacy_bilstm.errors import InputError
from spacy_bilstm.io import atomic_open

SRC = Path(__file__).resolve().parent
CORPUS = SRC.parent
LABELS = ("PER", "LOC", "ORG", "MISC")
GENRES = ("debate", "news")
STANCES = ("support", "oppose")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def fail(path: Path, line: int, message: str) -> NoReturn:
    """Stop the build with a `FILE:LINE: message` error."""
    raise SystemExit(f"{path}:{line}: {message}")


def read_ner(path: Path) -> Iterator[Dict]:
    """Yield one record per sentence of `ner.txt`."""
    doc = genre = None
    n_sent = 0
    for i, raw in enumerate(path.read_text(encoding="utf8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("## "):
            parts = line[3:].split()
            if len(parts) != 2 or parts[1] not in GENRES:
                fail(path, i, f"bad document header: {line!r}")
            doc, genre = parts
            continue
        if not line or line.startswith("#"):
            continue
        if doc is None:
            fail(path, i, "sentence before the first document header")
        try:
            text, spans = parse_markup(line, LABELS)
        except InputError as err:
            fail(path, i, err.message)
        record = {"text": text, "spans": spans}
        n_sent += 1
        record["meta"] = {"id": f"ner-{n_sent:04d}", "genre": genre, "doc": doc}
        yield record


def read_speeches(path: Path) -> Iterator[Dict]:
    """Yield one record per speech of `speeches.txt`."""
    roster: Dict[str, str] = {}
    debate = motion = date = target = None
    current = None
    n_speech = 0

    def finish() -> Iterator[Dict]:
        nonlocal current, n_speech
        if current is not None:
            if not current["lines"]:
                fail(path, current["line"], "speech without text")
            n_speech += 1
            yield {
                "text": " ".join(current["lines"]),
                "target": target,
                "label": current["label"],
                "meta": {
                    "id": f"sp-{n_speech:04d}",
                    "speaker": current["speaker"],
                    "party": roster[current["speaker"]],
                    "date": current["date"],
                    "debate_id": debate,
                    "motion_id": motion,
                    # The key the package's splits and cross-validation folds
                    # keep whole (spacy_bilstm.corpora.splits): without it
                    # they stratify by label, and a debate's speeches would
                    # sit on both sides of a split.
                    "group": debate,
                },
            }
        current = None

    for i, raw in enumerate(path.read_text(encoding="utf8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("% "):
            name, _, party = (part.strip() for part in line[2:].partition("|"))
            if not name or not party:
                fail(path, i, f"bad roster line: {line!r}")
            roster[name] = party
        elif line.startswith("### "):
            yield from finish()
            parts = line[4:].split()
            if len(parts) != 3 or not DATE.match(parts[2]):
                fail(path, i, f"bad debate header: {line!r}")
            debate, motion, date = parts
            target = None
        elif line.startswith("MOTION: "):
            target = line[len("MOTION: ") :].strip()
        elif line.startswith("@ "):
            yield from finish()
            parts = [part.strip() for part in line[2:].split("|")]
            if len(parts) not in (2, 3) or parts[0] not in STANCES:
                fail(path, i, f"bad speech header: {line!r}")
            if parts[1] not in roster:
                fail(path, i, f"speaker not in roster: {parts[1]!r}")
            if debate is None or target is None:
                fail(path, i, "speech before a debate header and motion")
            speech_date = parts[2] if len(parts) == 3 else date
            if not DATE.match(speech_date):
                fail(path, i, f"bad date: {speech_date!r}")
            current = {"label": parts[0], "speaker": parts[1], "date": speech_date, "lines": [], "line": i}
        elif not line:
            yield from finish()
        elif line.startswith("#"):
            continue
        elif current is not None:
            current["lines"].append(line)
        else:
            fail(path, i, "text outside a speech")
    yield from finish()


def write_jsonl(path: Path, records: Iterator[Dict]) -> int:
    """Write one JSON object per line, atomically; return the number written."""
    n = 0
    with atomic_open(path, "w") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


if __name__ == "__main__":
    n_ner = write_jsonl(CORPUS / "ner.jsonl", read_ner(SRC / "ner.txt"))
    n_sp = write_jsonl(CORPUS / "speeches.jsonl", read_speeches(SRC / "speeches.txt"))
    print(f"ner.jsonl: {n_ner} sentences; speeches.jsonl: {n_sp} speeches")
