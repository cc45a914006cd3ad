"""Linear-chain CRF algorithms over padded batches, in torch.

Every function takes emissions of shape (batch, time, n_tags), the true
sequence lengths, and transition, start and end scores that already carry the
BILUO constraints (forbidden moves are set to `NEG`). Loops run over time only;
each step is vectorised over the batch and the tags, which is what keeps a
BiLSTM-CRF close to a CNN tagger in speed.
"""
from typing import List, Tuple

import torch

# A large finite negative score for forbidden tags and transitions. Finite,
# unlike -inf, so that logsumexp over a row that is all forbidden (padding)
# stays finite and gradients never become NaN.
NEG = -1.0e4


def _time_mask(lengths: torch.Tensor, n_steps: int) -> torch.Tensor:
    steps = torch.arange(n_steps, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)


def forward_scores(
    emissions: torch.Tensor,
    lengths: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    """The forward algorithm: log-partition per sequence and the alphas.

    emissions (torch.Tensor): (B, T, L) scores; lengths >= 1.
    lengths (torch.Tensor): (B,) true lengths.
    RETURNS (Tuple[torch.Tensor, List[torch.Tensor]]): log Z of shape (B,), and
        alpha_t of shape (B, L) for every t (frozen past each sequence's end).
    """
    n_steps = emissions.shape[1]
    mask = _time_mask(lengths, n_steps)
    alpha = start.unsqueeze(0) + emissions[:, 0]
    alphas = [alpha]
    for t in range(1, n_steps):
        step = torch.logsumexp(alpha.unsqueeze(2) + transitions.unsqueeze(0), dim=1)
        step = step + emissions[:, t]
        alpha = torch.where(mask[:, t : t + 1], step, alpha)
        alphas.append(alpha)
    log_z = torch.logsumexp(alpha + end.unsqueeze(0), dim=1)
    return log_z, alphas


def backward_scores(
    emissions: torch.Tensor,
    lengths: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> List[torch.Tensor]:
    """The backward algorithm: beta_t(y), the log-sum of all continuations
    after tag y at step t (the emission at t excluded, the end score included).
    """
    n_steps = emissions.shape[1]
    batch_end = end.unsqueeze(0).expand(emissions.shape[0], -1)
    beta = batch_end
    betas = [beta]
    for t in range(n_steps - 2, -1, -1):
        step = torch.logsumexp(
            transitions.unsqueeze(0) + (emissions[:, t + 1] + beta).unsqueeze(1), dim=2
        )
        inside = (t + 1 < lengths).unsqueeze(1)
        beta = torch.where(inside, step, batch_end)
        betas.append(beta)
    betas.reverse()
    return betas


def viterbi(
    emissions: torch.Tensor,
    lengths: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """The best tag sequence per item: (B, T) tag ids, 0 past each length.

    With forbidden moves scored `NEG`, the result is always a valid sequence:
    a valid one always exists and scores far above any invalid one.
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


def constrain(
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    allowed: torch.Tensor,
    allowed_start: torch.Tensor,
    allowed_end: torch.Tensor,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Replace forbidden transition, start and end scores by `NEG`.

    `torch.where` (rather than adding a mask) keeps the gradient of the
    forbidden entries at exactly zero, so training never moves them.
    """
    neg = torch.tensor(NEG, dtype=transitions.dtype, device=transitions.device)
    return (
        torch.where(allowed, transitions, neg),
        torch.where(allowed_start, start, neg),
        torch.where(allowed_end, end, neg),
    )
