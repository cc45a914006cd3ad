"""Deterministic train/dev splits (pure functions over any items).

Benchmarks and converters call the same functions, so a baseline and a neural
model built from the same reader output see exactly the same documents.

* `grouped_split` keeps every group (e.g. a debate) whole in one split, so no
  speech from a dev debate is seen in training.
* `stratified_split` keeps each stratum's (e.g. target+label) share of the
  data the same in both splits, for data without groups.
* `split_docs` picks one of them for Docs from `textcat_sources`;
  `group_by_meta` names the meta key that holds the groups.
* `grouped_folds` and `doc_folds` assign items to k cross-validation folds
  the same two ways.

Both return the items in their input order within each split, and depend
only on the items (in order), the key functions, `dev_fraction` and `seed`.
"""
import random
from pathlib import Path
from typing import Callable, Dict, Hashable, Iterable, List, Optional, Sequence, Tuple, TypeVar, Union

from spacy.tokens import Doc

from ..errors import InputError

T = TypeVar("T")


def _check_fraction(dev_fraction: float) -> None:
    if not 0.0 < dev_fraction < 1.0:
        raise ValueError(f"dev_fraction must be between 0 and 1 (exclusive), not {dev_fraction}")


def _key_order(key: Hashable) -> Tuple[str, str]:
    # Sort keys by type name and text, so mixed key types never compare and the
    # order does not depend on the order the groups appear in.
    return (type(key).__name__, str(key))


def grouped_split(
    items: Sequence[T],
    group_of: Callable[[T], Hashable],
    dev_fraction: float,
    seed: int = 0,
) -> Tuple[List[T], List[T]]:
    """Split items into train and dev, keeping every group whole.

    The groups are sorted by key and shuffled with `seed`; then, in that
    order, a group goes to dev if that brings the number of dev items closer
    to ``dev_fraction * len(items)`` without emptying train. With two or more
    groups both splits are non-empty: if no group fits, the smallest one goes
    to dev.

    items (Sequence[T]): The items, e.g. Docs.
    group_of (Callable[[T], Hashable]): The group key of an item.
    dev_fraction (float): The target share of dev items, in (0, 1).
    seed (int): The shuffle seed.
    RETURNS (Tuple[List[T], List[T]]): (train, dev), each in input order.
    RAISES (ValueError): If dev_fraction is not in (0, 1).
    """
    _check_fraction(dev_fraction)
    keys = [group_of(item) for item in items]
    sizes: Dict[Hashable, int] = {}
    for key in keys:
        sizes[key] = sizes.get(key, 0) + 1
    order = sorted(sizes, key=_key_order)
    random.Random(seed).shuffle(order)
    target = dev_fraction * len(items)
    dev_groups = set()
    n_dev = 0
    for key in order:
        closer = abs(n_dev + sizes[key] - target) < abs(n_dev - target)
        # Never move the last training group: train must not end up empty.
        if closer and n_dev + sizes[key] < len(items):
            dev_groups.add(key)
            n_dev += sizes[key]
    if not dev_groups and len(order) >= 2:
        dev_groups.add(min(order, key=lambda k: sizes[k]))
    train = [item for item, key in zip(items, keys) if key not in dev_groups]
    dev = [item for item, key in zip(items, keys) if key in dev_groups]
    return train, dev


def stratified_split(
    items: Sequence[T],
    stratum_of: Callable[[T], Hashable],
    dev_fraction: float,
    seed: int = 0,
) -> Tuple[List[T], List[T]]:
    """Split items into train and dev with the same stratum shares in both.

    Strata are visited in sorted key order; each one's items are shuffled
    with one `random.Random(seed)` and its first items go to dev. The dev
    counts are rounded cumulatively, so the total is
    ``round(dev_fraction * len(items))`` and each stratum is within one item
    of its exact share.

    items (Sequence[T]): The items.
    stratum_of (Callable[[T], Hashable]): The stratum key (e.g. target+label).
    dev_fraction (float): The share of dev items, in (0, 1).
    seed (int): The shuffle seed.
    RETURNS (Tuple[List[T], List[T]]): (train, dev), each in input order.
    RAISES (ValueError): If dev_fraction is not in (0, 1).
    """
    _check_fraction(dev_fraction)
    strata: Dict[Hashable, List[int]] = {}
    for i, item in enumerate(items):
        strata.setdefault(stratum_of(item), []).append(i)
    rng = random.Random(seed)
    dev_indices = set()
    seen = 0
    taken = 0
    for key in sorted(strata, key=_key_order):
        members = list(strata[key])
        rng.shuffle(members)
        seen += len(members)
        n_dev = round(dev_fraction * seen) - taken
        dev_indices.update(members[:n_dev])
        taken += n_dev
    train = [item for i, item in enumerate(items) if i not in dev_indices]
    dev = [item for i, item in enumerate(items) if i in dev_indices]
    return train, dev


