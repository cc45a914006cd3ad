"""Inter-annotator agreement of the parliamentary NER corpus.

A random 10% of the sentences (`corpus/parliament/src/blind/*.tsv`) was
annotated a second time, blind: by another annotator, without the first
pass in view. This script scores the second pass against the first as if
one were the prediction of the other: entity-level precision, recall and F1
(symmetric: swapping the passes swaps P and R), overall and per label.

Entities are compared by label and by their position in the text with
whitespace removed, so that ConVote sentences, whose case and spacing each
annotator restored by hand, compare equal when the words are the same.

Usage: python corpus/src/agreement.py [--markdown]
"""
import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Set, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_parliament import SRC, read_annotations, read_sentences  # noqa: E402

from spacy_bilstm.corpora.markup import parse_markup  # noqa: E402

LABELS = ("PER", "LOC", "ORG", "MISC")


def squashed_entities(marked: str) -> Set[Tuple[str, int, int]]:
    """(label, start, end) of each entity, offsets counted without whitespace."""
    text, spans = parse_markup(marked)
    nonspace_before = [0]
    for char in text:
        nonspace_before.append(nonspace_before[-1] + (not char.isspace()))
    return {(s["label"], nonspace_before[s["start"]], nonspace_before[s["end"]]) for s in spans}


def read_pass(paths: List[Path]) -> Dict[str, str]:
    return {sid: marked for path in paths for _, sid, marked in read_annotations(path)}


def agreement() -> Tuple[Dict[str, Dict[str, float]], Dict[str, int], List[Tuple[str, str, str]]]:
    """Per-label and overall P/R/F1 of the blind pass against the first, the
    number of sentences by source, and the disagreements."""
    first = read_pass(sorted((SRC / "annotated").glob("*.tsv")))
    blind = read_pass(sorted((SRC / "blind").glob("*.tsv")))
    sentences = read_sentences(SRC / "sentences.tsv")
    tp: Counter = Counter()
    n_first: Counter = Counter()
    n_blind: Counter = Counter()
    disagreements = []
    by_source: Counter = Counter()
    for sid, marked in blind.items():
        by_source[sentences[sid]["source"]] += 1
        a, b = squashed_entities(first[sid]), squashed_entities(marked)
        for label, *_ in a:
            n_first[label] += 1
        for label, *_ in b:
            n_blind[label] += 1
        for label, *_ in a & b:
            tp[label] += 1
        if a != b:
            disagreements.append((sid, first[sid], marked))
    scores = {}
    for label in (*LABELS, "all"):
        t = sum(tp.values()) if label == "all" else tp[label]
        f = sum(n_first.values()) if label == "all" else n_first[label]
        b = sum(n_blind.values()) if label == "all" else n_blind[label]
        p = t / b if b else 0.0
        r = t / f if f else 0.0
        scores[label] = {"p": p, "r": r, "f": 2 * p * r / (p + r) if p + r else 0.0, "first": f, "blind": b}
    return scores, dict(by_source), disagreements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disagreements", action="store_true", help="also print every sentence the passes disagree on")
    args = parser.parse_args()
    scores, by_source, disagreements = agreement()
    n = sum(by_source.values())
    print(f"{n} sentences annotated twice ({', '.join(f'{k} {v}' for k, v in sorted(by_source.items()))}); "
          f"{len(disagreements)} with any difference")
    print()
    print("| label | entities, first pass | entities, blind pass | P | R | F1 |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, s in scores.items():
        print(f"| {label} | {s['first']} | {s['blind']} | {100 * s['p']:.1f} | {100 * s['r']:.1f} | **{100 * s['f']:.1f}** |")
    if args.disagreements:
        for sid, a, b in disagreements:
            print(f"\n{sid}\n  first: {a}\n  blind: {b}")


if __name__ == "__main__":
    main()
