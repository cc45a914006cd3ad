"""A thinc layer embedding tokens with the vocab's static vectors.

spaCy's own `StaticVectors` keeps the table frozen. Here the table can also
be fine-tuned: a correction, initialised to zero, is added to each token's
vector before the projection. The correction has one row per row of the
vectors table, for the first `finetune_rows` rows (GloVe, word2vec and
spaCy's pruned tables are sorted by frequency, so these are the common
words), and not for the rest, which stay frozen. It is indexed by the
table's own row, not hashed: a row changes only when a word that reads it
occurs in training, so words never seen in training keep their pretrained
vectors exactly. (A hashed correction would hand every unseen word the sum
of rows learned for other words, which is noise exactly where the
pretrained vectors should help most.) The shared table itself is never
written to, and the model saves only the correction, not a copy of a
400,000-row table.
"""
import warnings
from typing import Callable, List, Optional, Tuple, cast

import numpy
from spacy.attrs import IDS, ORTH
from spacy.tokens import Doc
from spacy.vectors import Mode, Vectors
from thinc.api import Model, glorot_uniform_init, registry
from thinc.types import Floats2d, Ints1d

InT = List[Doc]
OutT = List[Floats2d]


def check_vectors_options(include_static_vectors: bool, finetune: bool, attr: Optional[str]) -> None:
    """Refuse vectors options given without the vectors they apply to.

    include_static_vectors (bool): Whether the model embeds static vectors.
    finetune (bool): The model's `finetune_vectors`.
    attr (Optional[str]): The model's `vectors_attr`.
    RAISES (ValueError): If either option is set without static vectors.
    """
    if (finetune or attr is not None) and not include_static_vectors:
        raise ValueError("finetune_vectors and vectors_attr need include_static_vectors = true.")


@registry.layers("spacy_bilstm.StaticVectorsEmbed.v1")
def StaticVectorsEmbed(
    nO: int, finetune: bool = False, finetune_rows: int = 50000, attr: Optional[str] = None
) -> Model[InT, OutT]:
    """Project each token's static vector (zero if it has none) to width `nO`.

    The static-vectors sub-layer of the `.v2` architectures
    (`spacy_bilstm.WordCharEmbed.v2`, `LSTMTextCat.v2`, `MeanEmbedTextCat.v2`),
    whose outputs it joins by concatenation.

    The vectors are looked up by `attr`, or by the attribute the table says
    it was built with. Give `attr` for lower-cased vectors such as GloVe:
    spaCy 3.8 saves a default-mode table's attribute nowhere, so a table made
    with `spacy init vectors --attr LOWER` is looked up by ORTH once loaded
    from disk, and "Labour" no longer finds "labour".

    nO (int): Output width.
    finetune (bool): Learn a correction to the pretrained vectors.
    finetune_rows (int): Fine-tune at most this many rows of the table, the
        first ones; later rows stay frozen.
    attr (Optional[str]): The token attribute to look vectors up by, e.g.
        "LOWER"; None for the table's own.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, nO) array per doc.
    """
    if attr is not None and attr.upper() not in IDS:
        raise ValueError(
            f"Unknown vectors attribute {attr!r}: use a spaCy token attribute such as 'LOWER' or 'ORTH'."
        )
    if finetune_rows < 1:
        raise ValueError(f"finetune_rows must be at least 1, got {finetune_rows}")
    # The correction "D" is sized at init, from the table.
    params = {"W": None, "D": None} if finetune else {"W": None}
    return Model(
        "static_vectors_embed",
        _forward,
        init=_init,
        params=params,
        dims={"nO": nO, "nM": None},
        attrs={
            "finetune": finetune,
            "finetune_rows": finetune_rows,
            "vectors_attr": attr.upper() if attr else None,
        },
    )


