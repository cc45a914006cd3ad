"""A thinc layer embedding tokens with the vocab's static vectors.

spaCy's own `StaticVectors` keeps the table frozen. Here the table can also
be fine-tuned: a hashed correction table, initialised to zero, is added to
each token's vector before the projection. Its rows are learned only for the
words that occur in training, exactly the rows that fine-tuning the table
itself would change, without copying a 400,000-row table into the model (and
into every saved pipeline). Words never seen in training keep their
pretrained vectors.
"""
from typing import Callable, List, Optional, Tuple, cast

import numpy
from spacy.attrs import IDS, ORTH
from spacy.tokens import Doc
from spacy.vectors import Mode, Vectors
from thinc.api import HashEmbed, Model, glorot_uniform_init, zero_init
from thinc.types import Floats2d, Ints1d

InT = List[Doc]
OutT = List[Floats2d]


def StaticVectorsEmbed(
    nO: int, finetune: bool = False, finetune_rows: int = 20000, attr: Optional[str] = None
) -> Model[InT, OutT]:
    """Project each token's static vector (zero if it has none) to width `nO`.

    The vectors are looked up by `attr`, or by the attribute the table says
    it was built with. Give `attr` for lower-cased vectors such as GloVe:
    spaCy 3.8 saves a default-mode table's attribute nowhere, so a table made
    with `spacy init vectors --attr LOWER` is looked up by ORTH once loaded
    from disk, and "Labour" no longer finds "labour".

    nO (int): Output width.
    finetune (bool): Learn a correction to the pretrained vectors.
    finetune_rows (int): Rows of the hashed correction table.
    attr (Optional[str]): The token attribute to look vectors up by, e.g.
        "LOWER"; None for the table's own.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, nO) array per doc.
    """
    if attr is not None and attr.upper() not in IDS:
        raise ValueError(
            f"Unknown vectors attribute {attr!r}: use a spaCy token attribute such as 'LOWER' or 'ORTH'."
        )
    layers = []
    if finetune:
        # nO of the correction table is the vectors' width, set at init; left
        # unset until then so that loading a saved model can set it.
        layers.append(HashEmbed(nO=None, nV=finetune_rows, column=0, initializer=zero_init, seed=17))  # type: ignore[arg-type]
    return Model(
        "static_vectors_embed",
        _forward,
        init=_init,
        layers=layers,
        params={"W": None},
        dims={"nO": nO, "nM": None},
        attrs={"finetune": finetune, "vectors_attr": attr.upper() if attr else None},
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
            "The model uses static vectors (include_static_vectors = true), "
            "but the vocab has none. Set [initialize] vectors to a pipeline with "
            "vectors (e.g. the output of `spacy init vectors en glove.6B.50d.txt.gz "
            "OUT --attr LOWER`), or set include_static_vectors = false."
        )
    model.set_dim("nM", width)
    model.set_param("W", glorot_uniform_init(model.ops, (model.get_dim("nO"), width)))
    if model.layers:
        table = model.layers[0]
        for node in table.walk():
            if node.has_dim("nO") is not False:
                node.set_dim("nO", width, force=True)
        table.initialize()


def _lookup(model: Model, docs: InT) -> Tuple[Floats2d, numpy.ndarray]:
    vectors = docs[0].vocab.vectors
    name = model.attrs.get("vectors_attr")
    key_attr = IDS[name] if name else getattr(vectors, "attr", ORTH)
    # Keys stay on the CPU: the key-to-row map of the table is a CPU hash map.
    keys = numpy.concatenate([cast(Ints1d, doc.to_array(key_attr)) for doc in docs]).astype(
        "uint64"
    )
    if isinstance(vectors, Vectors) and vectors.mode == Mode.default:
        rows = model.ops.asarray(vectors.find(keys=keys))
        table = model.ops.asarray(vectors.data)
        V = model.ops.as_contig(table[rows])
        V[rows < 0] = 0
    else:
        V = model.ops.as_contig(model.ops.asarray(vectors.get_batch(keys)))
    return model.ops.asarray2f(V), keys


def _forward(model: Model[InT, OutT], docs: InT, is_train: bool) -> Tuple[OutT, Callable]:
    nO = model.get_dim("nO")
    lengths = [len(doc) for doc in docs]
    if not sum(lengths):
        return [model.ops.alloc2f(n, nO) for n in lengths], lambda dY: []
    V, keys = _lookup(model, docs)
    backprop_table = None
    if model.layers:
        correction, backprop_table = model.layers[0](
            model.ops.asarray(keys.reshape(-1, 1)), is_train
        )
        V = V + correction
    W = model.get_param("W")
    Y = model.ops.gemm(V, W, trans2=True)
    splits = model.ops.asarray1i(lengths)
    Ys = list(model.ops.unflatten(Y, splits))

    def backprop(dYs: OutT) -> InT:
        dY = model.ops.flatten(dYs)
        model.inc_grad("W", model.ops.gemm(dY, V, trans1=True))
        if backprop_table is not None:
            backprop_table(model.ops.gemm(dY, W))
        return []

    return Ys, backprop
