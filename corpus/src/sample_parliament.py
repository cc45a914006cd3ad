"""Draw the sentences of the parliamentary NER corpus from HanDeSeT and ConVote.

This is how `corpus/parliament/src/sentences.tsv` was made; it is kept so
the draw can be checked and repeated, not run by the workflow. It needs the
shared corpora (``--data-dir``, default ``../shared/data``).

The draw, seeded:

1. Debates are assigned to train / dev / test first (HanDeSeT debate ids,
   ConVote bill numbers), so that no debate is split; HanDeSeT ids 76 and
   129 hold the same debate and are kept together.
2. Speeches are cut into sentences: HanDeSeT by punctuation, minding
   Hansard's abbreviations ("hon. Friend", "per cent."); ConVote by its own
   " . " separators, re-joining breaks after "mr ." / "dr .". Sentences of
   5-50 tokens are kept, each text once. HanDeSeT's mojibake (C1 control
   characters, zero-width spaces) is then removed from the sentences drawn. ConVote sentences with its
   anonymised member codes (xz4000130) are left out.
3. From each split, about 70% of the sentences are drawn among those with an
   entity cue (a capitalised word past the first in HanDeSeT; in ConVote's
   lower-cased text, a word that CoNLL-2003 writes capitalised), the rest
   uniformly, so that the corpus holds entity-rich and entity-free sentences
   alike; at most 3 sentences come from one speech.

Usage: python corpus/src/sample_parliament.py [--data-dir DIR]
"""
import argparse
import csv
import random
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

OUT = Path(__file__).resolve().parents[1] / "parliament" / "src" / "sentences.tsv"
SEED = 20261202
PER_SOURCE = {"train": 770, "dev": 200, "test": 340}
SPLIT_SHARE = {"handeset": (0.6, 0.14, 0.26), "convote": (0.6, 0.14, 0.26)}
CUE_SHARE = 0.7
MAX_PER_SPEECH = 3
HANSARD_ABBREV = {"hon", "Mr", "Mrs", "Ms", "Dr", "St", "No", "Nos", "Co", "Ltd", "cent", "Rt", "Col", "Gen", "Lt", "Sgt", "Prof", "Rev", "etc", "vs", "viz", "cf", "e.g", "i.e", "Cllr", "Bros", "Jr", "Sr", "Inc"}
CONVOTE_ABBREV = {"mr", "mrs", "ms", "dr", "st", "no", "jr", "sr", "gen", "lt", "col", "sgt", "rev", "u.s", "h.r", "s", "h", "inc", "co", "vs", "sen", "rep", "gov", "prof", "messrs"}
NOT_CUES = {"I", "Mr", "Mrs", "Ms", "Dr", "Sir", "Friend", "Friends", "Member", "Members", "Gentleman", "Lady", "Speaker", "Deputy", "Madam", "Order", "Minister", "Secretary", "State", "Bill", "Clause", "Amendment", "Second", "Reading", "Back", "Bench", "Benchers", "Front", "Bencher"}
CONVOTE_CODE = re.compile(r"xz\d{7}")
# HanDeSeT's text has mojibake: C1 control characters left behind by a
# broken decoding ("London'\x80\x99s", "–\x80\x94") and zero-width spaces.
# They glue names to the next word for any tokenizer, so they are removed.
MOJIBAKE = re.compile("[\u0080-\u009f\u200b\ufeff]")


def clean(text: str) -> str:
    """Remove mojibake control characters and zero-width spaces, normalise whitespace."""
    # "-\x80–" is a broken dash: without the control character, "-–" would
    # glue the words on either side into one token.
    return " ".join(MOJIBAKE.sub("", text).replace("-–", "–").split())


def hansard_sentences(text: str) -> Iterator[str]:
    """Cut one HanDeSeT utterance into sentences."""
    start = 0
    for m in re.finditer(r"[.!?]['\"’”)]*\s+(?=[\"'‘“(]?[A-Z0-9])", text):
        word = re.findall(r"([\w.]+)[.!?]['\"’”)]*\s+$", text[start : m.end()])
        if m.group(0).startswith(".") and word and word[-1] in HANSARD_ABBREV:
            continue
        yield text[start : m.end()].strip()
        start = m.end()
    if text[start:].strip():
        yield text[start:].strip()


def convote_sentences(text: str) -> Iterator[str]:
    """Cut one ConVote speech (lower-cased, tokenised) into sentences."""
    pending = ""
    for part in re.split(r"(?<= [.?!])\s+", text.strip()):
        part = part.strip()
        if not part:
            continue
        pending = f"{pending} {part}".strip()
        tokens = pending.split()
        if len(tokens) >= 2 and tokens[-1] == "." and tokens[-2] in CONVOTE_ABBREV:
            continue
        yield pending
        pending = ""
    if pending:
        yield pending


def conll_capitalised(path: Path) -> Set[str]:
    """Lower-cased words that CoNLL-2003 writes capitalised past the first token."""
    upper: Counter = Counter()
    total: Counter = Counter()
    first = True
    for line in path.read_text(encoding="utf8").splitlines():
        parts = line.split()
        if not parts or parts[0] == "-DOCSTART-":
            first = True
            continue
        word = parts[0]
        if not first and word.isalpha():
            total[word.lower()] += 1
            if word[0].isupper():
                upper[word.lower()] += 1
        first = False
    return {w for w, n in total.items() if n >= 2 and upper[w] / n >= 0.8}


