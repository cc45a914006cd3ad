"""BILUO tag sets and the transitions allowed between them (pure functions).

Tag 0 is always "O"; each label X adds "B-X", "I-X", "L-X" and "U-X" in that
order, so tag ids follow from the sorted label list and need no separate
serialization.
"""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.attrs import ENT_IOB, ENT_TYPE, IS_SPACE, ORTH
from spacy.tokens import Doc
from spacy.training import Example

PREFIXES = ("B", "I", "L", "U")
OUT = "O"


def tag_names(labels: Sequence[str]) -> List[str]:
    """The BILUO tag names for `labels`, "O" first.

    labels (Sequence[str]): The entity labels, in a fixed (sorted) order.
    RETURNS (List[str]): ["O", "B-L1", "I-L1", "L-L1", "U-L1", "B-L2", ...].
    """
    return [OUT] + [f"{prefix}-{label}" for label in labels for prefix in PREFIXES]


def split_tag(tag: str) -> Tuple[str, str]:
    """Split "B-PER" into ("B", "PER") and "O" into ("O", "")."""
    if tag == OUT:
        return OUT, ""
    prefix, _, label = tag.partition("-")
    return prefix, label


def allowed_transitions(labels: Sequence[str]) -> numpy.ndarray:
    """A boolean (n_tags, n_tags) matrix: may tag j follow tag i?

    B-X and I-X must be followed by I-X or L-X; O, L-X and U-X may be followed
    by O, B-Y or U-Y for any Y.
    """
    names = tag_names(labels)
    n = len(names)
    allowed = numpy.zeros((n, n), dtype=bool)
    for i, prev in enumerate(names):
        p_prefix, p_label = split_tag(prev)
        for j, nxt in enumerate(names):
            n_prefix, n_label = split_tag(nxt)
            if p_prefix in ("B", "I"):
                allowed[i, j] = n_prefix in ("I", "L") and n_label == p_label
            else:
                allowed[i, j] = n_prefix in (OUT, "B", "U")
    return allowed


def allowed_starts(labels: Sequence[str]) -> numpy.ndarray:
    """A boolean (n_tags,) vector: may a sequence start with this tag?"""
    return numpy.array(
        [split_tag(t)[0] in (OUT, "B", "U") for t in tag_names(labels)], dtype=bool
    )


def allowed_ends(labels: Sequence[str]) -> numpy.ndarray:
    """A boolean (n_tags,) vector: may a sequence end with this tag?"""
    return numpy.array(
        [split_tag(t)[0] in (OUT, "L", "U") for t in tag_names(labels)], dtype=bool
    )


def is_valid_sequence(tag_ids: Sequence[int], labels: Sequence[str]) -> bool:
    """Whether a sequence of tag ids is a valid BILUO sequence."""
    if len(tag_ids) == 0:
        return True
    trans = allowed_transitions(labels)
    if not allowed_starts(labels)[tag_ids[0]] or not allowed_ends(labels)[tag_ids[-1]]:
        return False
    return all(trans[a, b] for a, b in zip(tag_ids[:-1], tag_ids[1:]))


def tags_to_spans(tag_ids: Sequence[int], labels: Sequence[str]) -> List[Tuple[int, int, str]]:
    """Turn a valid BILUO tag-id sequence into (start, end, label) token spans.

    tag_ids (Sequence[int]): One tag id per token.
    labels (Sequence[str]): The label list the tag ids refer to.
    RETURNS (List[Tuple[int, int, str]]): Spans, end exclusive.
    """
    spans = []
    start: Optional[int] = None
    for i, tag_id in enumerate(tag_ids):
        if tag_id == 0:
            start = None
            continue
        prefix = PREFIXES[(tag_id - 1) % 4]
        label = labels[(tag_id - 1) // 4]
        if prefix == "U":
            spans.append((i, i + 1, label))
            start = None
        elif prefix == "B":
            start = i
        elif prefix == "L" and start is not None:
            spans.append((start, i + 1, label))
            start = None
    return spans


def tag_ids_from_strings(
    tags: Iterable[Optional[str]], labels: Sequence[str]
) -> List[int]:
    """Map BILUO strings to tag ids; None (unknown gold) becomes -1.

    RAISES (KeyError): For a tag whose label is not in `labels`.
    """
    index = {name: i for i, name in enumerate(tag_names(labels))}
    return [-1 if tag is None or tag == "-" else index[tag] for tag in tags]


# spaCy's ENT_IOB codes.
_MISSING, _INSIDE, _OUTSIDE, _BEGIN = 0, 1, 2, 3


def same_tokens(example: Example) -> bool:
    """Whether the predicted and reference docs have identical tokens, so the
    gold tags can be read off the reference without alignment."""
    x, y = example.predicted, example.reference
    return len(x) == len(y) and bool(numpy.array_equal(x.to_array(ORTH), y.to_array(ORTH)))


def gold_tag_ids(doc: Doc, label_ids: Dict[int, int]) -> numpy.ndarray:
    """BILUO tag ids of a reference doc's entities; -1 where unannotated.

    The vectorised equivalent of `Example.get_aligned_ner` for identically
    tokenized docs (the common case), which walks the tokens in Python.
    Whitespace tokens without annotation count as "O", as there.

    doc (Doc): The reference doc.
    label_ids (Dict[int, int]): Label hash -> label index.
    RETURNS (numpy.ndarray): One tag id per token.
    RAISES (KeyError): With the label hash, for a label not in `label_ids`.
    """
    n = len(doc)
    if not doc.has_annotation("ENT_IOB"):
        return numpy.full((n,), -1, dtype="int64")
    arr = doc.to_array([ENT_IOB, ENT_TYPE, IS_SPACE]).astype("uint64")
    iob, types, is_space = arr[:, 0].astype("int64"), arr[:, 1], arr[:, 2].astype(bool)
    tags = numpy.full((n,), -1, dtype="int64")
    tags[iob == _OUTSIDE] = 0
    tags[(iob == _MISSING) & is_space] = 0
    in_entity = (iob == _BEGIN) | (iob == _INSIDE)
    if in_entity.any():
        next_iob = numpy.append(iob[1:], _OUTSIDE)
        ends = next_iob != _INSIDE
        begins = iob == _BEGIN
        offsets = numpy.where(begins & ends, 3, numpy.where(begins, 0, numpy.where(ends, 2, 1)))
        for i in numpy.flatnonzero(in_entity).tolist():
            tags[i] = 1 + 4 * label_ids[int(types[i])] + int(offsets[i])
    return tags
