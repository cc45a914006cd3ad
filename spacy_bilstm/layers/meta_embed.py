"""A thinc layer embedding document metadata (e.g. the speaker's party).

Each field named in `fields` is read from `doc._.meta` and looked up in a
learned table: one row per value seen in the training data, plus one
"unknown" row per field for values never seen in training, for a missing
key and for docs without `_.meta`. The value vocabulary lives in the
layer's `attrs`, which thinc writes into the model's bytes, so it is saved
and restored with the pipeline together with the table it indexes.

With `prior = True` the layer also outputs, per doc, the log-ratio of the
label distribution given each field's value to the overall one, counted in
the training data (`set_meta_prior`): log p(y | party) - log p(y). Added to
the classifier's scores before the softmax, it makes the model start from
the party-only rule and learn from the text what departs from it, instead of
having to learn the party line through an embedding in competition with a
text model that can memorise the training speeches.
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


def MetaEmbed(
    fields: Sequence[str], width: int, dropout: float = 0.0, prior: bool = False
) -> Model[List[Doc], Floats2d]:
    """Embed the metadata fields of each doc and concatenate the vectors.

    The vocabulary is set by `set_meta_values` (the component collects it
    from all training examples) or, failing that, from the docs given to
    `initialize`.

    fields (Sequence[str]): The `doc._.meta` keys to embed, in output order.
    width (int): The vector width per field.
    dropout (float): In training only, the probability that a doc's
        metadata is replaced with "unknown" (all fields at once), so that
        the unknown vectors are learned and the text keeps its weight.
    prior (bool): Also output the label log-prior ratio of each doc's
        values (summed over fields; 0 for unknown values), as n_labels more
        columns after the vectors. It is counted, not learned: no gradient.
    RETURNS (Model[List[Doc], Floats2d]): (n_docs, len(fields) * width),
        plus n_labels columns with `prior`.
    """
    return Model(
        "meta_embed",
        _meta_forward,
        init=_meta_init,
        dims={"nO": len(fields) * width},
        attrs={"fields": list(fields), "width": width, "dropout": dropout, "values": None,
               "use_prior": prior, "prior": None},
    )


def set_meta_values(model: Model[List[Doc], Floats2d], docs: Iterable[Doc]) -> None:
    """Set a `MetaEmbed` layer's vocabulary from docs, before it is initialized.

    model (Model[List[Doc], Floats2d]): The layer.
    docs (Iterable[Doc]): The training docs.
    """
    model.attrs["values"] = collect_meta_values(docs, model.attrs["fields"])


def set_meta_prior(
    model: Model[List[Doc], Floats2d], labelled: Iterable[Tuple[Doc, str]], labels: Sequence[str],
    smoothing: float = 1.0,
) -> None:
    """Count the label log-prior ratio of every metadata value, after
    `set_meta_values` and before the layer is initialized.

    For a field value v and label y: log p(y | v) - log p(y), both counted
    over the training docs with add-`smoothing` smoothing, so that a value
    seen once moves the scores little. The unknown rows stay 0: a doc
    without metadata is scored by the text alone.

    model (Model[List[Doc], Floats2d]): A `MetaEmbed` layer with prior = True.
    labelled (Iterable[Tuple[Doc, str]]): Training docs with their gold label.
    labels (Sequence[str]): The labels, in the order of the classifier's scores.
    smoothing (float): Added to every count.
    """
    fields = model.attrs["fields"]
    values = model.attrs["values"]
    index = {label: j for j, label in enumerate(labels)}
    n_rows = sum(len(values[field]) + 1 for field in fields)
    counts = numpy.zeros((n_rows, len(labels)), dtype="float64")
    overall = numpy.zeros(len(labels), dtype="float64")
    docs, gold = [], []
    for doc, label in labelled:
        if label in index:
            docs.append(doc)
            gold.append(index[label])
    if docs:
        rows = meta_rows(model, docs)
        for k, label in enumerate(gold):
            overall[label] += 1
            for row in rows[k]:
                counts[row, label] += 1
    log_overall = numpy.log((overall + smoothing) / (overall.sum() + smoothing * len(labels)))
    ratio = numpy.log((counts + smoothing) / (counts.sum(axis=1, keepdims=True) + smoothing * len(labels)))
    ratio -= log_overall
    for offset in _offsets(model):
        ratio[offset] = 0.0
    model.attrs["prior"] = ratio.astype("float32").tolist()


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
    if model.attrs.get("use_prior"):
        if model.attrs["prior"] is None:
            raise ValueError("meta_prior is on but the prior was never counted: initialize the component first.")
        prior = numpy.asarray(model.attrs["prior"], dtype="float32")
        offsets = prior[rows].sum(axis=1) if len(docs) else numpy.zeros((0, prior.shape[1]), dtype="float32")
        Y = model.ops.xp.hstack((Y, model.ops.asarray2f(offsets)))

    def backprop(dY: Floats2d) -> List[Doc]:
        # The prior columns, if any, are counts: only the vectors learn.
        dY = model.ops.xp.ascontiguousarray(dY[:, : table.shape[1] * len(model.attrs["fields"])])
        d_table = model.ops.alloc2f(*table.shape)
        model.ops.scatter_add(d_table, ids, dY.reshape(-1, width))
        model.inc_grad("E", d_table)
        return []

    return Y, backprop