def doc_group(doc: Doc) -> Hashable:
    """``doc._.meta["group"]`` (the unit a split keeps whole)."""
    return (doc._.meta or {})["group"]


def group_by_meta(docs: Iterable[Doc], key: str, path: Optional[Union[str, Path]] = None) -> int:
    """Set each Doc's ``meta["group"]`` (which `split_docs` and `doc_folds`
    keep whole) from ``meta[key]``, e.g. a JSONL corpus's "debate_id".

    docs (Iterable[Doc]): The Docs; changed in place.
    key (str): The meta key naming each Doc's group.
    path (Optional[Union[str, Path]]): The file the Docs came from, for the
        error (a Doc's own meta "source" and "line" are used where set).
    RETURNS (int): The number of distinct groups.
    RAISES (InputError): See `set_group_from_meta`.
    """
    return len({set_group_from_meta(doc, key, path, position) for position, doc in enumerate(docs, start=1)})


def set_group_from_meta(
    doc: Doc, key: str, path: Optional[Union[str, Path]] = None, position: Optional[int] = None
) -> Hashable:
    """Set one Doc's ``meta["group"]`` from ``meta[key]``.

    doc (Doc): The Doc; changed in place.
    key (str): The meta key naming its group.
    path (Optional[Union[str, Path]]): Its file, where its meta has no "source".
    position (Optional[int]): Its 1-based place in the file, where its meta
        has no "line".
    RETURNS (Hashable): The group.
    RAISES (InputError): If the meta lacks `key` (or has it empty), naming
        file and line: a Doc without a group would be a group of its own,
        which is rarely what the corpus means.
    """
    meta = doc._.meta if doc._.meta is not None else {}
    value = meta.get(key)
    if value is None or value == "":
        raise InputError(
            f"meta {key!r} is missing or empty, so this document has no group "
            f"(--group-by {key} needs it on every document)",
            path=meta.get("source", path),
            line=meta.get("line", position),
            reason="bad_meta",
        )
    value = value if isinstance(value, (str, int)) else str(value)
    doc._.meta = {**meta, "group": value}
    return value


def ner_doc_group(doc: Doc) -> Hashable:
    """The document an NER Doc belongs to, which a train/dev split keeps whole.

    ``doc._.meta["doc"]`` (JSONL records' meta, CoNLL's -DOCSTART- count);
    else the record itself, by its source line.

    doc (Doc): A Doc from `corpora.read_ner`.
    RETURNS (Hashable): The group key.
    """
    meta = doc._.meta or {}
    if meta.get("doc") is not None:
        return ("doc", str(meta["doc"]))
    return ("record", str(meta.get("source", "")), int(meta.get("line", 0)))


def doc_stratum(doc: Doc) -> Hashable:
    """``doc._.meta["stratum"]`` if set, else the sorted gold labels and the target."""
    meta = doc._.meta or {}
    if "stratum" in meta:
        return meta["stratum"]
    gold = tuple(sorted(label for label, value in doc.cats.items() if value >= 0.5))
    return (gold, doc._.stance_target or "")


def split_strategy(docs: Sequence[Doc]) -> str:
    """How `split_docs` splits these Docs.

    * "stratum" if any Doc's meta has "stratum" (SemEval tweets):
      stratified by it;
    * else "group" if every Doc's meta has "group" (debates): grouped;
    * else "label": stratified by gold label(s) and target.

    docs (Sequence[Doc]): Docs from a `textcat_sources` reader.
    RETURNS (str): "stratum", "group" or "label".
    """
    metas = [doc._.meta or {} for doc in docs]
    if any("stratum" in meta for meta in metas):
        return "stratum"
    if metas and all("group" in meta for meta in metas):
        return "group"
    return "label"


