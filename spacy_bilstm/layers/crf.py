"""The linear-chain CRF output layer over BILUO tags.

The layer's forward returns `CRFScores`: the emission scores it is given,
unchanged, and its own transition, start and end scores with the BILUO
constraints applied (forbidden moves score -inf). That is everything
`crf_loss`, `crf_decode` and `crf_marginals` need. `crf_loss` returns the
gradient in the same shape, and the layer's backprop adds the transition,
start and end gradients to its parameters and passes the emission gradients
on, so the CRF trains through the ordinary thinc backprop path.

BILUO constraints are applied in training as well as decoding, so the
partition function only ranges over valid sequences and the model never
learns to rely on impossible ones.
"""
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy
from thinc.api import Model, get_array_module, registry
from thinc.types import Floats1d, Floats2d

from ..tags import allowed_ends, allowed_starts, allowed_transitions

InT = List[Floats2d]


@dataclass
class CRFScores:
    """What the CRF layer outputs, and the shape of its gradient.

    emissions (List[Floats2d]): Per doc, (n_tokens, n_tags) emission scores.
    transitions (Floats2d): (n_tags, n_tags) transition scores, -inf where
        BILUO forbids the move (zeros elsewhere in softmax mode).
    start (Floats1d): (n_tags,) scores for the first tag, -inf where forbidden.
    end (Floats1d): (n_tags,) scores for the last tag, -inf where forbidden.
    use_crf (bool): Whether the CRF likelihood trains the scores (False: a
        per-token softmax, with the constraints used only in decoding).

    As a gradient, the arrays hold d_loss/d_scores; `transitions`, `start`
    and `end` are None when they get no gradient (softmax mode). Indexing
    and iteration reach the emissions, one array per doc.
    """

    emissions: List[Floats2d]
    transitions: Optional[Floats2d]
    start: Optional[Floats1d]
    end: Optional[Floats1d]
    use_crf: bool = True

    def __len__(self) -> int:
        return len(self.emissions)

    def __getitem__(self, index: int) -> Floats2d:
        return self.emissions[index]

    def __iter__(self) -> Iterator[Floats2d]:
        return iter(self.emissions)

    @property
    def n_tags(self) -> int:
        return int(self.transitions.shape[0])  # type: ignore[union-attr]

    @classmethod
    def join(cls, parts: Sequence["CRFScores"]) -> "CRFScores":
        """The outputs of one layer for consecutive batches, as one."""
        first = parts[0]
        emissions = [x for part in parts for x in part.emissions]
        return cls(emissions, first.transitions, first.start, first.end, first.use_crf)


@registry.layers("spacy_bilstm.LinearChainCRF.v1")
def LinearChainCRF(nO: Optional[int] = None, use_crf: bool = True) -> Model[InT, CRFScores]:
    """Build the CRF layer.

    nO (Optional[int]): The number of BILUO tags (4 * labels + 1); inferred
        from the data at initialization when None.
    use_crf (bool): False trains with a per-token softmax instead (for
        ablations); decoding still enforces valid BILUO sequences.
    RETURNS (Model[List[Floats2d], CRFScores]): The layer.
    """
    return Model(
        "crf",
        _forward,
        init=_init,
        dims={"nO": nO},
        params={"transitions": None, "start": None, "end": None},
        attrs={"use_crf": use_crf},
    )


