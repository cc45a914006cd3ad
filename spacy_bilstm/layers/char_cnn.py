"""Character features: a byte-level CNN per token, as a thinc layer.

Bytes rather than characters: every string, emoji and all, maps onto 256
ids with no vocabulary to build or serialize.
"""
from collections import OrderedDict
from typing import Callable, Dict, List, Tuple

import numpy
from spacy.tokens import Doc
from thinc.api import registry, ArgsKwargs, Model, torch2xp, xp2torch
from spacy.attrs import ORTH
from thinc.types import Floats2d, Ints1d, Ints2d

from .serialize import load_torch_state, save_torch_state

# Ids per word string are cached: words repeat (Zipf), so a dict lookup per
# token replaces per-token encoding work. The cache is cleared when full to
# bound memory on endless streams.
_CACHE_LIMIT = 200_000
# Kept outside `model.attrs`, which thinc serializes with the weights, and
# keyed by thinc's model id (thinc models take no weak references). Only the
# most recent few models keep a cache.
_CACHES: "OrderedDict[int, Dict[int, numpy.ndarray]]" = OrderedDict()
_MAX_CACHED_MODELS = 8


@registry.layers("spacy_bilstm.CharCNN.v1")
def CharCNN(
    nO: int, byte_width: int = 25, window: int = 3, max_bytes: int = 20
) -> Model[List[Doc], List[Floats2d]]:
    """Byte-level CNN features for each token.

    nO (int): The number of filters (output width).
    byte_width (int): The byte embedding width.
    window (int): The convolution window.
    max_bytes (int): Bytes kept per word: longer words keep their first and
        last `max_bytes // 2` bytes, so prefixes and suffixes both survive.
    RETURNS (Model[List[Doc], List[Floats2d]]): The layer.
    """
    from thinc.api import PyTorchWrapper_v3

    from .char_cnn_torch import ByteCNN

    wrapped = PyTorchWrapper_v3(
        ByteCNN(nO, byte_width, window),
        convert_inputs=_convert_inputs,
        convert_outputs=_convert_outputs,
        serialize_model=save_torch_state,
        deserialize_model=load_torch_state,
    )
    return Model(
        "char_cnn",
        _forward,
        layers=[wrapped],
        dims={"nO": nO},
        attrs={"max_bytes": max_bytes},
    )


def byte_ids(text: str, max_bytes: int) -> numpy.ndarray:
    """The padded byte-id row for one word."""
    from .char_cnn_torch import PAD_ID

    data = text.encode("utf8")
    if len(data) > max_bytes:
        half = max_bytes // 2
        data = data[:half] + data[len(data) - (max_bytes - half) :]
    row = numpy.full((max_bytes,), PAD_ID, dtype="int64")
    row[: len(data)] = numpy.frombuffer(data, dtype="uint8")
    return row


def _cache_for(model: Model) -> Dict[int, numpy.ndarray]:
    cache = _CACHES.pop(model.id, None)
    if cache is None:
        cache = {}
        while len(_CACHES) >= _MAX_CACHED_MODELS:
            _CACHES.popitem(last=False)
    _CACHES[model.id] = cache
    return cache


def _unique_byte_ids(
    docs: List[Doc], max_bytes: int, cache: Dict[int, numpy.ndarray]
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Byte ids of the distinct words in the batch, and each token's row.

    The CNN then runs once per distinct word rather than once per token:
    exactly the same features, a fraction of the work.
    """
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    orths = [doc.to_array(ORTH) for doc in docs]
    flat = numpy.concatenate(orths) if orths else numpy.zeros((0,), dtype="uint64")
    unique, inverse = numpy.unique(flat, return_inverse=True)
    rows = []
    strings = docs[0].vocab.strings if docs else None
    for orth in unique.tolist():
        row = cache.get(orth)
        if row is None:
            row = cache[orth] = byte_ids(strings[orth], max_bytes)
        rows.append(row)
    ids = numpy.stack(rows) if rows else numpy.zeros((0, max_bytes), dtype="int64")
    return ids, inverse.reshape(-1).astype("int64")


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    cache = _cache_for(model)
    ids, inverse = _unique_byte_ids(docs, model.attrs["max_bytes"], cache)
    lengths = model.ops.asarray1i([len(doc) for doc in docs])
    Y_flat, backprop_wrapped = model.layers[0]((ids, inverse), is_train)
    Y = list(model.ops.unflatten(Y_flat, lengths)) if docs else []

    def backprop(dY: List[Floats2d]) -> List[Doc]:
        if dY:
            backprop_wrapped(model.ops.flatten(dY))
        return []

    return Y, backprop


def _convert_inputs(
    model: Model, X: Tuple[Ints2d, Ints1d], is_train: bool
) -> Tuple[ArgsKwargs, Callable]:
    import torch

    device = next(model.shims[0]._model.parameters()).device
    ids, inverse = (torch.as_tensor(numpy.asarray(x)).to(device) for x in X)
    return ArgsKwargs(args=(ids, inverse), kwargs={}), lambda d: []


def _convert_outputs(model: Model, inputs_outputs, is_train: bool):
    _, Y_torch = inputs_outputs
    Y = model.ops.asarray2f(torch2xp(Y_torch))

    def backprop(dY: Floats2d) -> ArgsKwargs:
        return ArgsKwargs(args=(Y_torch,), kwargs={"grad_tensors": (xp2torch(dY),)})

    return Y, backprop