def split_docs(docs: Sequence[Doc], dev_fraction: float, seed: int = 0) -> Tuple[List[Doc], List[Doc]]:
    """Split labelled Docs as their source requires (see `split_strategy`).

    docs (Sequence[Doc]): Docs from a `textcat_sources` reader.
    dev_fraction (float): The share of dev documents, in (0, 1).
    seed (int): The shuffle seed.
    RETURNS (Tuple[List[Doc], List[Doc]]): (train, dev).
    """
    if split_strategy(docs) == "group":
        return grouped_split(docs, doc_group, dev_fraction, seed)
    return stratified_split(docs, doc_stratum, dev_fraction, seed)


def grouped_folds(
    items: Sequence[T],
    group_of: Callable[[T], Hashable],
    n_folds: int,
    seed: int = 0,
) -> List[int]:
    """Assign items to `n_folds` folds, keeping every group whole.

    The groups are sorted by key, shuffled with `seed`, then (largest first,
    ties in shuffled order) each goes to the fold with the fewest items so
    far (the lowest-numbered on a tie), so the folds are as even as whole
    groups allow.

    items (Sequence[T]): The items, e.g. Docs.
    group_of (Callable[[T], Hashable]): The group key of an item.
    n_folds (int): The number of folds, at least 2 and at most the number of groups.
    seed (int): The shuffle seed.
    RETURNS (List[int]): The fold (0 .. n_folds - 1) of each item, in input order.
    RAISES (ValueError): If there are fewer groups than folds, or n_folds < 2.
    """
    keys = [group_of(item) for item in items]
    sizes: Dict[Hashable, int] = {}
    for key in keys:
        sizes[key] = sizes.get(key, 0) + 1
    _check_folds(n_folds, len(sizes), "groups")
    order = sorted(sizes, key=_key_order)
    random.Random(seed).shuffle(order)
    # sorted() is stable: equal sizes keep their shuffled order.
    order = sorted(order, key=lambda key: -sizes[key])
    loads = [0] * n_folds
    fold_of: Dict[Hashable, int] = {}
    for key in order:
        fold = min(range(n_folds), key=lambda k: (loads[k], k))
        fold_of[key] = fold
        loads[fold] += sizes[key]
    return [fold_of[key] for key in keys]


def stratified_folds(
    items: Sequence[T],
    stratum_of: Callable[[T], Hashable],
    n_folds: int,
    seed: int = 0,
) -> List[int]:
    """Assign items to `n_folds` folds with each stratum spread evenly.

    Strata are visited in sorted key order; each one's items are shuffled
    with one `random.Random(seed)` and dealt out round-robin, continuing from
    the fold where the previous stratum stopped, so fold sizes differ by at
    most one.

    items (Sequence[T]): The items.
    stratum_of (Callable[[T], Hashable]): The stratum key (e.g. target+label).
    n_folds (int): The number of folds, at least 2 and at most the number of items.
    seed (int): The shuffle seed.
    RETURNS (List[int]): The fold of each item, in input order.
    RAISES (ValueError): If there are fewer items than folds, or n_folds < 2.
    """
    _check_folds(n_folds, len(items), "items")
    strata: Dict[Hashable, List[int]] = {}
    for i, item in enumerate(items):
        strata.setdefault(stratum_of(item), []).append(i)
    rng = random.Random(seed)
    folds = [0] * len(items)
    dealt = 0
    for key in sorted(strata, key=_key_order):
        members = list(strata[key])
        rng.shuffle(members)
        for i in members:
            folds[i] = dealt % n_folds
            dealt += 1
    return folds


def doc_folds(docs: Sequence[Doc], n_folds: int, seed: int = 0) -> List[int]:
    """Cross-validation folds of labelled Docs, made as `split_docs` splits
    them: whole debates where every Doc has a group, else stratified.

    docs (Sequence[Doc]): Docs from a `textcat_sources` reader.
    n_folds (int): The number of folds.
    seed (int): The shuffle seed.
    RETURNS (List[int]): The fold of each Doc, in input order.
    """
    if split_strategy(docs) == "group":
        return grouped_folds(docs, doc_group, n_folds, seed)
    return stratified_folds(docs, doc_stratum, n_folds, seed)


def _check_folds(n_folds: int, n_units: int, units: str) -> None:
    if n_folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, not {n_folds}")
    if n_units < n_folds:
        raise ValueError(f"{n_folds} folds need at least {n_folds} {units}, but there are {n_units}")
