"""Linear-chain CRF algorithms over padded batches, in torch.

Every function takes emissions of shape (batch, time, n_tags), the true
sequence lengths, and transition, start and end scores that already carry the
BILUO constraints (forbidden moves score -inf). Loops run over time only;
each step is vectorised over the batch and the tags, which is what keeps a
BiLSTM-CRF close to a CNN tagger in speed.
"""
from typing import List, Tuple

import torch


def _time_mask(lengths: torch.Tensor, n_steps: int) -> torch.Tensor:
    steps = torch.arange(n_steps, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)


def _scaled(scores: torch.Tensor, dim: int = 1) -> Tuple[torch.Tensor, torch.Tensor]:
    """exp(scores - max) and the max, so that exponentials never overflow."""
    top = scores.max(dim=dim, keepdim=True).values
    return torch.exp(scores - top), top.squeeze(dim)


def _normalise(probs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    # Rescale every step (the scaled forward algorithm): the running log of
    # the scales carries the magnitude, so float32 never under- or overflows.
    # The clamp only matters for rows with no allowed path at all.
    total = probs.sum(dim=1, keepdim=True).clamp_min(1e-30)
    return probs / total, torch.log(total.squeeze(1))


def forward_scores(
    emissions: torch.Tensor,
    lengths: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    keep_alphas: bool = False,
) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    """The forward algorithm: log-partition per sequence and the log alphas.

    It runs in probability space with per-step rescaling, so each step is one
    (B, L) x (L, L) matrix product instead of a log-sum-exp over (B, L, L):
    several times faster on a CPU, and exact up to float rounding.

    emissions (torch.Tensor): (B, T, L) scores; lengths >= 1.
    lengths (torch.Tensor): (B,) true lengths.
    keep_alphas (bool): Also return the log alphas (for marginals).
    RETURNS (Tuple[torch.Tensor, List[torch.Tensor]]): log Z of shape (B,), and
        if `keep_alphas`, log alpha_t of shape (B, L) for every t (frozen past
        each sequence's end; -inf for tags no valid path reaches).
    """
    n_steps = emissions.shape[1]
    mask = _time_mask(lengths, n_steps)
    exp_trans, trans_top = _scaled(transitions.reshape(1, -1))
    exp_trans = exp_trans.reshape(transitions.shape)
    probs, log_scale = _scaled(start.unsqueeze(0) + emissions[:, 0])
    probs, log_total = _normalise(probs)
    log_scale = log_scale + log_total
    log_alphas = [torch.log(probs) + log_scale.unsqueeze(1)] if keep_alphas else []
    for t in range(1, n_steps):
        exp_emit, emit_top = _scaled(emissions[:, t])
        step, log_total = _normalise((probs @ exp_trans) * exp_emit)
        inside = mask[:, t]
        probs = torch.where(inside.unsqueeze(1), step, probs)
        log_scale = torch.where(inside, log_scale + emit_top + trans_top + log_total, log_scale)
        if keep_alphas:
            log_alphas.append(torch.log(probs) + log_scale.unsqueeze(1))
    exp_end, end_top = _scaled(end.unsqueeze(0))
    log_z = log_scale + torch.log((probs * exp_end).sum(dim=1).clamp_min(1e-30)) + end_top
    return log_z, log_alphas


def backward_scores(
    emissions: torch.Tensor,
    lengths: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> List[torch.Tensor]:
    """The backward algorithm: log beta_t(y), the log-sum of all
    continuations after tag y at step t (the emission at t excluded, the end
    score included). Scaled like `forward_scores`.
    """
    batch, n_steps, _ = emissions.shape
    exp_trans, trans_top = _scaled(transitions.reshape(1, -1))
    exp_trans = exp_trans.reshape(transitions.shape)
    end_probs, end_top = _scaled(end.unsqueeze(0))
    end_probs, end_total = _normalise(end_probs)
    end_probs = end_probs.expand(batch, -1)
    end_scale = (end_top + end_total).expand(batch)
    probs, log_scale = end_probs, end_scale
    log_betas = [torch.log(probs) + log_scale.unsqueeze(1)]
    for t in range(n_steps - 2, -1, -1):
        exp_emit, emit_top = _scaled(emissions[:, t + 1])
        step, log_total = _normalise((exp_emit * probs) @ exp_trans.T)
        inside = t + 1 < lengths
        probs = torch.where(inside.unsqueeze(1), step, end_probs)
        log_scale = torch.where(inside, log_scale + emit_top + trans_top + log_total, end_scale)
        log_betas.append(torch.log(probs) + log_scale.unsqueeze(1))
    log_betas.reverse()
    return log_betas


def viterbi(
    emissions: torch.Tensor,
    lengths: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """The best tag sequence per item: (B, T) tag ids, 0 past each length.

    With forbidden moves scored -inf, the result is always a valid sequence,
    whatever the scale of the other scores: a valid one always exists (all
    "O") and scores above -inf, and every invalid one scores -inf.
    """
    batch, n_steps, _ = emissions.shape
    mask = _time_mask(lengths, n_steps)
    score = start.unsqueeze(0) + emissions[:, 0]
    backpointers = []
    for t in range(1, n_steps):
        best, pointer = (score.unsqueeze(2) + transitions.unsqueeze(0)).max(dim=1)
        score = torch.where(mask[:, t : t + 1], best + emissions[:, t], score)
        backpointers.append(pointer)
    current = (score + end.unsqueeze(0)).argmax(dim=1)
    tags = torch.zeros((batch, n_steps), dtype=torch.long, device=emissions.device)
    for t in range(n_steps - 1, -1, -1):
        inside = mask[:, t]
        tags[:, t] = torch.where(inside, current, torch.zeros_like(current))
        if t > 0:
            previous = backpointers[t - 1].gather(1, current.unsqueeze(1)).squeeze(1)
            current = torch.where(inside, previous, current)
    return tags

