"""Co-mention extraction from processed Docs: pure functions, no I/O.

A Doc carries its id, date and speaker in `doc._.meta` (a dict with the keys
``id``, ``date``, ``speaker`` and any others; see `install_extensions`) and
its entities in `doc.ents`, from any NER (ours or spaCy's). `extract_doc`
turns one Doc into a `DocExtraction`: its resolved mentions, the sets of
actors that share a window, and the speaker's mentions with the document's
stance. `Aggregate` (in `aggregate.py`) adds these up; `build_network` (in
`graph.py`) canonicalises names over the whole corpus and builds the graphs.

Windows (a pair of actors is counted once per window, whatever the number of
mentions in it):

* ``sentence`` (default): `doc.sents`. A Doc without sentence boundaries
  (``doc.has_annotation("SENT_START")`` is False) is treated as one sentence
  and counted in the ``docs_without_sentences`` statistic; the command line
  adds a `sentencizer` to pipelines that set no boundaries, so this only
  happens with Docs built by hand.
* ``paragraph``: split where the text has a blank line (two line breaks
  with only spaces or tabs between them).
* ``document``: the whole Doc.
* ``tokens:K``: two mentions whose first tokens are at most K tokens apart;
  each such pair of mentions (of different actors) counts once.

Evidence: for every window, the text that shows two actors together, so
that a reader can check an edge before citing it. For a window whose
sentences fit in `MAX_EVIDENCE_CHARS`, one snippet (the sentences from the
first mention to the last) serves every pair in it; otherwise each pair
gets the sentences around its two closest mentions, cut to that length
around them. A snippet is located by its first character in the document.

Speaker evidence: in a Doc with a speaker, for every sentence that mentions
an actor, the text that shows the speaker naming it (a speaker → actor edge
has no window: a single mention suffices). A sentence that fits in
`MAX_EVIDENCE_CHARS` is one snippet for every actor in it; a longer one gives
each actor the text around its first mention in the sentence. Whatever the
window, these are sentences, as the co-mention evidence is.

Stance: where `doc.cats` holds labels named like support and oppose (the
names are configurable, compared case-insensitively), the document's stance
is p(support) − p(oppose), and it signs the speaker → actor edges.
"""

import json
import re
from bisect import bisect_right
from hashlib import blake2b
from collections import Counter
from dataclasses import dataclass, field
from sys import intern
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

import numpy
from spacy.attrs import SENT_START
from spacy.tokens import Doc

from ..errors import InputError
from ..extensions import install_extensions
from .aliases import PERSON_LABELS, AliasTable, Mention, normalize_name, resolve_in_doc

