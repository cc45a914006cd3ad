"""Adding up what Docs contribute, in a form any backend can merge.

An `Aggregate` holds counts keyed by the keys that `extract_doc` resolved
within each document; canonicalisation across documents happens only when the
graph is built, so adding Docs in any order, in any batches, on any worker
gives the same result. Its flat-row form (`to_rows` / `from_rows`) is what
the Ray backend emits and sums and what checkpoints store:

=========  ==============  =============  =========  ======  ==============================
kind       a               b              c          d       count / stance / stance_n
=========  ==============  =============  =========  ======  ==============================
mention    actor key       text written   label              mentions
window     keys joined     document id    date               windows
speaker    speaker key     text written                      documents
said       speaker key     actor key      doc id     date    mentions / stance / 0 or 1
smeta      speaker key     field          value              documents
stat       statistic                                         value
evidence   two keys        rank           info       text    1
sevidence  speaker, actor  rank           info       text    1
=========  ==============  =============  =========  ======  ==============================

Keys in a window are joined by ``KEY_SEPARATOR`` (a control character, which
names never contain).

Evidence is not a count: for each pair of keys an aggregate keeps the
`evidence` snippets with the smallest (rank, info, text), where the rank is
a stable hash of the document id and the snippet's place in it
(`evidence_rank`) and info is the JSON list [doc id, first character, date,
speaker]. The K smallest of a union are among the K smallest of its parts,
so merging aggregates, summing Ray rows (which keeps distinct rows) or
reading checkpoint parts keeps exactly the snippets one pass over the corpus
would; memory holds at most K snippets per pair. Speaker evidence
(``sevidence``: the speaker key and an actor key, joined) is kept the same
way, at most K snippets per (speaker, actor): sentences of the speaker's
documents that mention the actor (`DocExtraction.speaker_evidence`).

Window and said rows are per document, so they grow with the corpus; every
other kind is bounded by the number of actors and pairs. An aggregate made
with ``spill=True`` (the backends' running totals) moves them to disk (see
`spill.py`) whenever more than `SPILL_ROWS` are in memory, and reads them
back, summed, through `window_items` and `said_items`: its memory stays flat
however many documents it counts.
"""

from bisect import insort
from collections import Counter
from sys import intern
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from spacy.tokens import Doc

from .extract import (
    DEFAULT_EVIDENCE,
    KEY_SEPARATOR,
    DocExtraction,
    ExtractOptions,
    evidence_info,
    evidence_rank,
    extract_doc,
)
from .spill import DocRows

ROW_FIELDS: Tuple[str, ...] = ("kind", "a", "b", "c", "d", "count", "stance", "stance_n")
Row = Tuple[str, str, str, str, str, int, float, int]
# (rank, info, text): see the module docstring.
Snippet = Tuple[str, str, str]
# Window and said rows a spilling aggregate holds in memory before it moves
# them to disk (a few MiB; one executemany per batch keeps the cost small).
SPILL_ROWS = 20_000


