"""Character features: a byte-level CNN per token, as a thinc layer.

Bytes rather than characters: every string, emoji and all, maps onto 256
ids with no vocabulary to build or serialize.
"""
from typing import Callable, Dict, List, Tuple

import numpy
from spacy.tokens import Doc
from thinc.api import registry, ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d, Ints2d

from .serialize import load_torch_state, save_torch_state

# Ids per word string are cached: words repeat (Zipf), so a dict lookup per
# token replaces per-token encoding work. The cache is cleared when full to
# bound memory on endless streams.
_CACHE_LIMIT = 200_000


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
        attrs={"max_bytes": max_bytes, "cache": {}},
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


def _doc_byte_ids(doc: Doc, max_bytes: int, cache: Dict[int, numpy.ndarray]) -> numpy.ndarray:
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    rows = []
    for token in doc:
        row = cache.get(token.orth)
        if row is None:
            row = cache[token.orth] = byte_ids(token.text, max_bytes)
        rows.append(row)
    if not rows:
        return numpy.zeros((0, max_bytes), dtype="int64")
    return numpy.stack(rows)


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    max_bytes = model.attrs["max_bytes"]
    cache = model.attrs["cache"]
    ids = [_doc_byte_ids(doc, max_bytes, cache) for doc in docs]
    lengths = [len(doc) for doc in docs]
    flat = numpy.concatenate(ids) if ids else numpy.zeros((0, max_bytes), dtype="int64")
    Y_flat, backprop_wrapped = model.layers[0](flat, is_train)
    Y = list(model.ops.unflatten(Y_flat, model.ops.asarray1i(lengths))) if docs else []

    def backprop(dY: List[Floats2d]) -> List[Doc]:
        backprop_wrapped(model.ops.flatten(dY) if dY else model.ops.alloc2f(0, model.get_dim("nO")))
        return []

    return Y, backprop


def _convert_inputs(model: Model, X: Ints2d, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    import torch

    tensor = torch.as_tensor(numpy.asarray(X))
    device = next(model.shims[0]._model.parameters()).device
    tensor = tensor.to(device)
    return ArgsKwargs(args=(tensor,), kwargs={}), lambda d: []


def _convert_outputs(model: Model, inputs_outputs, is_train: bool):
    _, Y_torch = inputs_outputs
    Y = model.ops.asarray2f(torch2xp(Y_torch))

    def backprop(dY: Floats2d) -> ArgsKwargs:
        return ArgsKwargs(args=(Y_torch,), kwargs={"grad_tensors": (xp2torch(dY),)})

    return Y, backprop