@lru_cache(maxsize=None)
def biluo_masks(n_tags: int) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """The allowed transitions (n_tags, n_tags), starts and ends (n_tags,) of
    a BILUO tag set, as read-only boolean arrays; built once per size.

    The structure depends only on how many labels there are, not on their
    names: tag ids are positional (see `tags.tag_names`).
    """
    if n_tags < 1 or (n_tags - 1) % 4 != 0:
        raise ValueError(f"A BILUO CRF needs 4 * n_labels + 1 tags, not {n_tags}.")
    labels = [str(i) for i in range((n_tags - 1) // 4)]
    masks = (allowed_transitions(labels), allowed_starts(labels), allowed_ends(labels))
    for mask in masks:
        mask.flags.writeable = False
    return masks


def _forward(model: Model[InT, CRFScores], X: InT, is_train: bool) -> Tuple[CRFScores, Callable]:
    use_crf = bool(model.attrs["use_crf"])
    xp = model.ops.xp
    masks = [xp.asarray(mask) for mask in biluo_masks(model.get_dim("nO"))]
    constrained = []
    for name, allowed in zip(("transitions", "start", "end"), masks):
        param = model.get_param(name)
        scores = param.copy() if use_crf else xp.zeros_like(param)
        scores[~allowed] = -numpy.inf
        constrained.append(scores)
    Y = CRFScores(list(X), *constrained, use_crf=use_crf)

    def backprop(dY: CRFScores) -> InT:
        if use_crf:
            grads = (dY.transitions, dY.start, dY.end)
            for name, allowed, grad in zip(("transitions", "start", "end"), masks, grads):
                if grad is not None:
                    # Forbidden moves are fixed at -inf: they never learn.
                    model.inc_grad(name, xp.where(allowed, grad, 0).astype(grad.dtype))
        return dY.emissions

    return Y, backprop


def _init(model: Model[InT, CRFScores], X: Optional[InT] = None, Y: Optional[InT] = None) -> None:
    if not model.has_dim("nO"):
        if X is not None and len(X) and X[0].ndim == 2:
            model.set_dim("nO", X[0].shape[1])
        elif Y is not None and len(Y):
            model.set_dim("nO", Y[0].shape[1])
    n_tags = model.get_dim("nO")
    biluo_masks(n_tags)  # raises now, not at the first batch, for a size that is not BILUO
    model.set_param("transitions", model.ops.alloc2f(n_tags, n_tags))
    model.set_param("start", model.ops.alloc1f(n_tags))
    model.set_param("end", model.ops.alloc1f(n_tags))


def _torch_params(Y: CRFScores, requires_grad: bool = False):
    from thinc.api import xp2torch

    return tuple(xp2torch(param, requires_grad=requires_grad) for param in (Y.transitions, Y.start, Y.end))


def _pad(scores: Sequence[Floats2d], n_tags: int):
    """Pad non-empty score arrays into a (B, T, L) torch tensor + lengths."""
    import torch
    from thinc.api import xp2torch

    xp = get_array_module(scores[0])
    lengths = [x.shape[0] for x in scores]
    padded = xp.zeros((len(scores), max(lengths), n_tags), dtype="float32")
    for i, x in enumerate(scores):
        padded[i, : x.shape[0]] = x
    padded_t = xp2torch(padded)
    return padded_t, torch.as_tensor(lengths, device=padded_t.device)


def crf_loss(Y: CRFScores, gold: Sequence[numpy.ndarray]) -> Tuple[float, CRFScores]:
    """The negative log-likelihood of the gold tags, and its gradient.

    Tokens whose gold tag is unknown (-1: missing or misaligned annotation)
    are left free: the loss is log Z - log Z(sequences agreeing with the known
    tags), so for them the gradient is zero in expectation. The gradient with
    respect to the emissions is the posterior marginals minus the marginals
    constrained to the gold tags (for fully known gold: marginals minus the
    one-hot gold). The layer's backprop takes the returned gradient of the
    transition, start and end scores to its parameters.

    Y (CRFScores): The CRF layer's output.
    gold (Sequence[numpy.ndarray]): Gold tag ids per doc, -1 where unknown.
    RETURNS (Tuple[float, CRFScores]): The summed loss and its gradient.
    """
    import torch
    from thinc.api import torch2xp
    from thinc.backends import get_array_ops

    from .crf_math import forward_scores

    ops = get_array_ops(Y.transitions)
    d_emissions = [ops.alloc2f(*s.shape) for s in Y.emissions]
    keep = [i for i, s in enumerate(Y.emissions) if s.shape[0] > 0]
    if not keep:
        return 0.0, CRFScores(d_emissions, None, None, None, Y.use_crf)
    emissions, lengths = _pad([Y.emissions[i] for i in keep], Y.n_tags)
    emissions.requires_grad_(True)
    gold_ids = torch.full(emissions.shape[:2], -1, dtype=torch.long, device=emissions.device)
    for row, i in enumerate(keep):
        gold_ids[row, : len(gold[i])] = torch.as_tensor(numpy.asarray(gold[i]), dtype=torch.long)
    known = gold_ids >= 0
    is_gold = torch.nn.functional.one_hot(gold_ids.clamp(min=0), Y.n_tags).bool()
    if Y.use_crf:
        params = _torch_params(Y, requires_grad=True)
        allowed = is_gold | ~known.unsqueeze(2)
        log_z, _ = forward_scores(emissions, lengths, *params)
        gold_emissions = emissions.masked_fill(~allowed, -numpy.inf)
        log_z_gold, _ = forward_scores(gold_emissions, lengths, *params)
        loss = (log_z - log_z_gold).sum()
    else:
        log_probs = torch.log_softmax(emissions, dim=2)
        token_loss = -(log_probs * is_gold).sum(dim=2)
        loss = (token_loss * known).sum()
    loss.backward()
    d_padded = torch2xp(emissions.grad)
    for row, i in enumerate(keep):
        d_emissions[i] = ops.asarray2f(d_padded[row, : Y.emissions[i].shape[0]])
    if not Y.use_crf:
        return float(loss.item()), CRFScores(d_emissions, None, None, None, False)
    d_trans, d_start, d_end = (ops.asarray(torch2xp(param.grad)) for param in params)
    return float(loss.item()), CRFScores(d_emissions, d_trans, d_start, d_end, True)


def crf_decode(
    Y: CRFScores, allowed_tags: Optional[Sequence[Optional[numpy.ndarray]]] = None
) -> List[numpy.ndarray]:
    """The best valid BILUO tag sequence per doc (constrained Viterbi).

    Y (CRFScores): The CRF layer's output.
    allowed_tags (Optional[Sequence[Optional[numpy.ndarray]]]): Per doc, an
        optional (n_tokens, n_tags) boolean mask of tags a token may take
        (e.g. only "O" for whitespace tokens).
    RETURNS (List[numpy.ndarray]): Tag ids per doc, on the CPU.
    """
    return _decode(Y, _decoding_inputs(Y, allowed_tags))


def crf_marginals(
    Y: CRFScores, allowed_tags: Optional[Sequence[Optional[numpy.ndarray]]] = None
) -> List[Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, float]]:
    """Forward-backward tables per doc, for span probabilities.

    Y (CRFScores): The CRF layer's output.
    allowed_tags (Optional[Sequence[Optional[numpy.ndarray]]]): As for
        `crf_decode`.
    RETURNS (List[Tuple[ndarray, ndarray, ndarray, float]]): Per doc: log
        alphas (n, L), log betas (n, L), the constrained emissions (n, L) and
        log Z. For the softmax mode alphas hold per-token log-probabilities,
        betas are zero and log Z is zero. The transition scores to use with
        them are `Y.transitions`.
    """
    return _marginals(Y, _decoding_inputs(Y, allowed_tags))


def crf_decode_and_marginals(
    Y: CRFScores, allowed_tags: Optional[Sequence[Optional[numpy.ndarray]]] = None
) -> Tuple[List[numpy.ndarray], List[Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, float]]]:
    """`crf_decode` and `crf_marginals` of the same scores, padding and
    masking the emissions once (what `bilstm_ner.set_annotations` needs).

    Y (CRFScores): The CRF layer's output.
    allowed_tags (Optional[Sequence[Optional[numpy.ndarray]]]): As for `crf_decode`.
    RETURNS (Tuple[list, list]): The tag ids and the tables, per doc.
    """
    inputs = _decoding_inputs(Y, allowed_tags)
    return _decode(Y, inputs), _marginals(Y, inputs)


