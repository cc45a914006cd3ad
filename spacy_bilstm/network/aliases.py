"""Alias resolution: from the text of an entity to the actor it names.

Three steps, each deterministic:

1. `normalize_name` (per mention): Unicode NFC; control characters removed
   (they are never part of a name and would make XML exports invalid; they
   are counted); whitespace collapsed; leading titles and honorifics removed ("the Rt Hon Sir Keir
   Starmer" → "Keir Starmer"); surrounding quotes and trailing commas
   removed; post-nominal letters removed ("Diane Abbott
   MP" → "Diane Abbott"); a trailing possessive removed ("Johnson's" →
   "Johnson"). The *key* of a name is its case-folded form, so case never
   splits an actor. Titles are stripped whatever the entity label, because
   statistical NER often mislabels "Mr Smith"; a name that is only a title
   ("Lord") is kept as it is.
2. `resolve_in_doc` (per document): a one-word name of a person label resolves
   to the most recent earlier full (multi-word) name in the same document
   whose last word it is ("Boris Johnson … Johnson" → "Boris Johnson"). A
   surname that comes *before* any full name stays as it is until step 3.
3. `canonical_map` (over the whole corpus, after aggregation, so the result
   cannot depend on batches, shards or workers): a one-word person name still
   unresolved maps to the most frequent full person name ending in that word
   (ties: the alphabetically first key). The display form of an actor is its
   most frequent written form among mentions that spell out the full name
   (ties: not all capitals first, then alphabetical).

A user `AliasTable` (CSV or JSON: alias → canonical) overrides all of this:
an alias is mapped before step 2, its canonical name is never remapped, and
the canonical is displayed exactly as the table spells it.
"""

import csv
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Counter as CounterT
from typing import Dict, FrozenSet, Iterable, List, Mapping, NamedTuple, Optional, Tuple, Union

from ..errors import InputError

# Lower-case, without a trailing full stop; multi-word titles are matched as
# written with any whitespace between the words.
TITLES: Tuple[str, ...] = (
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "professor",
    "sir",
    "dame",
    "lord",
    "lady",
    "baroness",
    "baron",
    "viscount",
    "viscountess",
    "earl",
    "countess",
    "duke",
    "duchess",
    "rt hon",
    "right hon",
    "rt honourable",
    "right honourable",
    "hon",
    "honourable",
    "senator",
    "sen",
    "rep",
    "representative",
    "congressman",
    "congresswoman",
    "governor",
    "gov",
    "president",
    "rev",
    "reverend",
)
# Post-nominal letters of British and European politics ("Diane Abbott MP").
POSTNOMINALS: Tuple[str, ...] = (
    "mp",
    "msp",
    "ms",
    "mla",
    "mep",
    "am",
    "qc",
    "kc",
    "pc",
    "obe",
    "mbe",
    "cbe",
    "kbe",
    "dbe",
)
PERSON_LABELS: FrozenSet[str] = frozenset({"PERSON", "PER"})

_TITLE_ALTERNATIVES = "|".join(
    r"\.?\s+".join(re.escape(word) for word in title.split())
    for title in sorted(TITLES, key=len, reverse=True)
)
# One or more titles, each optionally preceded by "the" and followed by a
# full stop, then whitespace; the name itself must follow.
_LEADING_TITLES = re.compile(rf"^(?:(?:the\s+)?(?:{_TITLE_ALTERNATIVES})\.?\s+)+(?=\S)", re.IGNORECASE)
_TRAILING_POSTNOMINALS = re.compile(rf"(?<=\S)(?:,?\s+(?:{'|'.join(POSTNOMINALS)})\b\.?)+$", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:['’][sS]|(?<=[sS])['’])$")
_WHITESPACE = re.compile(r"\s+")
_QUOTES = "\"'“”‘’«»„"
_TRAILING_PUNCTUATION = ",;:"


def _strip_edges(text: str) -> str:
    # Trailing separators go; quotes only in pairs, so that a quote or
    # bracket that belongs to the name ("Labour (UK)", O'Neil) stays.
    text = text.rstrip(_TRAILING_PUNCTUATION + " ")
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


class Name(NamedTuple):
    """A mention's text, cleaned and normalised.

    raw (str): The text with control characters removed and whitespace collapsed.
    surface (str): The name without titles and possessive, as written.
    key (str): The case-folded surface: what identifies the actor.
    n_words (int): The number of words in the key.
    n_removed (int): Control characters (or lone surrogates) removed.
    """

    raw: str
    surface: str
    key: str
    n_words: int
    n_removed: int


