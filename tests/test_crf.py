"""The CRF against brute-force enumeration of every tag sequence."""
import itertools

import numpy
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_bilstm.layers.crf import LinearChainCRF, crf_decode, crf_loss, crf_marginals, crf_transition_scores
from spacy_bilstm.layers.crf_math import NEG, backward_scores, constrain, forward_scores, viterbi
from spacy_bilstm.components.spans import all_span_log_probs, span_log_prob
from spacy_bilstm.tags import (
    allowed_ends,
    allowed_starts,
    allowed_transitions,
    is_valid_sequence,
    tag_names,
    tags_to_spans,
)

LABELS = ["LOC", "PER"]
N_TAGS = len(tag_names(LABELS))


def _constrained(rng):
    trans = torch.tensor(rng.normal(size=(N_TAGS, N_TAGS)), dtype=torch.float64)
    start = torch.tensor(rng.normal(size=(N_TAGS,)), dtype=torch.float64)
    end = torch.tensor(rng.normal(size=(N_TAGS,)), dtype=torch.float64)
    masks = [torch.as_tensor(m) for m in (allowed_transitions(LABELS), allowed_starts(LABELS), allowed_ends(LABELS))]
    return constrain(trans, start, end, *masks)


def _score(path, em, trans, start, end):
    total = start[path[0]] + em[0, path[0]] + end[path[-1]]
    for t in range(1, len(path)):
        total += trans[path[t - 1], path[t]] + em[t, path[t]]
    return float(total)


def _valid_paths(n):
    return [p for p in itertools.product(range(N_TAGS), repeat=n) if is_valid_sequence(p, LABELS)]


@pytest.mark.parametrize("seed", range(4))
def test_partition_viterbi_and_marginals_match_brute_force(seed):
    rng = numpy.random.default_rng(seed)
    trans, start, end = _constrained(rng)
    lengths = [1, 2, 4]
    em = torch.tensor(rng.normal(size=(3, 4, N_TAGS)) * 2, dtype=torch.float64)
    log_z, alphas = forward_scores(em, torch.tensor(lengths), trans, start, end, keep_alphas=True)
    betas = backward_scores(em, torch.tensor(lengths), trans, end)
    best = viterbi(em, torch.tensor(lengths), trans, start, end)
    for b, n in enumerate(lengths):
        paths = _valid_paths(n)
        scores = numpy.array([_score(p, em[b], trans, start, end) for p in paths])
        brute_log_z = numpy.logaddexp.reduce(scores)
        assert log_z[b].item() == pytest.approx(brute_log_z, abs=1e-6)
        assert tuple(best[b, :n].tolist()) == paths[int(scores.argmax())]
        probs = numpy.exp(scores - brute_log_z)
        for t in range(n):
            for y in range(N_TAGS):
                brute = probs[[p[t] == y for p in paths]].sum()
                ours = numpy.exp((alphas[t][b, y] + betas[t][b, y] - log_z[b]).item())
                assert ours == pytest.approx(brute, abs=1e-6)


def test_span_probabilities_match_brute_force():
    rng = numpy.random.default_rng(7)
    trans, start, end = _constrained(rng)
    n = 5
    em = torch.tensor(rng.normal(size=(1, n, N_TAGS)) * 2, dtype=torch.float64)
    lengths = torch.tensor([n])
    log_z, alphas = forward_scores(em, lengths, trans, start, end, keep_alphas=True)
    betas = backward_scores(em, lengths, trans, end)
    table = (
        torch.stack(alphas, 1)[0].numpy(),
        torch.stack(betas, 1)[0].numpy(),
        em[0].numpy(),
        float(log_z[0]),
    )
    paths = _valid_paths(n)
    scores = numpy.array([_score(p, em[0], trans, start, end) for p in paths])
    probs = numpy.exp(scores - numpy.logaddexp.reduce(scores))
    all_spans = all_span_log_probs(table, trans.numpy(), len(LABELS), max_length=n)
    for s in range(n):
        for e in range(s + 1, n + 1):
            for k, label in enumerate(LABELS):
                brute = sum(p for path, p in zip(paths, probs) if (s, e, label) in tags_to_spans(path, LABELS))
                assert numpy.exp(span_log_prob(table, trans.numpy(), s, e, k)) == pytest.approx(brute, abs=1e-6)
                assert numpy.exp(all_spans[e - s][s, k]) == pytest.approx(brute, abs=1e-6)


def _initialized_crf(seed, use_crf=True):
    crf = LinearChainCRF(nO=N_TAGS, use_crf=use_crf)
    crf.initialize()
    rng = numpy.random.default_rng(seed)
    for name in ("transitions", "start", "end"):
        shape = crf.get_param(name).shape
        crf.set_param(name, rng.normal(size=shape).astype("float32"))
    return crf


def test_loss_gradient_is_marginals_minus_gold():
    crf = _initialized_crf(1)
    rng = numpy.random.default_rng(2)
    scores = [rng.normal(size=(3, N_TAGS)).astype("float32")]
    gold = [numpy.array([1, 3, 0])]  # B-LOC L-LOC O
    loss, d_scores = crf_loss(crf, scores, gold)
    alpha, beta, _, log_z = crf_marginals(crf, scores)[0]
    marginals = numpy.exp(alpha + beta - log_z)
    one_hot = numpy.eye(N_TAGS)[gold[0]]
    numpy.testing.assert_allclose(d_scores[0], marginals - one_hot, atol=1e-5)
    paths = _valid_paths(3)
    trans = crf_transition_scores(crf)
    start, end = _constrained_params(crf)
    path_scores = numpy.array([_score(p, scores[0], trans, start, end) for p in paths])
    expected = numpy.logaddexp.reduce(path_scores) - _score(tuple(gold[0]), scores[0], trans, start, end)
    assert loss == pytest.approx(expected, rel=1e-4)


def _constrained_params(crf):
    start = numpy.where(allowed_starts(LABELS), crf.get_param("start"), NEG)
    end = numpy.where(allowed_ends(LABELS), crf.get_param("end"), NEG)
    return start, end


def test_unknown_gold_tokens_are_unconstrained():
    crf = _initialized_crf(3)
    scores = [numpy.random.default_rng(4).normal(size=(4, N_TAGS)).astype("float32")]
    _, d_all_unknown = crf_loss(crf, scores, [numpy.array([-1, -1, -1, -1])])
    numpy.testing.assert_allclose(d_all_unknown[0], 0.0, atol=1e-5)
    _, d_partial = crf_loss(crf, scores, [numpy.array([0, -1, -1, 0])])
    # Known tokens are pushed to gold; the gradient still sums to zero per token.
    numpy.testing.assert_allclose(d_partial[0].sum(axis=1), 0.0, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(0, 2**31 - 1),
    st.floats(0.1, 50.0),
    st.booleans(),
)
def test_decoding_never_yields_an_invalid_sequence(length, seed, scale, use_crf):
    crf = _initialized_crf(seed % 1000, use_crf=use_crf)
    rng = numpy.random.default_rng(seed)
    for name in ("transitions", "start", "end"):
        crf.set_param(name, (rng.normal(size=crf.get_param(name).shape) * scale).astype("float32"))
    scores = [(rng.normal(size=(length, N_TAGS)) * scale).astype("float32"), numpy.zeros((0, N_TAGS), "float32")]
    tags = crf_decode(crf, scores)
    assert is_valid_sequence(tags[0].tolist(), LABELS)
    assert tags[1].shape == (0,)
