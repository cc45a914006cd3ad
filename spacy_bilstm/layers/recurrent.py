"""A thinc layer running a (bi)directional torch RNN over a list of token
matrices, with the results of packed sequences: no doc ever reads padding,
so its output does not depend on the rest of the batch (see `BucketedRNN`)."""
from functools import partial
from typing import Any, Callable, List, Optional, Tuple

from thinc.api import registry, ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d

from .torch_wrapper import LazyTorchWrapper, build_torch_module, init_input_width

InT = List[Floats2d]


@registry.layers("spacy_bilstm.RecurrentEncoder.v1")
def RecurrentEncoder(
    nI: Optional[int],
    hidden_width: int,
    depth: int = 1,
    cell: str = "lstm",
    bidirectional: bool = True,
    dropout: float = 0.0,
) -> Model[InT, InT]:
    """Encode each doc's token vectors with a (bi)directional RNN that never reads padding.

    nI (Optional[int]): The input width; None: read from the sample input
        in `initialize`.
    hidden_width (int): The hidden width per direction.
    depth (int): The number of stacked layers.
    cell (str): "lstm", "gru" or "rnn".
    bidirectional (bool): Whether to add a backward direction (the output
        width doubles).
    dropout (float): Dropout on the inputs and between layers.
    RETURNS (Model[List[Floats2d], List[Floats2d]]): The encoder; its output
        width is `dims["nO"]`.
    """
    from .recurrent_torch import BucketedRNN, check_cell

    check_cell(cell)  # at once, not when the module is built
    build = partial(
        BucketedRNN, hidden=hidden_width, depth=depth, cell=cell, bidirectional=bidirectional, dropout=dropout
    )
    wrapped = LazyTorchWrapper(
        build, nI, "rnn.cells.0.weight_ih_l0", convert_inputs=_convert_inputs, convert_outputs=_convert_outputs
    )
    return Model(
        "recurrent_encoder",
        _forward,
        init=_init,
        layers=[wrapped],
        dims={"nI": nI, "nO": hidden_width * (2 if bidirectional else 1)},
        attrs={"cell": cell, "depth": depth, "bidirectional": bidirectional},
    )


def _init(model: Model[InT, InT], X: Optional[InT] = None, Y: Optional[InT] = None) -> None:
    build_torch_module(model.layers[0], init_input_width(model, X))


def _forward(model: Model[InT, InT], X: InT, is_train: bool) -> Tuple[InT, Callable]:
    nO = model.get_dim("nO")
    nonempty = [i for i, x in enumerate(X) if x.shape[0] > 0]
    if not nonempty:
        # An RNN cannot run over a batch without any tokens; empty docs get
        # empty outputs and no gradient.
        return [model.ops.alloc2f(0, nO) for _ in X], lambda dY: [
            model.ops.alloc2f(*x.shape) for x in X
        ]
    wrapped = model.layers[0]
    Y_nonempty, backprop_wrapped = wrapped([X[i] for i in nonempty], is_train)
    Y = [model.ops.alloc2f(0, nO) for _ in X]
    for i, y in zip(nonempty, Y_nonempty):
        Y[i] = y

    def backprop(dY: InT) -> InT:
        dX_nonempty = backprop_wrapped([dY[i] for i in nonempty])
        dX = [model.ops.alloc2f(*x.shape) for x in X]
        for i, dx in zip(nonempty, dX_nonempty):
            dX[i] = dx
        return dX

    return Y, backprop


def _convert_inputs(model: Model, X: InT, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    import torch

    lengths = [x.shape[0] for x in X]
    padded = model.ops.pad(X)  # (B, T, nI)
    torch_padded = xp2torch(padded, requires_grad=is_train)
    torch_lengths = torch.as_tensor(lengths, dtype=torch.long)  # must live on the CPU

    def backprop(d_inputs: ArgsKwargs) -> InT:
        d_padded = torch2xp(d_inputs.args[0])
        return [model.ops.asarray2f(d_padded[i, :n]) for i, n in enumerate(lengths)]

    return ArgsKwargs(args=(torch_padded, torch_lengths), kwargs={}), backprop


def _convert_outputs(model: Model, inputs_outputs: Any, is_train: bool) -> Tuple[InT, Callable]:
    X, (padded_out, _final) = inputs_outputs
    lengths = [x.shape[0] for x in X]
    out = torch2xp(padded_out)
    Y = [model.ops.asarray2f(out[i, :n]) for i, n in enumerate(lengths)]

    def backprop(dY: InT) -> ArgsKwargs:
        d_padded = model.ops.alloc3f(*out.shape)
        for i, (dy, n) in enumerate(zip(dY, lengths)):
            d_padded[i, :n] = dy
        return ArgsKwargs(args=(padded_out,), kwargs={"grad_tensors": (xp2torch(d_padded),)})

    return Y, backprop
