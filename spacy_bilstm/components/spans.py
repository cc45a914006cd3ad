"""Exact span probabilities from CRF forward-backward tables (pure numpy).

The probability that tokens start..end-1 form an entity of label k is the
total weight of the tag paths that read B-k I-k ... L-k there (or U-k for one
token), divided by Z: alpha at the start, the path's scores in between, beta
at the end. The same formula with zero transitions and betas gives the
product of per-token probabilities for a softmax tagger.
"""
from typing import Dict, List, Tuple

import numpy

Table = Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, float]


def _tag(label_index: int, prefix: str) -> int:
    return 1 + 4 * label_index + "BILU".index(prefix)


def span_log_prob(table: Table, transitions: numpy.ndarray, start: int, end: int, label_index: int) -> float:
    """The log marginal probability of one entity span (end exclusive)."""
    alpha, beta, em, log_z = table
    if end - start == 1:
        u = _tag(label_index, "U")
        return float(alpha[start, u] + beta[start, u] - log_z)
    b, i, last = (_tag(label_index, p) for p in "BIL")
    score = alpha[start, b]
    previous = b
    for position in range(start + 1, end):
        current = last if position == end - 1 else i
        score += transitions[previous, current] + em[position, current]
        previous = current
    return float(score + beta[end - 1, last] - log_z)


def all_span_log_probs(
    table: Table, transitions: numpy.ndarray, n_labels: int, max_length: int
) -> Dict[int, numpy.ndarray]:
    """Log probabilities of every span up to `max_length` tokens, per label.

    RETURNS (Dict[int, numpy.ndarray]): For each length d, an array of shape
        (n_tokens - d + 1, n_labels): entry [s, k] is the span s..s+d of label k.
    """
    alpha, beta, em, log_z = table
    n = alpha.shape[0]
    labels = numpy.arange(n_labels)
    B, I, L, U = (1 + 4 * labels + offset for offset in range(4))
    result: Dict[int, numpy.ndarray] = {}
    if n == 0:
        return result
    result[1] = alpha[:, U] + beta[:, U] - log_z
    # Cumulative emission scores of I-k, to sum any middle stretch in O(1).
    # A tag a token may not take scores -inf, which a difference of sums
    # would turn into NaN: count those apart.
    inside = em[:, I]
    forbidden = numpy.isneginf(inside)
    zero = numpy.zeros((1, n_labels))
    cum_inside = numpy.concatenate([zero, numpy.cumsum(numpy.where(forbidden, 0.0, inside), axis=0)])
    cum_forbidden = numpy.concatenate([zero, numpy.cumsum(forbidden, axis=0)])
    t_bi, t_ii, t_il, t_bl = transitions[B, I], transitions[I, I], transitions[I, L], transitions[B, L]
    for d in range(2, min(max_length, n) + 1):
        starts = numpy.arange(0, n - d + 1)
        ends = starts + d - 1  # the L token
        score = alpha[starts][:, B] + em[ends][:, L] + beta[ends][:, L]
        if d == 2:
            score = score + t_bl
        else:
            middle = cum_inside[ends] - cum_inside[starts + 1]
            middle = numpy.where(cum_forbidden[ends] > cum_forbidden[starts + 1], -numpy.inf, middle)
            score = score + t_bi + (d - 3) * t_ii + t_il + middle
        result[d] = score - log_z
    return result


def scored_spans(
    table: Table,
    transitions: numpy.ndarray,
    n_labels: int,
    max_length: int,
    threshold: float,
) -> List[Tuple[int, int, int, float]]:
    """Every span whose probability reaches `threshold`, sorted by position.

    RETURNS (List[Tuple[int, int, int, float]]): (start, end, label_index, prob).
    """
    found = []
    log_threshold = numpy.log(max(threshold, 1e-12))
    for d, scores in all_span_log_probs(table, transitions, n_labels, max_length).items():
        starts, labels = numpy.nonzero(scores >= log_threshold)
        for s, k in zip(starts.tolist(), labels.tolist()):
            found.append((s, s + d, k, float(numpy.exp(min(scores[s, k], 0.0)))))
    found.sort()
    return found