class Aggregate:
    """Summed contributions of many Docs; merging is exact and order-free.

    mentions (Counter): (key, text, label) → mentions.
    windows (Counter): (joined keys, doc id, date) → windows (with
        ``spill=True``, only those not yet on disk: read `window_items`).
    speaker_names (Counter): (speaker key, text) → documents.
    said (Dict): (speaker key, actor key, doc id, date) → (mentions, stance
        sum, stance docs) (with ``spill=True``, only those not yet on disk:
        read `said_items`).
    speaker_meta (Counter): (speaker key, field, value) → documents.
    stats (Counter): docs, entities, mentions, dropped_label, dropped_empty,
        control_chars_removed, docs_without_sentences (see `DocExtraction`).
    evidence (Dict[str, List[Snippet]]): two keys joined → the kept
        snippets, sorted (at most `limit`).
    speaker_evidence (Dict[str, List[Snippet]]): speaker key and actor key
        joined → the kept snippets, sorted (at most `limit`).
    limit (int): Snippets kept per pair (`ExtractOptions.evidence`).
    """

    def __init__(self, evidence: int = DEFAULT_EVIDENCE, spill: bool = False) -> None:
        """Initialize an empty aggregate.

        evidence (int): Snippets to keep per pair.
        spill (bool): Keep window and said rows on disk once there are more
            than `SPILL_ROWS` in memory (see the module docstring).
        """
        self.mentions: Counter = Counter()
        self.windows: Counter = Counter()
        self.speaker_names: Counter = Counter()
        self.said: Dict[Tuple[str, str, str, str], Tuple[int, float, int]] = {}
        self.speaker_meta: Counter = Counter()
        self.stats: Counter = Counter()
        self.evidence: Dict[str, List[Snippet]] = {}
        self.speaker_evidence: Dict[str, List[Snippet]] = {}
        self.limit = evidence
        self._store: Optional[DocRows] = DocRows() if spill else None

    @property
    def n_docs(self) -> int:
        return self.stats["docs"]

    def add(self, extraction: DocExtraction) -> None:
        """Add one Doc's contribution.

        extraction (DocExtraction): From `extract_doc`.
        """
        # Before this document's rows, so that a spilling aggregate holds at
        # most SPILL_ROWS and one document's.
        self._bound()
        # dict.get instead of Counter's `+=`: a new key would call the Python
        # method Counter.__missing__, and most window and said keys are new.
        doc_id, date = extraction.doc_id, extraction.date
        mentions = self.mentions
        get = mentions.get
        for mention in extraction.mentions:
            key = (mention.key, mention.raw, mention.label)
            mentions[key] = get(key, 0) + 1
        windows = self.windows
        get = windows.get
        for keys in extraction.windows:
            # The same pairs recur in many documents: one string for each.
            key = (intern(KEY_SEPARATOR.join(keys)), doc_id, date)
            windows[key] = get(key, 0) + 1
        stats = self.stats
        for name, value in extraction.stats.items():
            stats[name] = stats.get(name, 0) + value
        if extraction.evidence and self.limit:
            speaker = extraction.speaker[1] if extraction.speaker is not None else ""
            for keys, location, text in extraction.evidence:
                pairs = (
                    intern(first + KEY_SEPARATOR + second) for i, first in enumerate(keys) for second in keys[i + 1 :]
                )
                self._offer(self.evidence, pairs, doc_id, location, date, speaker, text)
        if extraction.speaker is None:
            return
        speaker, written = extraction.speaker
        if extraction.speaker_evidence and self.limit:
            for keys, location, text in extraction.speaker_evidence:
                pairs = (intern(speaker + KEY_SEPARATOR + key) for key in keys)
                self._offer(self.speaker_evidence, pairs, doc_id, location, date, written, text)
        self.speaker_names[speaker, written] += 1
        for name, value in extraction.meta.items():
            if value:
                self.speaker_meta[speaker, name, value] += 1
        actors: Dict[str, int] = {}
        for mention in extraction.mentions:
            actors[mention.key] = actors.get(mention.key, 0) + 1
        stance = 0.0 if extraction.stance is None else extraction.stance
        stance_n = 0 if extraction.stance is None else 1
        said = self.said
        for actor, count in actors.items():
            key = (speaker, actor, doc_id, date)
            current = said.get(key)
            if current is None:
                said[key] = (count, stance, stance_n)
            else:
                said[key] = (current[0] + count, current[1] + stance, current[2] + stance_n)

    def _offer(
        self,
        evidence: Dict[str, List[Snippet]],
        pairs: Iterable[str],
        doc_id: str,
        location: int,
        date: str,
        speaker: str,
        text: str,
    ) -> None:
        # One snippet offered to every pair (or speaker and actor) it shows.
        rank = evidence_rank(doc_id, location)
        limit = self.limit
        snippet = None
        for pair in pairs:
            kept = evidence.get(pair)
            # Most snippets of a frequent pair rank after its K: skip them cheaply.
            if kept is not None and len(kept) >= limit and rank > kept[-1][0]:
                continue
            if snippet is None:
                snippet = (rank, evidence_info(doc_id, location, date, speaker), text)
            self._keep(evidence, pair, snippet)

    def _keep(self, evidence: Dict[str, List[Snippet]], pair: str, snippet: Snippet) -> None:
        kept = evidence.get(pair)
        if kept is None:
            evidence[pair] = [snippet]
        elif (len(kept) < self.limit or snippet < kept[-1]) and snippet not in kept:
            insort(kept, snippet)
            if len(kept) > self.limit:
                kept.pop()

    def _add_said(self, key: Tuple[str, str, str, str], mentions: int, stance: float, stance_n: int) -> None:
        # Tuples, not lists: a said entry exists per document and actor, and
        # a tuple is smaller; repeated keys (rare) are replaced.
        current = self.said.get(key)
        if current is None:
            self.said[key] = (mentions, stance, stance_n)
        else:
            self.said[key] = (current[0] + mentions, current[1] + stance, current[2] + stance_n)

    def _bound(self) -> None:
        if self._store is not None and len(self.windows) + len(self.said) > SPILL_ROWS:
            self._spill()

    def _spill(self) -> None:
        assert self._store is not None
        self._store.append("windows", ((key, (n,)) for key, n in self.windows.items()))
        self._store.append("said", self.said.items())
        self.windows = Counter()
        self.said = {}

    def window_items(self) -> Iterator[Tuple[Tuple[str, str, str], int]]:
        """Every window row, in memory or on disk, each key once, sorted by
        document (id, date), then by joined keys.

        YIELDS (Tuple[Tuple[str, str, str], int]): ((joined keys, doc id, date), windows).
        """
        if self._store is None:
            yield from sorted(self.windows.items(), key=lambda item: (item[0][1], item[0][2], item[0][0]))
            return
        self._spill()
        for key, (n,) in self._store.summed("windows", ("b", "c", "a")):
            yield key, n  # type: ignore[misc]

    def said_items(self) -> Iterator[Tuple[Tuple[str, str, str, str], Tuple[int, float, int]]]:
        """Every said row, in memory or on disk, each key once, sorted by
        document (id, date) and then by (speaker key, actor key), so that a
        document's rows come together.

        YIELDS (Tuple[Tuple[str, str, str, str], Tuple[int, float, int]]):
            ((speaker key, actor key, doc id, date), (mentions, stance sum, stance docs)).
        """
        if self._store is None:
            yield from sorted(self.said.items(), key=lambda item: (item[0][2], item[0][3], item[0][:2]))
            return
        self._spill()
        yield from self._store.summed("said", ("c", "d", "a", "b"))  # type: ignore[misc]

    def merge(self, other: "Aggregate") -> None:
        """Add another aggregate's counts to this one."""
        self.mentions.update(other.mentions)
        self.speaker_names.update(other.speaker_names)
        self.speaker_meta.update(other.speaker_meta)
        self.stats.update(other.stats)
        # The order in which keys are added does not matter here (each is
        # added once): read a spilled aggregate, but do not sort one in memory.
        spilled = other._store is not None
        windows = self.windows
        for key, n in other.window_items() if spilled else other.windows.items():
            windows[key] = windows.get(key, 0) + n
        for key, (mentions, stance, stance_n) in other.said_items() if spilled else other.said.items():
            self._add_said(key, mentions, stance, stance_n)
        if self.limit:
            for mine, theirs in (
                (self.evidence, other.evidence),
                (self.speaker_evidence, other.speaker_evidence),
            ):
                for pair, snippets in theirs.items():
                    for snippet in snippets:
                        self._keep(mine, pair, snippet)
        self._bound()

    def to_rows(self, sort: bool = True) -> List[Row]:
        """The flat rows (see the module docstring).

        sort (bool): Sort them (a checkpoint does not need to).
        RETURNS (List[Row]): One tuple per row, fields as in `ROW_FIELDS`.
        """
        rows: List[Row] = []
        rows.extend(("mention", k, t, label, "", n, 0.0, 0) for (k, t, label), n in self.mentions.items())
        rows.extend(("window", w, doc, date, "", n, 0.0, 0) for (w, doc, date), n in self.window_items())
        rows.extend(("speaker", s, t, "", "", n, 0.0, 0) for (s, t), n in self.speaker_names.items())
        rows.extend(
            ("said", s, a, doc, date, m, st, sn) for (s, a, doc, date), (m, st, sn) in self.said_items()
        )
        rows.extend(("smeta", s, f, v, "", n, 0.0, 0) for (s, f, v), n in self.speaker_meta.items())
        rows.extend(("stat", name, "", "", "", n, 0.0, 0) for name, n in self.stats.items())
        rows.extend(
            ("evidence", pair, rank, info, text, 1, 0.0, 0)
            for pair, snippets in self.evidence.items()
            for rank, info, text in snippets
        )
        rows.extend(
            ("sevidence", pair, rank, info, text, 1, 0.0, 0)
            for pair, snippets in self.speaker_evidence.items()
            for rank, info, text in snippets
        )
        if sort:
            rows.sort()
        return rows

    def add_rows(self, rows: Iterable[Row]) -> None:
        """Add flat rows (from `to_rows`, a checkpoint or a Ray grouped sum).

        rows (Iterable[Row]): Tuples with the fields of `ROW_FIELDS`.
        RAISES (ValueError): On an unknown kind.
        """
        for kind, a, b, c, d, count, stance, stance_n in rows:
            count = int(count)
            if kind == "mention":
                self.mentions[a, b, c] += count
            elif kind == "window":
                self.windows[a, b, c] += count
            elif kind == "speaker":
                self.speaker_names[a, b] += count
            elif kind == "said":
                self._add_said((a, b, c, d), count, float(stance), int(stance_n))
            elif kind == "smeta":
                self.speaker_meta[a, b, c] += count
            elif kind == "stat":
                self.stats[a] += count
            elif kind == "evidence":
                # Ray's grouped sum counts identical snippets; one is kept.
                if self.limit:
                    self._keep(self.evidence, a, (b, c, d))
            elif kind == "sevidence":
                if self.limit:
                    self._keep(self.speaker_evidence, a, (b, c, d))
            else:
                raise ValueError(f"unknown row kind {kind!r}")
        self._bound()

    @classmethod
    def from_rows(
        cls, rows: Iterable[Row], evidence: int = DEFAULT_EVIDENCE, spill: bool = False
    ) -> "Aggregate":
        """An aggregate holding the given rows (and `evidence` snippets per pair;
        per-document rows on disk if `spill`)."""
        aggregate = cls(evidence, spill)
        aggregate.add_rows(rows)
        return aggregate

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Aggregate) and self.to_rows() == other.to_rows()


def extract_network(
    docs: Iterable[Doc], options: Optional[ExtractOptions] = None, aggregate: Optional[Aggregate] = None
) -> Aggregate:
    """Extract and add up many Docs.

    A Doc without an id in `doc._.meta` gets its position in the stream
    ("0", "1", …) counted from `aggregate.n_docs`, so feeding batches into
    the same aggregate numbers them as one stream.

    docs (Iterable[Doc]): Processed Docs.
    options (Optional[ExtractOptions]): What to extract (default: sentence
        window, all labels).
    aggregate (Optional[Aggregate]): Add to this aggregate instead of a new one.
    RETURNS (Aggregate): The sums.
    """
    options = options if options is not None else ExtractOptions()
    aggregate = aggregate if aggregate is not None else Aggregate(options.evidence)
    for doc in docs:
        aggregate.add(extract_doc(doc, options, default_id=str(aggregate.n_docs)))
    return aggregate
