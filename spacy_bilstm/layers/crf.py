"""The linear-chain CRF output layer over BILUO tags.

In the forward pass the layer passes the emission scores through unchanged:
what it owns are the transition, start and end scores, which the pipe uses
through `crf_loss`, `crf_decode` and `crf_marginals`. Keeping the CRF a thinc
node means its parameters are updated, serialized and moved between devices
with the rest of the model.

BILUO constraints are applied in training as well as decoding, so the
partition function only ranges over valid sequences and the model never
learns to rely on impossible ones.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import numpy
from thinc.api import Model, registry
from thinc.types import Floats2d

from ..tags import allowed_ends, allowed_starts, allowed_transitions

InT = List[Floats2d]


@registry.layers("spacy_bilstm.LinearChainCRF.v1")
def LinearChainCRF(nO: Optional[int] = None, use_crf: bool = True) -> Model[InT, InT]:
    """Build the CRF layer.

    nO (Optional[int]): The number of BILUO tags (4 * labels + 1); inferred
        from the data at initialization when None.
    use_crf (bool): False trains with a per-token softmax instead (for
        ablations); decoding still enforces valid BILUO sequences.
    RETURNS (Model[List[Floats2d], List[Floats2d]]): The layer.
    """
    return Model(
        "crf",
        _forward,
        init=_init,
        dims={"nO": nO},
        params={"transitions": None, "start": None, "end": None},
        attrs={"use_crf": use_crf},
    )


def _forward(model: Model[InT, InT], X: InT, is_train: bool) -> Tuple[InT, Callable]:
    def backprop(dY: InT) -> InT:
        return dY

    return X, backprop


def _init(model: Model[InT, InT], X: Optional[InT] = None, Y: Optional[InT] = None) -> None:
    if not model.has_dim("nO"):
        if X is not None and len(X) and X[0].ndim == 2:
            model.set_dim("nO", X[0].shape[1])
        elif Y is not None and len(Y):
            model.set_dim("nO", Y[0].shape[1])
    n_tags = model.get_dim("nO")
    if (n_tags - 1) % 4 != 0:
        raise ValueError(f"A BILUO CRF needs 4 * n_labels + 1 tags, not {n_tags}.")
    model.set_param("transitions", model.ops.alloc2f(n_tags, n_tags))
    model.set_param("start", model.ops.alloc1f(n_tags))
    model.set_param("end", model.ops.alloc1f(n_tags))


def _labels_placeholder(n_tags: int) -> List[str]:
    # The constraint structure depends only on how many labels there are,
    # not on their names: tag ids are positional (see `tags.tag_names`).
    return [str(i) for i in range((n_tags - 1) // 4)]


def _torch_params(model: Model, requires_grad: bool):
    import torch
    from thinc.api import xp2torch

    from .crf_math import constrain

    n_tags = model.get_dim("nO")
    labels = _labels_placeholder(n_tags)
    transitions = xp2torch(model.get_param("transitions"), requires_grad=requires_grad)
    start = xp2torch(model.get_param("start"), requires_grad=requires_grad)
    end = xp2torch(model.get_param("end"), requires_grad=requires_grad)
    device = transitions.device
    masks = (
        torch.as_tensor(allowed_transitions(labels), device=device),
        torch.as_tensor(allowed_starts(labels), device=device),
        torch.as_tensor(allowed_ends(labels), device=device),
    )
    if not model.attrs["use_crf"]:
        # Softmax mode: no learned transitions, constraints only.
        zeros = (
            torch.zeros_like(transitions),
            torch.zeros_like(start),
            torch.zeros_like(end),
        )
        return (transitions, start, end), constrain(*zeros, *masks)
    return (transitions, start, end), constrain(transitions, start, end, *masks)


def _pad(model: Model, X: Sequence[Floats2d]):
    """Pad non-empty score arrays into a (B, T, L) torch tensor + lengths."""
    import torch
    from thinc.api import xp2torch

    lengths = [x.shape[0] for x in X]
    n_tags = model.get_dim("nO")
    padded = model.ops.alloc3f(len(X), max(lengths), n_tags)
    for i, x in enumerate(X):
        padded[i, : x.shape[0]] = x
    return xp2torch(padded), torch.as_tensor(lengths, device=xp2torch(padded).device)


def crf_loss(
    model: Model[InT, InT], scores: InT, gold: Sequence[numpy.ndarray]
) -> Tuple[float, InT]:
    """The negative log-likelihood of the gold tags, and its gradient.

    Tokens whose gold tag is unknown (-1: missing or misaligned annotation)
    are left free: the loss is log Z - log Z(sequences agreeing with the known
    tags), so for them the gradient is zero in expectation. The gradient with
    respect to the emissions is the posterior marginals minus the marginals
    constrained to the gold tags (for fully known gold: marginals minus the
    one-hot gold). The gradients of the transition, start and end scores are
    accumulated on the layer; the emission gradients are returned.

    model (Model): The CRF layer.
    scores (List[Floats2d]): Emission scores, one (n_tokens, n_tags) per doc.
    gold (Sequence[numpy.ndarray]): Gold tag ids per doc, -1 where unknown.
    RETURNS (Tuple[float, List[Floats2d]]): The summed loss and d_scores.
    """
    import torch
    from thinc.api import torch2xp

    from .crf_math import NEG, forward_scores

    d_scores = [model.ops.alloc2f(*s.shape) for s in scores]
    keep = [i for i, s in enumerate(scores) if s.shape[0] > 0]
    if not keep:
        return 0.0, d_scores
    emissions, lengths = _pad(model, [scores[i] for i in keep])
    emissions.requires_grad_(True)
    gold_ids = torch.full(emissions.shape[:2], -1, dtype=torch.long, device=emissions.device)
    for row, i in enumerate(keep):
        gold_ids[row, : len(gold[i])] = torch.as_tensor(numpy.asarray(gold[i]), dtype=torch.long)
    n_tags = emissions.shape[2]
    known = gold_ids >= 0
    is_gold = torch.nn.functional.one_hot(gold_ids.clamp(min=0), n_tags).bool()
    allowed = is_gold | ~known.unsqueeze(2)
    raw, (transitions, start, end) = _torch_params(model, requires_grad=True)
    if model.attrs["use_crf"]:
        log_z, _ = forward_scores(emissions, lengths, transitions, start, end)
        gold_emissions = emissions.masked_fill(~allowed, NEG)
        log_z_gold, _ = forward_scores(gold_emissions, lengths, transitions, start, end)
        loss = (log_z - log_z_gold).sum()
    else:
        log_probs = torch.log_softmax(emissions, dim=2)
        token_loss = -(log_probs * is_gold).sum(dim=2)
        loss = (token_loss * known).sum()
    loss.backward()
    d_padded = torch2xp(emissions.grad)
    for row, i in enumerate(keep):
        d_scores[i] = model.ops.asarray2f(d_padded[row, : scores[i].shape[0]])
    if model.attrs["use_crf"]:
        for name, param in zip(("transitions", "start", "end"), raw):
            model.inc_grad(name, torch2xp(param.grad))
    return float(loss.item()), d_scores


def crf_decode(
    model: Model[InT, InT],
    scores: InT,
    allowed_tags: Optional[Sequence[Optional[numpy.ndarray]]] = None,
) -> List[numpy.ndarray]:
    """The best valid BILUO tag sequence per doc (constrained Viterbi).

    model (Model): The CRF layer.
    scores (List[Floats2d]): Emission scores per doc.
    allowed_tags (Optional[Sequence[Optional[numpy.ndarray]]]): Per doc, an
        optional (n_tokens, n_tags) boolean mask of tags a token may take
        (e.g. only "O" for whitespace tokens).
    RETURNS (List[numpy.ndarray]): Tag ids per doc, on the CPU.
    """
    import torch

    from .crf_math import NEG, viterbi

    out = [numpy.zeros((s.shape[0],), dtype="int64") for s in scores]
    keep = [i for i, s in enumerate(scores) if s.shape[0] > 0]
    if not keep:
        return out
    with torch.no_grad():
        emissions, lengths = _pad(model, [scores[i] for i in keep])
        if not model.attrs["use_crf"]:
            emissions = torch.log_softmax(emissions, dim=2)
        emissions = _apply_allowed(emissions, keep, allowed_tags, NEG)
        _, (transitions, start, end) = _torch_params(model, requires_grad=False)
        tags = viterbi(emissions, lengths, transitions, start, end).cpu().numpy()
    for row, i in enumerate(keep):
        out[i] = tags[row, : scores[i].shape[0]]
    return out


def crf_marginals(
    model: Model[InT, InT],
    scores: InT,
    allowed_tags: Optional[Sequence[Optional[numpy.ndarray]]] = None,
) -> List[Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, float]]:
    """Forward-backward tables per doc, for span probabilities.

    RETURNS (List[Tuple[ndarray, ndarray, ndarray, float]]): Per doc: log
        alphas (n, L), log betas (n, L), the constrained emissions (n, L) and
        log Z. For the softmax mode alphas hold per-token log-probabilities,
        betas are zero and log Z is zero. The transition scores come from
        `crf_transition_scores`.
    """
    import torch

    from .crf_math import NEG, backward_scores, forward_scores

    tables: List[Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, float]] = []
    keep = [i for i, s in enumerate(scores) if s.shape[0] > 0]
    results = {}
    if keep:
        with torch.no_grad():
            emissions, lengths = _pad(model, [scores[i] for i in keep])
            if not model.attrs["use_crf"]:
                emissions = torch.log_softmax(emissions, dim=2)
            emissions = _apply_allowed(emissions, keep, allowed_tags, NEG)
            _, (transitions, start, end) = _torch_params(model, requires_grad=False)
            if model.attrs["use_crf"]:
                log_z, alphas = forward_scores(
                    emissions, lengths, transitions, start, end, keep_alphas=True
                )
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
            n = scores[i].shape[0]
            results[i] = (alpha[row, :n], beta[row, :n], em[row, :n], float(log_z_np[row]))
    n_tags = model.get_dim("nO")
    empty = numpy.zeros((0, n_tags), dtype="float32")
    for i in range(len(scores)):
        tables.append(results.get(i, (empty, empty, empty, 0.0)))
    return tables


def crf_transition_scores(model: Model[InT, InT]) -> numpy.ndarray:
    """The constrained transition scores as a CPU array (zeros in softmax mode)."""
    _, (transitions, _, _) = _torch_params(model, requires_grad=False)
    return transitions.detach().cpu().numpy()


def _apply_allowed(emissions, keep, allowed_tags, neg):
    if allowed_tags is None:
        return emissions
    import torch

    emissions = emissions.clone()
    for row, i in enumerate(keep):
        mask = allowed_tags[i]
        if mask is None:
            continue
        mask_t = torch.as_tensor(numpy.asarray(mask), device=emissions.device)
        n = mask_t.shape[0]
        emissions[row, :n] = emissions[row, :n].masked_fill(~mask_t, neg)
    return emissions


def uses_crf(model: Model) -> bool:
    """Whether the layer trains with the CRF likelihood (not a softmax)."""
    return bool(model.attrs["use_crf"])

