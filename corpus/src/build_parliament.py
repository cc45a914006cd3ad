"""Build the parliamentary NER corpus from its annotated sources, and check them.

Sources, in `corpus/parliament/src/`:

- `sentences.tsv`: the sentences as drawn (`sample_parliament.py`), with
  their source ids, split, speaker and party, and the source text.
- `annotated/*.tsv`: the hand annotation, ``id<TAB>marked-up sentence`` (see
  `corpus/GUIDELINES.md`). Every drawn sentence is annotated exactly once.

The annotated text must be the source's: character for character for
HanDeSeT, and for ConVote (whose source is lower-cased and tokenised) the
same characters once case and whitespace are ignored. Every entity must
cover whole spaCy tokens.

Usage::

    python corpus/src/build_parliament.py              # write corpus/parliament/{train,dev,test}.jsonl
    python corpus/src/build_parliament.py --check F    # check one annotation file, write nothing

Errors name the file and line; the build stops at the first.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import spacy

from spacy_bilstm.corpora.markup import parse_markup
from spacy_bilstm.errors import InputError
from spacy_bilstm.io import atomic_open

PARLIAMENT = Path(__file__).resolve().parents[1] / "parliament"
SRC = PARLIAMENT / "src"
SPLITS = ("train", "dev", "test")
ATTRIBUTION = {
    "handeset": "UK House of Commons Hansard, Open Parliament Licence v3.0, via HanDeSeT (Abercrombie & Batista-Navarro 2018)",
    "convote": "US Congressional Record (public domain), via ConVote (Thomas, Pang & Lee 2006)",
}


def squash(text: str) -> str:
    """The text without whitespace, lower-cased: what restoring ConVote's case may not change."""
    return "".join(text.split()).lower()


def read_sentences(path: Path) -> Dict[str, Dict]:
    """Read `sentences.tsv` into {id: row}."""
    lines = path.read_text(encoding="utf8").splitlines()
    header = lines[0].split("\t")
    rows = {}
    for i, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(header):
            raise InputError(f"{len(fields)} fields, expected {len(header)}", path=path, line=i)
        row = dict(zip(header, fields))
        if row["id"] in rows:
            raise InputError(f"duplicate id {row['id']}", path=path, line=i)
        rows[row["id"]] = row
    return rows


def read_annotations(path: Path) -> Iterator[Tuple[int, str, str]]:
    """Yield (line, id, marked-up text) from one annotation file."""
    for i, raw in enumerate(path.read_text(encoding="utf8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        sid, tab, marked = raw.partition("\t")
        if not tab or not marked.strip():
            raise InputError("expected 'id<TAB>sentence'", path=path, line=i, reason="bad_line")
        yield i, sid.strip(), marked.strip()


def check_record(nlp, sentence: Dict, marked: str, path: Path, line: int) -> Dict:
    """Parse one annotated line and check it against its source sentence."""
    try:
        text, spans = parse_markup(marked)
    except InputError as err:
        raise InputError(err.message, path=path, line=line, reason=err.reason) from err
    source = sentence["text"]
    if sentence["source"] == "handeset" and text != source:
        raise InputError(f"text differs from the source:\n  source: {source}\n  marked: {text}", path=path, line=line)
    if sentence["source"] == "convote" and squash(text) != squash(source):
        raise InputError(
            f"text differs from the source beyond case and spacing:\n  source: {source}\n  marked: {text}",
            path=path,
            line=line,
        )
    doc = nlp.make_doc(text)
    for span in spans:
        if doc.char_span(span["start"], span["end"], alignment_mode="strict") is None:
            raise InputError(
                f"entity {text[span['start']:span['end']]!r} does not cover whole tokens "
                f"(tokens: {[t.text for t in doc]})",
                path=path,
                line=line,
            )
    meta = {k: sentence[k] for k in ("id", "source", "debate", "record", "speaker", "party")}
    return {"text": text, "spans": spans, "meta": meta}


def build(check_only: List[Path]) -> None:
    nlp = spacy.blank("en")
    sentences = read_sentences(SRC / "sentences.tsv")
    files = check_only or sorted((SRC / "annotated").glob("*.tsv"))
    records: Dict[str, Dict] = {}
    for path in files:
        for line, sid, marked in read_annotations(path):
            if sid not in sentences:
                raise InputError(f"unknown sentence id {sid!r}", path=path, line=line)
            if sid in records:
                raise InputError(f"sentence {sid} annotated twice", path=path, line=line)
            records[sid] = check_record(nlp, sentences[sid], marked, path, line)
    if check_only:
        n_ents = sum(len(r["spans"]) for r in records.values())
        print(f"OK: {len(records)} sentences, {n_ents} entities")
        return
    missing = [sid for sid in sentences if sid not in records]
    if missing:
        raise SystemExit(f"{len(missing)} sentences not annotated, e.g. {missing[:5]}")
    for split in SPLITS:
        out = PARLIAMENT / f"{split}.jsonl"
        n = 0
        with atomic_open(out, "w") as f:
            for sid, sentence in sentences.items():
                if sentence["split"] == split:
                    f.write(json.dumps(records[sid], ensure_ascii=False) + "\n")
                    n += 1
        print(f"{out.name}: {n} sentences")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", type=Path, nargs="*", default=[], help="check these annotation files only")
    args = parser.parse_args()
    try:
        build(args.check)
    except InputError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