def clean_text(text: str) -> Tuple[str, int]:
    """Remove control characters and lone surrogates; collapse whitespace.

    text (str): Any text.
    RETURNS (Tuple[str, int]): The cleaned text and how many characters were removed.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    removed = 0
    if not text.isprintable():
        kept = []
        for char in text:
            category = unicodedata.category(char)
            if char.isspace():
                kept.append(" ")
            elif category in ("Cc", "Cs"):
                removed += 1
            else:
                kept.append(char)
        text = "".join(kept)
    return _WHITESPACE.sub(" ", text).strip(), removed


@lru_cache(maxsize=200_000)
def normalize_name(text: str) -> Name:
    """Normalise the text of one entity mention (step 1 in the module docstring).

    text (str): The entity's text, e.g. "the Rt Hon Boris Johnson's".
    RETURNS (Name): The cleaned forms; `key` is "" when nothing is left.
    """
    raw, removed = clean_text(text)
    surface = _strip_edges(raw)
    surface = _LEADING_TITLES.sub("", surface)
    surface = _TRAILING_POSTNOMINALS.sub("", surface)
    stripped = _strip_edges(_POSSESSIVE.sub("", surface))
    if stripped:
        surface = stripped
    key = surface.casefold()
    return Name(raw, surface, key, len(key.split()) if key else 0, removed)


@dataclass
class AliasTable:
    """A user's mapping from aliases to canonical names; it overrides resolution.

    Keys are normalised with `normalize_name`, so "Mr Johnson" in the table
    also matches "Johnson" and "JOHNSON'S" in text.

    mapping (Dict[str, str]): alias key → canonical key.
    display (Dict[str, str]): canonical key → the canonical as the table writes it.
    """

    mapping: Dict[str, str] = field(default_factory=dict)
    display: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[Tuple[str, str, Optional[int]]], path: Optional[Union[str, Path]] = None
    ) -> "AliasTable":
        """Build a table from (alias, canonical, line) triples, checking them.

        pairs (Iterable[Tuple[str, str, Optional[int]]]): Alias, canonical and
            source line (None where the format has no lines, as in JSON).
        path (Optional[Union[str, Path]]): The file, for error messages.
        RAISES (InputError): On an empty name, a conflicting duplicate, or a
            chain (a canonical name that is itself an alias of something else).
        RETURNS (AliasTable): The table.
        """
        table = cls()
        lines: Dict[str, Optional[int]] = {}
        for alias, canonical, line in pairs:
            if not isinstance(alias, str) or not isinstance(canonical, str):
                raise InputError("alias and canonical must be strings", path=path, line=line)
            alias_key = normalize_name(alias).key
            canonical_key = normalize_name(canonical).key
            if not alias_key or not canonical_key:
                raise InputError("empty alias or canonical name", path=path, line=line)
            previous = table.mapping.get(alias_key)
            if previous is not None and previous != canonical_key:
                earlier = lines[alias_key]
                raise InputError(
                    f"alias {alias!r} maps to two different names"
                    + (f" (see also line {earlier})" if earlier else ""),
                    path=path,
                    line=line,
                )
            shown = table.display.get(canonical_key)
            written = clean_text(canonical)[0]
            if shown is not None and shown != written:
                raise InputError(
                    f"canonical name written two ways: {shown!r} and {written!r}",
                    path=path,
                    line=line,
                )
            table.mapping[alias_key] = canonical_key
            table.display[canonical_key] = written
            lines.setdefault(alias_key, line)
        for alias_key, canonical_key in table.mapping.items():
            target = table.mapping.get(canonical_key, canonical_key)
            if target != canonical_key:
                raise InputError(
                    f"chained alias: {canonical_key!r} is itself an alias of {target!r}; "
                    "map every alias straight to its canonical name",
                    path=path,
                    line=lines[alias_key],
                )
        return table

    @classmethod
    def from_dict(cls, mapping: Mapping[str, str]) -> "AliasTable":
        """Build a table from a dict alias → canonical."""
        return cls.from_pairs((a, c, i + 1) for i, (a, c) in enumerate(mapping.items()))

    @classmethod
    def from_path(cls, path: Union[str, Path]) -> "AliasTable":
        """Read a table from CSV (columns `alias`, `canonical`, with a header)
        or JSON (one object: alias → canonical).

        path (Union[str, Path]): A `.csv` or `.json` file.
        RAISES (InputError): Naming the file and line of the first problem.
        RETURNS (AliasTable): The table.
        """
        path = Path(path)
        if not path.exists():
            raise InputError("alias table not found", path=path)
        try:
            text = path.read_text(encoding="utf8")
        except UnicodeDecodeError as err:
            raise InputError(f"not valid UTF-8 ({err.reason})", path=path) from None
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as err:
                raise InputError(f"invalid JSON: {err.msg}", path=path, line=err.lineno) from None
            if not isinstance(data, dict):
                raise InputError("an alias table in JSON must be one object alias → canonical", path=path)
            return cls.from_pairs(((a, c, None) for a, c in data.items()), path=path)
        if path.suffix.lower() != ".csv":
            raise InputError("an alias table must be a .csv or .json file", path=path)
        return cls.from_pairs(_read_alias_csv(text, path), path=path)

    def lookup(self, key: str) -> Optional[str]:
        """The canonical key for an alias key, or None."""
        return self.mapping.get(key)

    def is_canonical(self, key: str) -> bool:
        """Whether the table names this key as a canonical actor."""
        return key in self.display


def _read_alias_csv(text: str, path: Path) -> Iterable[Tuple[str, str, Optional[int]]]:
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        return
    columns = [name.strip().lower() for name in header]
    if "alias" not in columns or "canonical" not in columns:
        raise InputError("the header must name the columns 'alias' and 'canonical'", path=path, line=1)
    alias_col, canonical_col = columns.index("alias"), columns.index("canonical")
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(alias_col, canonical_col):
            raise InputError(f"expected {len(columns)} columns, found {len(row)}", path=path, line=line)
        yield row[alias_col], row[canonical_col], line


class Mention(NamedTuple):
    """One entity mention after normalisation and in-document resolution.

    key (str): The actor key it resolves to.
    raw (str): The cleaned text as written (kept as an alias of the actor).
    label (str): The entity label.
    start (int): The index of its first token.
    """

    key: str
    raw: str
    label: str
    start: int


def resolve_in_doc(
    names: Iterable[Tuple[Name, str, int]],
    aliases: Optional[AliasTable] = None,
    person_labels: FrozenSet[str] = PERSON_LABELS,
) -> List[Mention]:
    """Resolve one document's mentions (steps 2 and the alias table).

    names (Iterable[Tuple[Name, str, int]]): (normalised name, label, start
        token) in document order; names with an empty key must be left out.
    aliases (Optional[AliasTable]): The user's table, applied first.
    person_labels (FrozenSet[str]): Labels whose one-word names are surnames.
    RETURNS (List[Mention]): The resolved mentions, in the same order.
    """
    latest_full: Dict[str, str] = {}
    resolved = []
    for name, label, start in names:
        key = name.key
        protected = False
        if aliases is not None:
            target = aliases.lookup(key)
            if target is not None:
                key, protected = target, True
            elif aliases.is_canonical(key):
                protected = True
        if label in person_labels:
            words = key.split(" ")
            if len(words) >= 2:
                latest_full[words[-1]] = key
            elif not protected and key in latest_full:
                key = latest_full[key]
        resolved.append(Mention(key, name.raw, label, start))
    return resolved


def dominant(counts: CounterT[str]) -> str:
    """The most frequent value; ties go to the alphabetically first."""
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def canonical_map(
    key_counts: Mapping[str, int],
    key_labels: Mapping[str, CounterT[str]],
    aliases: Optional[AliasTable] = None,
    person_labels: FrozenSet[str] = PERSON_LABELS,
) -> Dict[str, str]:
    """Map every key to its canonical key across the corpus (step 3).

    key_counts (Mapping[str, int]): Mentions per key over the whole corpus.
    key_labels (Mapping[str, Counter[str]]): Label counts per key.
    aliases (Optional[AliasTable]): Canonical names in it are never remapped.
    person_labels (FrozenSet[str]): Labels whose one-word names are surnames.
    RETURNS (Dict[str, str]): key → canonical key (identity for most keys).
    """
    best_full: Dict[str, Tuple[int, str]] = {}
    for key, count in key_counts.items():
        words = key.split(" ")
        if len(words) >= 2 and dominant(key_labels[key]) in person_labels:
            candidate = (-count, key)
            current = best_full.get(words[-1])
            if current is None or candidate < current:
                best_full[words[-1]] = candidate
    mapping = {}
    for key in key_counts:
        target = key
        if (
            " " not in key
            and key in best_full
            and dominant(key_labels[key]) in person_labels
            and not (aliases is not None and aliases.is_canonical(key))
        ):
            target = best_full[key][1]
        mapping[key] = target
    return mapping


def display_name(key: str, raw_counts: Mapping[str, int], aliases: Optional[AliasTable] = None) -> str:
    """Choose how an actor is written (see the module docstring).

    key (str): The canonical key.
    raw_counts (Mapping[str, int]): How often each raw form was written for it.
    aliases (Optional[AliasTable]): A canonical name in the table wins.
    RETURNS (str): The display name.
    """
    if aliases is not None and key in aliases.display:
        return aliases.display[key]
    full: Dict[str, int] = {}
    other: Dict[str, int] = {}
    for raw, count in raw_counts.items():
        surface = normalize_name(raw).surface
        target = full if surface.casefold() == key else other
        target[surface] = target.get(surface, 0) + count
    forms = full or other
    if not forms:
        return key
    return min(forms.items(), key=lambda item: (-item[1], item[0].isupper(), item[0]))[0]