def _decode(Y: CRFScores, inputs) -> List[numpy.ndarray]:
    import torch

    from .crf_math import viterbi

    out = [numpy.zeros((s.shape[0],), dtype="int64") for s in Y.emissions]
    if inputs is None:
        return out
    keep, emissions, lengths = inputs
    with torch.no_grad():
        tags = viterbi(emissions, lengths, *_torch_params(Y)).cpu().numpy()
    for row, i in enumerate(keep):
        out[i] = tags[row, : Y.emissions[i].shape[0]]
    return out


def _marginals(Y: CRFScores, inputs) -> List[Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, float]]:
    import torch

    from .crf_math import backward_scores, forward_scores

    results = {}
    if inputs is not None:
        keep, emissions, lengths = inputs
        with torch.no_grad():
            if Y.use_crf:
                transitions, start, end = _torch_params(Y)
                log_z, alphas = forward_scores(emissions, lengths, transitions, start, end, keep_alphas=True)
                betas = backward_scores(emissions, lengths, transitions, end)
                alpha = torch.stack(alphas, dim=1).cpu().numpy()
                beta = torch.stack(betas, dim=1).cpu().numpy()
                log_z_np = log_z.cpu().numpy()
            else:
                alpha = emissions.cpu().numpy()
                beta = numpy.zeros_like(alpha)
                log_z_np = numpy.zeros((len(keep),), dtype=alpha.dtype)
            em = emissions.cpu().numpy()
        for row, i in enumerate(keep):
            n = Y.emissions[i].shape[0]
            results[i] = (alpha[row, :n], beta[row, :n], em[row, :n], float(log_z_np[row]))
    empty = numpy.zeros((0, Y.n_tags), dtype="float32")
    return [results.get(i, (empty, empty, empty, 0.0)) for i in range(len(Y.emissions))]


def _decoding_inputs(Y: CRFScores, allowed_tags):
    """The indices of the non-empty docs, their padded emissions (as
    log-probabilities in softmax mode, with the tags a token may not take at
    -inf) and their lengths; None when every doc is empty."""
    import torch

    keep = [i for i, s in enumerate(Y.emissions) if s.shape[0] > 0]
    if not keep:
        return None
    with torch.no_grad():
        emissions, lengths = _pad([Y.emissions[i] for i in keep], Y.n_tags)
        if not Y.use_crf:
            emissions = torch.log_softmax(emissions, dim=2)
        if allowed_tags is not None:
            emissions = emissions.clone()
            for row, i in enumerate(keep):
                mask = allowed_tags[i]
                if mask is None:
                    continue
                mask_t = torch.as_tensor(numpy.asarray(mask), device=emissions.device)
                n = mask_t.shape[0]
                emissions[row, :n] = emissions[row, :n].masked_fill(~mask_t, -numpy.inf)
    return keep, emissions, lengths