def _init(model: Model[InT, OutT], X: Optional[InT] = None, Y=None) -> None:
    if model.has_param("W") and model.get_param("W") is not None:
        return
    if not X:
        raise ValueError("static_vectors_embed needs sample docs to find the vectors' width.")
    vectors = X[0].vocab.vectors
    width = vectors.shape[1] if vectors is not None else 0
    if not width:
        raise ValueError(
            "The model uses static vectors (a static_vectors sub-layer, or "
            "include_static_vectors = true in a .v1 architecture), but the vocab "
            "has none. Set [initialize] vectors to a pipeline with vectors (e.g. "
            "the output of `spacy init vectors en glove.6B.50d.txt.gz OUT --attr "
            "LOWER`), or leave them out (static_vectors = null; in .v1, "
            "include_static_vectors = false)."
        )
    model.set_dim("nM", width)
    model.set_param("W", glorot_uniform_init(model.ops, (model.get_dim("nO"), width)))
    if model.attrs["finetune"]:
        if not _has_word_rows(vectors):
            warnings.warn(
                "finetune_vectors has no effect with a floret vectors table: it has "
                "no row per word to correct, so the vectors stay frozen.",
                UserWarning,
            )
        n_rows = min(model.attrs["finetune_rows"], vectors.shape[0])
        model.set_param("D", model.ops.alloc2f(n_rows, width))


def _has_word_rows(vectors) -> bool:
    # Default-mode tables map each key to one row; floret tables hash subwords.
    return isinstance(vectors, Vectors) and vectors.mode == Mode.default


def _lookup(model: Model, docs: InT) -> Tuple[Floats2d, numpy.ndarray]:
    """The tokens' vectors (zero where there is none) and their table rows
    (-1 where there is none; for tables that are not in the default mode,
    -1 throughout, so nothing is fine-tuned)."""
    vectors = docs[0].vocab.vectors
    name = model.attrs.get("vectors_attr")
    key_attr = IDS[name] if name else getattr(vectors, "attr", ORTH)
    # Keys stay on the CPU: the key-to-row map of the table is a CPU hash map.
    keys = numpy.concatenate([cast(Ints1d, doc.to_array(key_attr)) for doc in docs]).astype(
        "uint64"
    )
    if _has_word_rows(vectors):
        rows = numpy.asarray(vectors.find(keys=keys), dtype="int64")
        table = model.ops.asarray(vectors.data)
        device_rows = model.ops.asarray(rows)
        V = model.ops.as_contig(table[device_rows])
        V[device_rows < 0] = 0
    else:
        # Floret tables hash subwords: there is no one row per word.
        V = model.ops.as_contig(model.ops.asarray(vectors.get_batch(keys)))
        rows = numpy.full(keys.shape, -1, dtype="int64")
    return model.ops.asarray2f(V), rows


def _forward(model: Model[InT, OutT], docs: InT, is_train: bool) -> Tuple[OutT, Callable]:
    nO = model.get_dim("nO")
    lengths = [len(doc) for doc in docs]
    if not sum(lengths):
        return [model.ops.alloc2f(n, nO) for n in lengths], lambda dY: []
    V, rows = _lookup(model, docs)
    tuned = None
    if model.attrs["finetune"]:
        D = model.get_param("D")
        # Positions of the tokens whose row has a correction, and those rows.
        positions = numpy.flatnonzero((rows >= 0) & (rows < D.shape[0]))
        tuned = (model.ops.asarray1i(positions), model.ops.asarray1i(rows[positions]))
        # V is this call's own array (gathered from the table), so adding in
        # place never touches the shared table; each position occurs once.
        V[tuned[0]] += D[tuned[1]]
    W = model.get_param("W")
    Y = model.ops.gemm(V, W, trans2=True)
    splits = model.ops.asarray1i(lengths)
    Ys = list(model.ops.unflatten(Y, splits))

    def backprop(dYs: OutT) -> InT:
        dY = model.ops.flatten(dYs)
        model.inc_grad("W", model.ops.gemm(dY, V, trans1=True))
        if tuned is not None:
            dV = model.ops.gemm(dY, W)
            dD = model.ops.alloc2f(*D.shape)
            # scatter_add, not dD[rows] += ...: a word twice in the batch
            # must add both gradients.
            model.ops.scatter_add(dD, tuned[1], dV[tuned[0]])
            model.inc_grad("D", dD)
        return []

    return Ys, backprop
