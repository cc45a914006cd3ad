"""Thinc layers of the text classifier: the recurrent document encoder, mean
pooling and the output activation."""
from functools import partial
from typing import Any, Callable, List, Optional, Tuple

from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d

from .torch_wrapper import LazyTorchWrapper, build_torch_module, init_input_width

TRUNCATIONS = ("head", "head_tail", "chunk")

# Token vectors of the docs, token vectors of the distinct targets, and the
# target index of each doc (-1: no target).
EncoderInT = Tuple[List[Floats2d], List[Floats2d], List[int]]
Piece = Tuple[int, int]


def segment_spans(length: int, max_tokens: int, truncation: str) -> List[List[Piece]]:
    """Split a document of `length` tokens into the segments the RNN reads.

    Each segment is a list of (start, end) token ranges, concatenated.

    length (int): Tokens in the document.
    max_tokens (int): The longest segment; 0 or less means no limit.
    truncation (str): What to do with longer documents. "head" keeps the
        first `max_tokens` tokens; "head_tail" keeps the first and the last
        `max_tokens // 2` tokens (the opening and the conclusion of a
        speech) as one segment; "chunk" reads the whole document as
        consecutive chunks of equal size (at most `max_tokens`), each
        encoded from a fresh state, and pools over all of them.
    RETURNS (List[List[Tuple[int, int]]]): The segments; none for an empty doc.
    """
    if truncation not in TRUNCATIONS:
        raise ValueError(f"Unknown truncation '{truncation}': choose one of {list(TRUNCATIONS)}.")
    if length <= 0:
        return []
    if max_tokens <= 0 or length <= max_tokens:
        return [[(0, length)]]
    if truncation == "head":
        return [[(0, max_tokens)]]
    if truncation == "head_tail":
        tail = max_tokens // 2
        return [[(0, max_tokens - tail), (length - tail, length)]]
    n_chunks = -(-length // max_tokens)
    size = -(-length // n_chunks)
    return [[(start, min(start + size, length))] for start in range(0, length, size)]


def RecurrentDocEncoder(
    nI: Optional[int],
    hidden_width: int,
    depth: int = 1,
    cell: str = "lstm",
    bidirectional: bool = True,
    dropout: float = 0.0,
    pooling: str = "max",
    use_target: bool = False,
    attention_width: int = 64,
    max_tokens: int = 512,
    truncation: str = "chunk",
    max_target_tokens: int = 64,
) -> Model[EncoderInT, Floats2d]:
    """Pool each document's token vectors into one vector with a recurrent
    encoder that never reads padding.

    See `DocEncoderRNN` in `doc_encoder_torch` for the model and
    `segment_spans` for `max_tokens` and `truncation`. Targets longer than
    `max_target_tokens` are cut to their head (0: no limit). `nI` may be
    None: `initialize` reads it from its sample input.

    RETURNS (Model[EncoderInT, Floats2d]): (n_docs, nO) pooled vectors.
    """
    from .doc_encoder_torch import DocEncoderRNN, check_pooling
    from .recurrent_torch import check_cell

    # At once, not when the module is built.
    segment_spans(1, max_tokens, truncation)
    check_cell(cell)
    check_pooling(pooling)
    build = partial(
        DocEncoderRNN,
        hidden=hidden_width,
        depth=depth,
        cell=cell,
        bidirectional=bidirectional,
        dropout=dropout,
        pooling=pooling,
        use_target=use_target,
        attention_width=attention_width,
    )
    wrapped = LazyTorchWrapper(
        build, nI, "text_rnn.cells.0.weight_ih_l0", convert_inputs=_convert_inputs, convert_outputs=_convert_outputs
    )
    return Model(
        "recurrent_doc_encoder",
        _encoder_forward,
        init=_encoder_init,
        layers=[wrapped],
        dims={"nI": nI, "nO": hidden_width * (2 if bidirectional else 1)},
        attrs={
            "max_tokens": max_tokens,
            "truncation": truncation,
            "max_target_tokens": max_target_tokens,
            "pooling": pooling,
        },
    )


def _encoder_init(model: Model[EncoderInT, Floats2d], X: Optional[EncoderInT] = None, Y=None) -> None:
    # The width of the docs' token vectors (the targets' is the same).
    build_torch_module(model.layers[0], init_input_width(model, X[:2] if X is not None else None))


def _encoder_forward(
    model: Model[EncoderInT, Floats2d], inputs: EncoderInT, is_train: bool
) -> Tuple[Floats2d, Callable]:
    X, targets, doc_target = inputs
    max_tokens = model.attrs["max_tokens"]
    truncation = model.attrs["truncation"]
    segments = [
        (i, pieces)
        for i, x in enumerate(X)
        for pieces in segment_spans(x.shape[0], max_tokens, truncation)
    ]

    def zero_grads() -> EncoderInT:
        return (
            [model.ops.alloc2f(*x.shape) for x in X],
            [model.ops.alloc2f(*t.shape) for t in targets],
            doc_target,
        )

    if not segments:
        # An RNN cannot run on a batch without tokens: every doc pools to zeros.
        return model.ops.alloc2f(len(X), model.get_dim("nO")), lambda dY: zero_grads()
    max_target = model.attrs["max_target_tokens"]
    kept = [t[:max_target] if max_target > 0 else t for t in targets]
    Y, backprop_wrapped = model.layers[0]((X, kept, doc_target, segments), is_train)

    def backprop(dY: Floats2d) -> EncoderInT:
        dX, d_kept, _ = backprop_wrapped(dY)
        d_targets = [model.ops.alloc2f(*t.shape) for t in targets]
        for d_target, d in zip(d_targets, d_kept):
            d_target[: d.shape[0]] += d
        return dX, d_targets, doc_target

    return Y, backprop


def _convert_inputs(model: Model, inputs: Any, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    import torch

    X, targets, doc_target, segments = inputs
    ops = model.ops
    seg_arrays = [
        X[i][pieces[0][0] : pieces[0][1]]
        if len(pieces) == 1
        else ops.xp.concatenate([X[i][start:end] for start, end in pieces])
        for i, pieces in segments
    ]
    lengths = [a.shape[0] for a in seg_arrays]
    padded = xp2torch(ops.pad(seg_arrays), requires_grad=is_train)
    args: List[Any] = [
        padded,
        torch.as_tensor(lengths, dtype=torch.long),
        torch.as_tensor([i for i, _ in segments], dtype=torch.long),
        len(X),
    ]
    if targets:
        args.extend(
            [
                xp2torch(ops.pad(targets), requires_grad=is_train),
                torch.as_tensor([t.shape[0] for t in targets], dtype=torch.long),
                torch.as_tensor([doc_target[i] for i, _ in segments], dtype=torch.long),
            ]
        )

    def backprop(d_inputs: ArgsKwargs) -> EncoderInT:
        dX = [ops.alloc2f(*x.shape) for x in X]
        d_padded = d_inputs.args[0]
        if d_padded is not None:
            d_padded = torch2xp(d_padded)
            for row, ((i, pieces), n) in enumerate(zip(segments, lengths)):
                offset = 0
                for start, end in pieces:
                    dX[i][start:end] += d_padded[row, offset : offset + end - start]
                    offset += end - start
        d_targets = [ops.alloc2f(*t.shape) for t in targets]
        if targets and d_inputs.args[4] is not None:
            d_target_padded = torch2xp(d_inputs.args[4])
            for u, t in enumerate(targets):
                d_targets[u] += d_target_padded[u, : t.shape[0]]
        return dX, d_targets, doc_target

    return ArgsKwargs(args=tuple(args), kwargs={}), backprop


def _convert_outputs(model: Model, inputs_outputs: Any, is_train: bool) -> Tuple[Floats2d, Callable]:
    _, pooled = inputs_outputs
    Y = model.ops.asarray2f(torch2xp(pooled))

    def backprop(dY: Floats2d) -> ArgsKwargs:
        return ArgsKwargs(args=(pooled,), kwargs={"grad_tensors": (xp2torch(dY),)})

    return Y, backprop


def MeanPool() -> Model[List[Floats2d], Floats2d]:
    """Average each doc's token vectors; a doc without tokens pools to zeros.

    RETURNS (Model[List[Floats2d], Floats2d]): (n_docs, width).
    """
    return Model("mean_pool", _mean_forward)


def _mean_forward(model: Model, X: List[Floats2d], is_train: bool) -> Tuple[Floats2d, Callable]:
    width = max((x.shape[1] for x in X), default=0)
    Y = model.ops.alloc2f(len(X), width)
    for i, x in enumerate(X):
        if x.shape[0]:
            Y[i] = x.mean(axis=0)

    def backprop(dY: Floats2d) -> List[Floats2d]:
        dX = [model.ops.alloc2f(*x.shape) for x in X]
        for i, x in enumerate(X):
            if x.shape[0]:
                dX[i] += dY[i] / x.shape[0]
        return dX

    return Y, backprop


def FixedDropout(rate: float) -> Model[Floats2d, Floats2d]:
    """Dropout at a rate fixed by the model config.

    thinc's `Dropout` takes its rate from `training.dropout` during training;
    this one keeps the architecture's `dropout`, so that it means the same in
    both text classification architectures (the recurrent model's dropout
    lives in torch, where spaCy does not reach).

    rate (float): The share of units dropped in training.
    RETURNS (Model[Floats2d, Floats2d]): The layer.
    """
    return Model("fixed_dropout", _dropout_forward, attrs={"rate": rate})


def _dropout_forward(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    rate = model.attrs["rate"]
    if not is_train or rate <= 0:
        return X, lambda dY: dY
    mask = model.ops.get_dropout_mask(X.shape, rate)
    return X * mask, lambda dY: dY * mask


def Probabilities(exclusive_classes: bool) -> Model[Floats2d, Floats2d]:
    """Softmax (exclusive classes) or sigmoid (multi-label) over scores.

    As with thinc's `Softmax`, the gradient passed back is taken to be the
    gradient of the loss with respect to the scores before the activation:
    `probabilities - truth` is that gradient for cross-entropy (softmax)
    and for binary cross-entropy (sigmoid), and it is what the component's
    `get_loss` returns.

    exclusive_classes (bool): Softmax if True, else an independent sigmoid per label.
    RETURNS (Model[Floats2d, Floats2d]): The probabilities.
    """
    return Model("probabilities", _probabilities_forward, attrs={"exclusive_classes": exclusive_classes})


def _probabilities_forward(model: Model, scores: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    if model.attrs["exclusive_classes"]:
        Y = model.ops.softmax(scores, axis=-1)
    else:
        Y = model.ops.sigmoid(scores)

    def backprop(d_scores: Floats2d) -> Floats2d:
        return d_scores

    return Y, backprop