def assign_splits(debates: List[str], shares: Tuple[float, float, float], rng: random.Random) -> Dict[str, str]:
    """Assign whole debates to train/dev/test in the given shares."""
    debates = sorted(debates, key=lambda d: (len(d), d))
    rng.shuffle(debates)
    n = len(debates)
    n_test = round(n * shares[2])
    n_dev = round(n * shares[1])
    out = {}
    for i, debate in enumerate(debates):
        out[debate] = "test" if i < n_test else "dev" if i < n_test + n_dev else "train"
    return out


def draw(candidates: List[Dict], n: int, rng: random.Random) -> List[Dict]:
    """Draw n sentences, CUE_SHARE of them with an entity cue, <= MAX_PER_SPEECH a speech."""
    rng.shuffle(candidates)
    cued = [c for c in candidates if c["cue"]]
    plain = [c for c in candidates if not c["cue"]]
    per_speech: Counter = Counter()
    chosen: List[Dict] = []

    def take(pool: List[Dict], k: int) -> None:
        for c in pool:
            if k <= 0:
                return
            if c in chosen or per_speech[c["record"]] >= MAX_PER_SPEECH:
                continue
            chosen.append(c)
            per_speech[c["record"]] += 1
            k -= 1

    take(cued, round(n * CUE_SHARE))
    take(plain, n - len(chosen))
    take(candidates, n - len(chosen))
    return chosen


def handeset_candidates(path: Path) -> Iterator[Dict]:
    with path.open(encoding="utf8", newline="") as f:
        for row_no, row in enumerate(csv.DictReader(f), start=1):
            debate = "76" if row["id"] == "129" else row["id"]
            for utt in (f"utt{i}" for i in range(1, 6)):
                for k, sent in enumerate(hansard_sentences(" ".join(row[utt].split()))):
                    words = sent.split()
                    cue = any(w[:1].isupper() and w.strip(".,;:()'\"’") not in NOT_CUES for w in words[1:])
                    yield {
                        "source": "handeset", "debate": debate, "record": f"row{row_no}",
                        "where": f"{utt}.s{k}", "speaker": row["name"], "party": row["party affiliation"],
                        "text": clean(sent), "raw": sent, "cue": cue, "n_tokens": len(words),
                    }


def convote_candidates(path: Path, capitalised: Set[str]) -> Iterator[Dict]:
    with path.open(encoding="utf8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            for k, sent in enumerate(convote_sentences(row["text"])):
                if CONVOTE_CODE.search(sent):
                    continue
                words = sent.split()
                cue = any(w in capitalised for w in words[1:] if w not in {"speaker", "chairman", "i"})
                yield {
                    "source": "convote", "debate": row["bill"], "record": row["file"],
                    "where": f"s{k}", "speaker": row["speaker"], "party": row["party"],
                    "text": sent, "raw": sent, "cue": cue, "n_tokens": len(words),
                }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    rng = random.Random(SEED)
    capitalised = conll_capitalised(args.data_dir / "conll2003" / "eng.train")
    sources = {
        "handeset": list(handeset_candidates(args.data_dir / "handeset" / "HanDeSeT.csv")),
        "convote": list(convote_candidates(args.data_dir / "convote" / "convote_stage3.tsv", capitalised)),
    }
    rows = []
    for source, cands in sources.items():
        seen: Set[str] = set()
        kept = []
        for c in cands:
            key = c["raw"].lower()
            if 5 <= c["n_tokens"] <= 50 and key not in seen:
                seen.add(key)
                kept.append(c)
        splits = assign_splits(sorted({c["debate"] for c in kept}), SPLIT_SHARE[source], rng)
        by_split = defaultdict(list)
        for c in kept:
            by_split[splits[c["debate"]]].append(c)
        for split in ("train", "dev", "test"):
            chosen = draw(by_split[split], PER_SOURCE[split], rng)
            chosen.sort(key=lambda c: (c["debate"], c["record"], c["where"]))
            for c in chosen:
                c["split"] = split
            rows.extend(chosen)
            print(f"{source} {split}: {len(chosen)} of {len(by_split[split])} sentences, "
                  f"{len({c['debate'] for c in by_split[split]})} debates, {sum(c['cue'] for c in chosen)} with a cue")
    prefix = {"handeset": "hds", "convote": "cv"}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf8") as f:
        f.write("\t".join(["id", "split", "source", "debate", "record", "where", "speaker", "party", "text"]) + "\n")
        for c in rows:
            sid = f"{prefix[c['source']]}-{c['debate']}-{c['record'].replace('.txt', '')}-{c['where']}"
            fields = [sid, c["split"], c["source"], c["debate"], c["record"], c["where"], c["speaker"], c["party"], c["text"]]
            # Whitespace was normalised when the speeches were cut, so no field holds a tab or newline.
            f.write("\t".join(fields) + "\n")
    print(f"wrote {len(rows)} sentences to {OUT}")


if __name__ == "__main__":
    main()
