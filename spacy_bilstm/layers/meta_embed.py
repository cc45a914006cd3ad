"""A thinc layer embedding document metadata (e.g. the speaker's party).

Each field named in `fields` is read from `doc._.meta` and looked up in a
learned table: one row per value seen in the training data, plus one
"unknown" row per field for values never seen in training, for a missing
key and for docs without `_.meta`. The value vocabulary lives in the
layer's `attrs`, which thinc writes into the model's bytes, so it is saved
and restored with the pipeline together with the table it indexes.
"""
from bisect import bisect_left
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy
from spacy.tokens import Doc
from thinc.api import Model, uniform_init
from thinc.types import Floats2d, Ints2d

from ..extensions import META

MetaValues = Dict[str, List[str]]


def meta_value(doc: Doc, field: str) -> Optional[str]:
    """The value of one metadata field of a doc, as the layer compares it.

    Values are compared as stripped strings (so 3 and "3" are one value);
    None, an empty string, a nested dict or list, a missing key and a doc
    without a `_.meta` dict all count as missing.

    doc (Doc): The document; its metadata is read from `doc._.meta`.
    field (str): The key, e.g. "party".
    RETURNS (Optional[str]): The value, or None if missing.
    """
    if not Doc.has_extension(META):
        return None
    meta = doc._.get(META)
    if not isinstance(meta, dict):
        return None
    value = meta.get(field)
    if value is None or isinstance(value, (dict, list, tuple)):
        return None
    text = str(value).strip()
    return text or None


def collect_meta_values(docs: Iterable[Doc], fields: Sequence[str]) -> MetaValues:
    """The sorted distinct values of each field over some docs.

    docs (Iterable[Doc]): The documents, e.g. the training data (read once).
    fields (Sequence[str]): The metadata keys.
    RETURNS (Dict[str, List[str]]): For each field its values, sorted, so
        that the same data gives the same table rows in any order.
    """
    found: Dict[str, Set[str]] = {field: set() for field in fields}
    for doc in docs:
        for field in fields:
            value = meta_value(doc, field)
            if value is not None:
                found[field].add(value)
    return {field: sorted(found[field]) for field in fields}


def MetaEmbed(fields: Sequence[str], width: int, dropout: float = 0.0) -> Model[List[Doc], Floats2d]:
    """Embed the metadata fields of each doc and concatenate the vectors.

    The vocabulary is set by `set_meta_values` (the component collects it
    from all training examples) or, failing that, from the docs given to
    `initialize`.

    fields (Sequence[str]): The `doc._.meta` keys to embed, in output order.
    width (int): The vector width per field.
    dropout (float): In training only, the probability that a doc's
        metadata is replaced with "unknown" (all fields at once), so that
        the unknown vectors are learned and the text keeps its weight.
    RETURNS (Model[List[Doc], Floats2d]): (n_docs, len(fields) * width).
    """
    return Model(
        "meta_embed",
        _meta_forward,
        init=_meta_init,
        dims={"nO": len(fields) * width},
        attrs={"fields": list(fields), "width": width, "dropout": dropout, "values": None},
    )


def set_meta_values(model: Model[List[Doc], Floats2d], docs: Iterable[Doc]) -> None:
    """Set a `MetaEmbed` layer's vocabulary from docs, before it is initialized.

    model (Model[List[Doc], Floats2d]): The layer.
    docs (Iterable[Doc]): The training docs.
    """
    model.attrs["values"] = collect_meta_values(docs, model.attrs["fields"])


def _offsets(model: Model) -> List[int]:
    """The first row (the "unknown" row) of each field in the table."""
    offsets = []
    row = 0
    for field in model.attrs["fields"]:
        offsets.append(row)
        row += len(model.attrs["values"][field]) + 1
    return offsets


def _meta_init(model: Model[List[Doc], Floats2d], X: Optional[List[Doc]] = None, Y=None) -> None:
    if model.attrs["values"] is None:
        set_meta_values(model, X or [])
    n_rows = sum(len(model.attrs["values"][field]) + 1 for field in model.attrs["fields"])
    table = uniform_init(model.ops, (n_rows, model.attrs["width"]))
    # The unknown rows start at zero: without metadata dropout they are
    # never trained, and a zero vector leaves the prediction to the text.
    for offset in _offsets(model):
        table[offset] = 0.0
    model.set_param("E", table)


def meta_rows(model: Model[List[Doc], Floats2d], docs: Sequence[Doc]) -> Ints2d:
    """The table row of each doc's value of each field (numpy, on the CPU).

    model (Model[List[Doc], Floats2d]): An initialized `MetaEmbed` layer.
    docs (Sequence[Doc]): The documents.
    RETURNS (Ints2d): (n_docs, n_fields) row indices.
    """
    fields = model.attrs["fields"]
    vocab = model.attrs["values"]
    offsets = _offsets(model)
    rows = numpy.zeros((len(docs), len(fields)), dtype="int32")
    for j, (field, offset) in enumerate(zip(fields, offsets)):
        values = vocab[field]
        for i, doc in enumerate(docs):
            value = meta_value(doc, field)
            if value is None:
                rows[i, j] = offset
                continue
            # The values are sorted: a binary search needs no index to be
            # built, cached or saved beside them.
            k = bisect_left(values, value)
            rows[i, j] = offset + 1 + k if k < len(values) and values[k] == value else offset
    return rows


def _meta_forward(
    model: Model[List[Doc], Floats2d], docs: List[Doc], is_train: bool
) -> Tuple[Floats2d, Callable]:
    table = model.get_param("E")
    width = model.attrs["width"]
    rows = meta_rows(model, docs)
    rate = model.attrs["dropout"]
    if is_train and rate > 0 and len(docs):
        # numpy's global generator, which spaCy seeds with `training.seed`
        # (as it does thinc's dropout masks on the CPU): the same seed drops
        # the same docs, on the CPU and on a GPU.
        dropped = numpy.random.random(len(docs)) < rate
        rows[dropped] = numpy.asarray(_offsets(model), dtype="int32")
    ids = model.ops.asarray_i(rows.reshape(-1))
    Y = model.ops.asarray2f(table[ids].reshape(len(docs), -1))

    def backprop(dY: Floats2d) -> List[Doc]:
        d_table = model.ops.alloc2f(*table.shape)
        model.ops.scatter_add(d_table, ids, model.ops.xp.ascontiguousarray(dY).reshape(-1, width))
        model.inc_grad("E", d_table)
        return []

    return Y, backprop
