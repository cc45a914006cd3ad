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
    python corpus/src/build_parliament.py --out DIR    # write the splits elsewhere (the tests compare)

Errors name the file and line; the build stops at the first.
"""
import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import spacy

from spacy_bilstm.corpora.markup import parse_markup
from spacy_bilstm.errors import InputError
from spacy_bilstm.io import atomic_open

PARLIAMENT = Path(__file__).resolve().parents[1] / "parliament"
README = PARLIAMENT.parent / "README.md"
LABELS = ("PER", "LOC", "ORG", "MISC")
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


def counts_table(records: Dict[str, Dict], sentences: Dict[str, Dict]) -> str:
    """Sentences, debates and entities by split and source, as Markdown."""
    rows = []
    for split in SPLITS:
        for source in ("handeset", "convote"):
            ids = [sid for sid, s in sentences.items() if s["split"] == split and s["source"] == source]
            labels = Counter(span["label"] for sid in ids for span in records[sid]["spans"])
            debates = len({sentences[sid]["debate"] for sid in ids})
            rows.append(
                f"| {split} | {source} | {len(ids):,} | {debates} | "
                + " | ".join(f"{labels[label]:,}" for label in LABELS)
                + f" | {sum(labels.values()):,} |"
            )
    every = Counter(span["label"] for r in records.values() for span in r["spans"])
    rows.append(
        f"| **all** | | **{len(records):,}** | {len({(s['source'], s['debate']) for s in sentences.values()})} | "
        + " | ".join(f"{every[label]:,}" for label in LABELS)
        + f" | **{sum(every.values()):,}** |"
    )
    head = "| split | source | sentences | debates | PER | LOC | ORG | MISC | entities |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    return head + "\n" + "\n".join(rows)


def sources_list(sentences: Dict[str, Dict]) -> str:
    """Every sentence's source, grouped by split, source and debate."""
    groups: Dict[Tuple[str, str, str], Dict[str, List[str]]] = defaultdict(lambda: defaultdict(list))
    for s in sentences.values():
        groups[(s["split"], s["source"], s["debate"])][s["record"]].append(s["where"])
    lines = []
    for (split, source, debate), by_record in sorted(groups.items(), key=lambda kv: (SPLITS.index(kv[0][0]), kv[0][1], kv[0][2])):
        what = "debate id" if source == "handeset" else "bill"
        parts = "; ".join(f"{record.replace('.txt', '')} {', '.join(where)}" for record, where in sorted(by_record.items()))
        lines.append(f"- {split} · {source} {what} {debate}: {parts}")
    return "\n".join(lines)


def write_readme_section(name: str, body: str, path: Path = README) -> None:
    """Replace the text between `<!-- name:start -->` and `<!-- name:end -->`."""
    text = path.read_text(encoding="utf8")
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"{path}: markers {start} / {end} not found")
    text = text[: text.index(start) + len(start)] + "\n" + body.rstrip() + "\n" + text[text.index(end) :]
    with atomic_open(path, "w") as f:
        f.write(text)


def build(check_only: List[Path], out_dir: Path = PARLIAMENT) -> None:
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
        out = out_dir / f"{split}.jsonl"
        n = 0
        with atomic_open(out, "w") as f:
            for sid, sentence in sentences.items():
                if sentence["split"] == split:
                    f.write(json.dumps(records[sid], ensure_ascii=False) + "\n")
                    n += 1
        print(f"{out.name}: {n} sentences")
    if out_dir == PARLIAMENT:
        write_readme_section("parliament-counts", counts_table(records, sentences))
        write_readme_section("parliament-sources", sources_list(sentences))
        print(f"updated the counts and the source list in {README}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", type=Path, nargs="*", default=[], help="check these annotation files only")
    parser.add_argument("--out", type=Path, default=PARLIAMENT, help="where to write the JSONL splits")
    args = parser.parse_args()
    try:
        build(args.check, args.out)
    except InputError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