META_ID = "id"
META_DATE = "date"
META_SPEAKER = "speaker"
# Numeric and temporal labels of spaCy's English pipelines: never actors.
NON_ACTOR_LABELS: FrozenSet[str] = frozenset(
    {"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}
)
STANCE_POSITIVE: Tuple[str, ...] = ("support", "favor", "favour", "pro", "yes")
STANCE_NEGATIVE: Tuple[str, ...] = ("oppose", "against", "con", "no")
# Actor keys never contain control characters (`normalize_name` removes
# them), so this one can join the keys of a window into a single string.
KEY_SEPARATOR = "\x1f"
# Evidence snippets kept per edge (`--evidence`), and their longest text.
DEFAULT_EVIDENCE = 5
MAX_EVIDENCE_CHARS = 400
# Context kept before a mention when a long snippet is cut around it.
_EVIDENCE_CONTEXT = 60
_ELLIPSIS = "\u2026"
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_RESERVED_META = frozenset({META_ID, META_DATE, META_SPEAKER})
_NO_META: Dict[str, object] = {}
# `install_extensions` once per process, not once per Doc.
_INSTALLED: List[bool] = []


@dataclass(frozen=True)
class Window:
    """Which mentions count as co-mentioned.

    kind (str): "sentence", "paragraph", "document" or "tokens".
    size (int): For "tokens", the largest distance between first tokens.
    """

    kind: str = "sentence"
    size: int = 0

    @classmethod
    def parse(cls, text: str) -> "Window":
        """Read "sentence", "paragraph", "document", "tokens:K" or just "K".

        text (str): The window as written on the command line.
        RAISES (InputError): For anything else.
        RETURNS (Window): The window.
        """
        value = text.strip().lower()
        if value in ("sentence", "paragraph", "document"):
            return cls(value)
        size = value.split(":", 1)[1] if value.startswith("tokens:") else value
        if size.isdigit() and int(size) > 0:
            return cls("tokens", int(size))
        raise InputError(f"unknown window {text!r}: use sentence, paragraph, document or tokens:K (K > 0)")

    def __str__(self) -> str:
        return f"tokens:{self.size}" if self.kind == "tokens" else self.kind


@dataclass(frozen=True)
class ExtractOptions:
    """What to extract, shared by every backend (and part of a checkpoint's identity).

    window (Window): The co-mention window.
    labels (Optional[FrozenSet[str]]): Keep only these entity labels (None: all).
    exclude_labels (FrozenSet[str]): Drop these labels (applied after `labels`).
    person_labels (FrozenSet[str]): Labels whose one-word names are surnames.
    aliases (Optional[AliasTable]): The user's alias table.
    stance_positive (Tuple[str, ...]): `doc.cats` labels counted as support.
    stance_negative (Tuple[str, ...]): `doc.cats` labels counted as opposition.
    evidence (int): Evidence snippets kept per edge (0: none).
    """

    window: Window = Window()
    labels: Optional[FrozenSet[str]] = None
    exclude_labels: FrozenSet[str] = frozenset()
    person_labels: FrozenSet[str] = PERSON_LABELS
    aliases: Optional[AliasTable] = field(default=None, compare=False, hash=False)
    stance_positive: Tuple[str, ...] = STANCE_POSITIVE
    stance_negative: Tuple[str, ...] = STANCE_NEGATIVE
    evidence: int = DEFAULT_EVIDENCE

    def keeps(self, label: str) -> bool:
        """Whether mentions with this label are kept."""
        if self.labels is not None and label not in self.labels:
            return False
        return label not in self.exclude_labels

    def fingerprint(self) -> Dict[str, object]:
        """A JSON-able description, to check that a resume uses the same options."""
        return {
            "window": str(self.window),
            "labels": sorted(self.labels) if self.labels is not None else None,
            "exclude_labels": sorted(self.exclude_labels),
            "person_labels": sorted(self.person_labels),
            "aliases": (
                sorted(self.aliases.mapping.items()) + sorted(self.aliases.display.items())
                if self.aliases is not None
                else None
            ),
            "stance_positive": list(self.stance_positive),
            "stance_negative": list(self.stance_negative),
            "evidence": self.evidence,
        }


@dataclass
class DocExtraction:
    """What one Doc contributes to the network.

    doc_id (str): The document's id.
    date (str): Its date ("" if none).
    mentions (List[Mention]): The kept mentions, resolved within the document.
    windows (List[Tuple[str, ...]]): For each window with two or more distinct
        actors, their sorted keys (a window may repeat: it counts again).
    speaker (Optional[Tuple[str, str]]): The speaker's key and cleaned name.
    stance (Optional[float]): p(positive) − p(negative), if the Doc has them.
    meta (Dict[str, str]): Other metadata (e.g. party), for speaker nodes.
    stats (Dict[str, int]): docs, entities, mentions and, where not zero,
        dropped_label, dropped_empty, control_chars_removed, docs_without_sentences.
    evidence (List[Tuple[Tuple[str, ...], int, str]]): (sorted keys, first
        character, text) per snippet; every pair of the keys shares it
        (empty when `ExtractOptions.evidence` is 0).
    speaker_evidence (List[Tuple[Tuple[str, ...], int, str]]): (sorted keys,
        first character, text) per snippet in which the speaker names each
        of the keys (empty without a speaker or when `ExtractOptions.evidence`
        is 0).
    """

    doc_id: str
    date: str
    mentions: List[Mention]
    windows: List[Tuple[str, ...]]
    speaker: Optional[Tuple[str, str]] = None
    stance: Optional[float] = None
    meta: Dict[str, str] = field(default_factory=dict)
    stats: Dict[str, int] = field(default_factory=dict)
    evidence: List[Tuple[Tuple[str, ...], int, str]] = field(default_factory=list)
    speaker_evidence: List[Tuple[Tuple[str, ...], int, str]] = field(default_factory=list)


def evidence_rank(doc_id: str, location: int) -> str:
    """The order in which evidence snippets are kept: a stable hash of where
    the snippet is, so that the K kept per edge are the same whatever the
    order, batch or worker in which documents are counted, and are spread
    over the corpus rather than taken from its first documents.

    doc_id (str): The document's id.
    location (int): The snippet's first character in the document.
    RETURNS (str): 16 hex digits; smaller is kept first.
    """
    return blake2b(f"{doc_id}{KEY_SEPARATOR}{location}".encode("utf8"), digest_size=8).hexdigest()


def evidence_info(doc_id: str, location: int, date: str, speaker: str) -> str:
    """Where a snippet comes from, as the JSON text stored with it."""
    return json.dumps([doc_id, location, date, speaker], ensure_ascii=False)


def _meta_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return str(value)


def _entities(doc: Doc, text: Optional[str] = None) -> List[Tuple[int, int, str, str]]:
    # (first token, first character, label, text) per entity. The text is
    # sliced from the document's text, which is cheaper than `Span.text`
    # (spaCy's tokenizer never changes the text, so `text` is `doc.text`).
    ents = doc.ents
    if not ents:
        return []
    if text is None:
        text = doc.text
    return [(ent.start, ent.start_char, ent.label_, text[ent.start_char : ent.end_char]) for ent in ents]


def _mentions(
    doc: Doc, options: ExtractOptions, stats: Dict[str, int], text: Optional[str] = None
) -> Tuple[List[Mention], List[int]]:
    # The mentions, and the first character of each.
    entities = _entities(doc, text)
    names = []
    chars = []
    dropped_label = dropped_empty = removed = 0
    keeps = options.keeps
    for start, start_char, label, ent_text in entities:
        if not keeps(label):
            dropped_label += 1
            continue
        name = normalize_name(ent_text)
        removed += name.n_removed
        if not name.key:
            dropped_empty += 1
            continue
        names.append((name, label, start))
        chars.append(start_char)
    mentions = resolve_in_doc(names, options.aliases, options.person_labels)
    stats["entities"] = stats.get("entities", 0) + len(entities)
    stats["mentions"] = stats.get("mentions", 0) + len(mentions)
    for key, value in (
        ("dropped_label", dropped_label),
        ("dropped_empty", dropped_empty),
        ("control_chars_removed", removed),
    ):
        if value:
            stats[key] = stats.get(key, 0) + value
    return mentions, chars


def doc_mentions(doc: Doc, options: ExtractOptions, stats: Optional[Counter] = None) -> List[Mention]:
    """The Doc's entities that pass the label filters, normalised and resolved
    within the document (in document order).

    doc (Doc): A processed Doc.
    options (ExtractOptions): Label filters, person labels, alias table.
    stats (Optional[Counter]): Adds entities, mentions, dropped_label,
        dropped_empty and control_chars_removed to it.
    RETURNS (List[Mention]): One per kept entity.
    """
    found: Dict[str, int] = {}
    mentions = _mentions(doc, options, found)[0]
    if stats is not None:
        stats.update(found)
    return mentions


def _sentence_starts(doc: Doc) -> List[int]:
    # The first token of each sentence, as `[s.start for s in doc.sents]`
    # gives it, read from the SENT_START column: `doc.sents` builds a Token
    # object for every token, which costs more than the rest of the extraction.
    flags = doc.to_array(SENT_START)
    return [0] + [int(i) for i in numpy.flatnonzero(flags[1:] == 1) + 1]


def _regions(
    doc: Doc,
    window: Window,
    mentions: Sequence[Mention],
    chars: Sequence[int],
    text: str,
    sentences: bool,
    starts: Optional[List[int]] = None,
) -> List[int]:
    # The number of the window each mention is in (`starts`: the sentence
    # starts, if already read).
    if window.kind == "sentence":
        if not sentences:
            return [0] * len(mentions)
        if starts is None:
            starts = _sentence_starts(doc)
        return [bisect_right(starts, mention.start) for mention in mentions]
    if window.kind == "paragraph":
        breaks = [match.start() for match in _PARAGRAPH_BREAK.finditer(text)]
        return [bisect_right(breaks, char) for char in chars]
    return [0] * len(mentions)


def _groups(window: Window, mentions: Sequence[Mention], regions: Sequence[int]) -> List[List[int]]:
    # The indices of the mentions that share each window, in document order:
    # for "tokens", each pair of mentions of two actors close enough; else
    # the mentions of each region.
    if window.kind == "tokens":
        pairs = []
        for i, first in enumerate(mentions):
            for j in range(i + 1, len(mentions)):
                if mentions[j].start - first.start > window.size:
                    break
                if mentions[j].key != first.key:
                    pairs.append([i, j])
        return pairs
    grouped: Dict[int, List[int]] = {}
    for index, region in enumerate(regions):
        grouped.setdefault(region, []).append(index)
    return [members for _, members in sorted(grouped.items())]


def _windows(mentions: Sequence[Mention], groups: Sequence[List[int]]) -> List[Tuple[str, ...]]:
    # The sorted distinct keys of each group with at least two actors.
    windows = (tuple(sorted({mentions[i].key for i in members})) for members in groups)
    return [keys for keys in windows if len(keys) >= 2]


def _cut(text: str, lo: int, hi: int, first: int, last: int, last_len: int) -> Tuple[int, str]:
    # The snippet text[lo:hi], cut to MAX_EVIDENCE_CHARS around the mentions
    # that start at `first` and `last` (the latter `last_len` long).
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    if hi - lo <= MAX_EVIDENCE_CHARS:
        return lo, text[lo:hi]
    end = last + last_len
    if end - first <= MAX_EVIDENCE_CHARS - 2 * _EVIDENCE_CONTEXT:
        pad = (MAX_EVIDENCE_CHARS - (end - first)) // 2
        start, stop = max(lo, first - pad), min(hi, end + pad)
        pieces = [text[start:stop]]
    else:
        half = MAX_EVIDENCE_CHARS // 2
        start = max(lo, first - _EVIDENCE_CONTEXT)
        second = max(start + half, last - _EVIDENCE_CONTEXT)
        stop = min(hi, second + half)
        pieces = [text[start : start + half], text[second:stop]]
    snippet = f" {_ELLIPSIS} ".join(piece.strip() for piece in pieces)
    return start, (_ELLIPSIS if start > lo else "") + snippet + (_ELLIPSIS if stop < hi else "")


def _evidence(
    doc: Doc,
    text: str,
    mentions: Sequence[Mention],
    chars: Sequence[int],
    groups: Sequence[List[int]],
    starts: List[int],
) -> List[Tuple[Tuple[str, ...], int, str]]:
    # The evidence snippets of one Doc (see the module docstring); `starts`
    # are its sentence starts ([0] without sentence boundaries).
    n_tokens = len(doc)

    def char_at(token: int) -> int:
        return doc[token].idx if token < n_tokens else len(text)

    def sentences(first: int, last: int) -> Tuple[int, int]:
        # Characters from the sentence of mention `first` to the end of that of `last`.
        begin = starts[bisect_right(starts, mentions[first].start) - 1]
        after = bisect_right(starts, mentions[last].start)
        return char_at(begin), char_at(starts[after] if after < len(starts) else n_tokens)

    found: List[Tuple[Tuple[str, ...], int, str]] = []
    for members in groups:
        keys = tuple(sorted({mentions[i].key for i in members}))
        if len(keys) < 2:
            continue
        lo, hi = sentences(members[0], members[-1])
        if hi - lo <= MAX_EVIDENCE_CHARS:
            last = members[-1]
            found.append((keys, *_cut(text, lo, hi, chars[members[0]], chars[last], len(mentions[last].raw))))
            continue
        # Too long to show whole: each pair gets its two closest mentions.
        latest: Dict[str, int] = {}
        closest: Dict[Tuple[str, str], Tuple[int, int, int]] = {}
        for i in members:
            key = mentions[i].key
            for other, j in latest.items():
                if other != key:
                    pair = (other, key) if other < key else (key, other)
                    distance = chars[i] - chars[j]
                    if pair not in closest or distance < closest[pair][0]:
                        closest[pair] = (distance, j, i)
            latest[key] = i
        for pair, (_, j, i) in sorted(closest.items()):
            lo, hi = sentences(j, i)
            found.append((pair, *_cut(text, lo, hi, chars[j], chars[i], len(mentions[i].raw))))
    return found


def _speaker_evidence(
    doc: Doc, text: str, mentions: Sequence[Mention], chars: Sequence[int], starts: List[int]
) -> List[Tuple[Tuple[str, ...], int, str]]:
    # The snippets of one Doc in which its speaker names each actor (see the
    # module docstring): one per sentence with a mention, or one per actor
    # in a sentence too long to show whole.
    by_sentence: Dict[int, List[int]] = {}
    for i, mention in enumerate(mentions):
        by_sentence.setdefault(bisect_right(starts, mention.start), []).append(i)
    found: List[Tuple[Tuple[str, ...], int, str]] = []
    for after, members in sorted(by_sentence.items()):
        lo = doc[starts[after - 1]].idx
        hi = doc[starts[after]].idx if after < len(starts) else len(text)
        if hi - lo <= MAX_EVIDENCE_CHARS:
            keys = tuple(sorted({mentions[i].key for i in members}))
            found.append((keys, *_cut(text, lo, hi, lo, lo, 0)))
            continue
        first: Dict[str, int] = {}
        for i in members:
            first.setdefault(mentions[i].key, i)
        for key, i in sorted(first.items()):
            found.append(((key,), *_cut(text, lo, hi, chars[i], chars[i], len(mentions[i].raw))))
    return found


def comention_windows(doc: Doc, mentions: Sequence[Mention], window: Window) -> List[Tuple[str, ...]]:
    """The sets of distinct actors that share a window.

    doc (Doc): The Doc the mentions come from (for sentence and paragraph bounds).
    mentions (Sequence[Mention]): Its resolved mentions, in document order.
    window (Window): The window.
    RETURNS (List[Tuple[str, ...]]): Sorted keys, one tuple per window with at
        least two distinct actors (for "tokens", one pair per pair of mentions).
    """
    if len(mentions) < 2:
        return []
    chars = [doc[mention.start].idx for mention in mentions]
    text = doc.text if window.kind == "paragraph" else ""
    sentences = window.kind == "sentence" and doc.has_annotation("SENT_START")
    return _windows(mentions, _groups(window, mentions, _regions(doc, window, mentions, chars, text, sentences)))


def doc_stance(doc: Doc, options: ExtractOptions) -> Optional[float]:
    """p(positive) − p(negative) from `doc.cats`, or None if it has neither.

    doc (Doc): A Doc, e.g. classified by `lstm_textcat`.
    options (ExtractOptions): The label names.
    RETURNS (Optional[float]): The stance in [-1, 1] (for exclusive labels).
    """
    if not doc.cats:
        return None
    positive = {label.casefold() for label in options.stance_positive}
    negative = {label.casefold() for label in options.stance_negative}
    found = False
    score = 0.0
    for label, value in sorted(doc.cats.items()):
        folded = label.casefold()
        if folded in positive:
            score += float(value)
            found = True
        elif folded in negative:
            score -= float(value)
            found = True
    return score if found else None


def extract_doc(
    doc: Doc,
    options: ExtractOptions,
    default_id: Optional[str] = None,
    text: Optional[str] = None,
    meta: Optional[Dict[str, object]] = None,
) -> DocExtraction:
    """Everything one Doc contributes to the network (a pure function).

    doc (Doc): A processed Doc; `doc._.meta` may give id, date and speaker.
    options (ExtractOptions): What to extract.
    default_id (Optional[str]): The id to use when `doc._.meta` has none.
    text (Optional[str]): The text the Doc was made from, if at hand (it
        saves rebuilding `doc.text`).
    meta (Optional[Dict[str, object]]): Metadata to use instead of
        `doc._.meta` (the backends pass it directly: it is faster).
    RAISES (InputError): If the Doc has no id and no default was given.
    RETURNS (DocExtraction): Mentions, windows, speaker and stance.
    """
    if meta is None:
        if not _INSTALLED:
            install_extensions()
            _INSTALLED.append(True)
        meta = doc._.meta or _NO_META
    doc_id = _meta_text(meta.get(META_ID)) or (default_id or "")
    if not doc_id:
        raise InputError("a Doc has no id: set doc._.meta['id'] or pass default_id")
    stats: Dict[str, int] = {"docs": 1}
    mentions, chars = _mentions(doc, options, stats, text)
    window = options.window
    windows: List[Tuple[str, ...]] = []
    sentences = window.kind == "sentence" and doc.has_annotation("SENT_START")
    if window.kind == "sentence" and not sentences:
        stats["docs_without_sentences"] = 1
    speaker = None
    speaker_text = _meta_text(meta.get(META_SPEAKER))
    if speaker_text:
        name = normalize_name(speaker_text)
        if name.key:
            key = name.key
            if options.aliases is not None:
                key = options.aliases.lookup(key) or key
            speaker = (key, name.raw)
    evidence: List[Tuple[Tuple[str, ...], int, str]] = []
    speaker_evidence: List[Tuple[Tuple[str, ...], int, str]] = []
    starts = None
    if options.evidence and (len(mentions) >= 2 or (mentions and speaker is not None)):
        if text is None:
            text = doc.text
        starts = _sentence_starts(doc) if doc.has_annotation("SENT_START") else [0]
        if speaker is not None:
            speaker_evidence = _speaker_evidence(doc, text, mentions, chars, starts)
    if len(mentions) >= 2:
        if text is None and window.kind == "paragraph":
            text = doc.text
        regions = _regions(doc, window, mentions, chars, text or "", sentences, starts)
        groups = _groups(window, mentions, regions)
        windows = _windows(mentions, groups)
        if starts is not None and windows:
            evidence = _evidence(doc, text or "", mentions, chars, groups, starts)
    extra = {
        str(k): _meta_text(v)
        for k, v in meta.items()
        if k not in _RESERVED_META and isinstance(v, (str, int, float, bool))
    }
    return DocExtraction(
        doc_id=doc_id,
        # Dates recur across documents: one string for each.
        date=intern(_meta_text(meta.get(META_DATE))),
        mentions=mentions,
        windows=windows,
        speaker=speaker,
        stance=doc_stance(doc, options),
        meta=extra,
        stats=stats,
        evidence=evidence,
        speaker_evidence=speaker_evidence,
    )
