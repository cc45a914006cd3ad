"""The CRF against brute-force enumeration of every tag sequence, torch's
autograd, and an independent statement of the BILUO rules."""
import itertools

import numpy
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_bilstm.layers.crf import CRFScores, LinearChainCRF, biluo_masks, crf_decode, crf_loss, crf_marginals
from spacy_bilstm.layers.crf_math import backward_scores, forward_scores, viterbi
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


def constrain(trans, start, end, allowed, allowed_start, allowed_end):
    """Forbidden transition, start and end scores set to -inf, as the CRF
    layer's parameters carry them; torch.where keeps their gradient at 0."""
    neg = torch.tensor(-float("inf"), dtype=trans.dtype)
    return torch.where(allowed, trans, neg), torch.where(allowed_start, start, neg), torch.where(allowed_end, end, neg)


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


def _loss_and_grads(crf, scores, gold):
    """One training step through the layer: forward, loss, backprop."""
    Y, backprop = crf.begin_update(scores)
    loss, dY = crf_loss(Y, gold)
    d_scores = backprop(dY)
    return loss, d_scores, Y


def test_loss_gradient_is_marginals_minus_gold():
    crf = _initialized_crf(1)
    rng = numpy.random.default_rng(2)
    scores = [rng.normal(size=(3, N_TAGS)).astype("float32")]
    gold = [numpy.array([1, 3, 0])]  # B-LOC L-LOC O
    loss, d_scores, Y = _loss_and_grads(crf, scores, gold)
    alpha, beta, _, log_z = crf_marginals(Y)[0]
    marginals = numpy.exp(alpha + beta - log_z)
    one_hot = numpy.eye(N_TAGS)[gold[0]]
    numpy.testing.assert_allclose(d_scores[0], marginals - one_hot, atol=1e-5)
    paths = _valid_paths(3)
    trans = Y.transitions
    start, end = _constrained_params(crf)
    path_scores = numpy.array([_score(p, scores[0], trans, start, end) for p in paths])
    expected = numpy.logaddexp.reduce(path_scores) - _score(tuple(gold[0]), scores[0], trans, start, end)
    assert loss == pytest.approx(expected, rel=1e-4)


def _constrained_params(crf):
    start = numpy.where(allowed_starts(LABELS), crf.get_param("start"), -numpy.inf)
    end = numpy.where(allowed_ends(LABELS), crf.get_param("end"), -numpy.inf)
    return start, end


def test_unknown_gold_tokens_are_unconstrained():
    crf = _initialized_crf(3)
    scores = [numpy.random.default_rng(4).normal(size=(4, N_TAGS)).astype("float32")]
    _, d_all_unknown, _ = _loss_and_grads(crf, scores, [numpy.array([-1, -1, -1, -1])])
    numpy.testing.assert_allclose(d_all_unknown[0], 0.0, atol=1e-5)
    for name in ("transitions", "start", "end"):
        numpy.testing.assert_allclose(crf.get_grad(name), 0.0, atol=1e-5)


def test_partial_gold_loss_and_gradient_match_brute_force():
    """With some gold tags unknown, the loss is log Z minus the log-sum over
    the valid paths that agree with the known tags, and its gradient with
    respect to an emission is P(tag) - P(tag | agrees with the gold)."""
    crf = _initialized_crf(3)
    scores = [numpy.random.default_rng(4).normal(size=(4, N_TAGS)).astype("float32")]
    gold = numpy.array([0, -1, -1, 0])
    loss, d_partial, _ = _loss_and_grads(crf, scores, [gold])
    trans = numpy.where(allowed_transitions(LABELS), crf.get_param("transitions"), -numpy.inf)
    start, end = _constrained_params(crf)
    paths = _valid_paths(4)
    path_scores = numpy.array([_score(p, scores[0], trans, start, end) for p in paths])
    agrees = numpy.array([all(g < 0 or g == y for g, y in zip(gold, p)) for p in paths])
    log_z, log_z_gold = numpy.logaddexp.reduce(path_scores), numpy.logaddexp.reduce(path_scores[agrees])
    assert loss == pytest.approx(log_z - log_z_gold, rel=1e-4)
    p_all = numpy.exp(path_scores - log_z)
    p_gold = numpy.where(agrees, numpy.exp(path_scores - log_z_gold), 0.0)
    expected = numpy.zeros((4, N_TAGS))
    for path, a, b in zip(paths, p_all, p_gold):
        for t, y in enumerate(path):
            expected[t, y] += a - b
    numpy.testing.assert_allclose(d_partial[0], expected, atol=1e-5)
    # The unknown tokens are not pushed towards any one tag: their gradient
    # is not a one-hot (unlike the known ones).
    assert numpy.abs(expected[1:3]).max() > 1e-3


def _log_likelihood_torch(emissions, trans, start, end, gold):
    """The CRF loss with partly known gold, from raw (unconstrained) params."""
    masks = [torch.as_tensor(m) for m in (allowed_transitions(LABELS), allowed_starts(LABELS), allowed_ends(LABELS))]
    trans, start, end = constrain(trans, start, end, *masks)
    lengths = torch.tensor([emissions.shape[1]] * emissions.shape[0])
    known = gold >= 0
    allowed = torch.nn.functional.one_hot(gold.clamp(min=0), N_TAGS).bool() | ~known.unsqueeze(2)
    log_z, _ = forward_scores(emissions, lengths, trans, start, end)
    log_z_gold, _ = forward_scores(emissions.masked_fill(~allowed, -numpy.inf), lengths, trans, start, end)
    return (log_z - log_z_gold).sum()


def test_gradcheck_emissions_transitions_start_end():
    rng = numpy.random.default_rng(11)
    emissions = torch.tensor(rng.normal(size=(2, 4, N_TAGS)), dtype=torch.float64, requires_grad=True)
    trans = torch.tensor(rng.normal(size=(N_TAGS, N_TAGS)), dtype=torch.float64, requires_grad=True)
    start = torch.tensor(rng.normal(size=(N_TAGS,)), dtype=torch.float64, requires_grad=True)
    end = torch.tensor(rng.normal(size=(N_TAGS,)), dtype=torch.float64, requires_grad=True)
    gold = torch.tensor([[1, 2, 3, 0], [0, -1, -1, 4]])  # B-LOC I-LOC L-LOC O; O ? ? U-LOC
    assert torch.autograd.gradcheck(
        lambda e, t, s, n: _log_likelihood_torch(e, t, s, n, gold), (emissions, trans, start, end)
    )


def test_layer_backprop_carries_the_transition_gradient():
    """The layer's param gradients equal autograd on the raw params, and
    forbidden moves get none."""
    crf = _initialized_crf(5)
    rng = numpy.random.default_rng(6)
    scores = [rng.normal(size=(5, N_TAGS)).astype("float32"), rng.normal(size=(2, N_TAGS)).astype("float32")]
    gold = [numpy.array([5, 6, 7, 0, -1]), numpy.array([4, 0])]
    _loss_and_grads(crf, scores, gold)
    raw = {name: torch.tensor(crf.get_param(name), dtype=torch.float64, requires_grad=True) for name in ("transitions", "start", "end")}
    total = 0
    for em, g in zip(scores, gold):
        total = total + _log_likelihood_torch(
            torch.tensor(em, dtype=torch.float64).unsqueeze(0), raw["transitions"], raw["start"], raw["end"], torch.tensor(g).unsqueeze(0)
        )
    total.backward()
    masks = dict(zip(("transitions", "start", "end"), biluo_masks(N_TAGS)))
    for name, param in raw.items():
        numpy.testing.assert_allclose(crf.get_grad(name), param.grad.numpy(), atol=1e-5)
        assert not crf.get_grad(name)[~masks[name]].any()
        assert numpy.abs(crf.get_grad(name)).max() > 1e-3


def _biluo_by_enumeration(n_tokens):
    """Every BILUO sequence spaCy writes for some set of non-overlapping
    entities (of labels LOC and PER) over `n_tokens` tokens."""
    from spacy.tokens import Doc
    from spacy.training import offsets_to_biluo_tags
    from spacy.vocab import Vocab

    words = ["w"] * n_tokens
    doc = Doc(Vocab(), words=words, spaces=[True] * n_tokens)
    spans = [(s, e) for s in range(n_tokens) for e in range(s + 1, n_tokens + 1)]
    sequences = []
    for k in range(n_tokens + 1):
        for chosen in itertools.combinations(spans, k):
            if any(a[1] > b[0] for a, b in zip(chosen, chosen[1:])):
                continue
            for labels in itertools.product(LABELS, repeat=k):
                offsets = [(doc[s].idx, doc[e - 1].idx + 1, label) for (s, e), label in zip(chosen, labels)]
                sequences.append(offsets_to_biluo_tags(doc, offsets))
    return sequences


def test_biluo_masks_match_an_independent_definition():
    """A move is allowed exactly when it occurs in the BILUO encoding of
    some set of entities: enumerate all of them for 4 tokens (long enough
    for I after I) with spaCy's own encoder, and compare."""
    names = tag_names(LABELS)
    seen_moves, seen_starts, seen_ends = set(), set(), set()
    for tags in _biluo_by_enumeration(4):
        seen_starts.add(tags[0])
        seen_ends.add(tags[-1])
        seen_moves.update(zip(tags, tags[1:]))
    transitions, starts, ends = biluo_masks(len(names))
    for i, prev in enumerate(names):
        assert bool(starts[i]) == (prev in seen_starts), prev
        assert bool(ends[i]) == (prev in seen_ends), prev
        for j, nxt in enumerate(names):
            assert bool(transitions[i, j]) == ((prev, nxt) in seen_moves), (prev, nxt)
    # Spot checks of the rules as written in the BILUO scheme.
    index = {name: i for i, name in enumerate(names)}
    assert transitions[index["B-LOC"], index["L-LOC"]] and not transitions[index["B-LOC"], index["L-PER"]]
    assert transitions[index["U-PER"], index["B-LOC"]] and not transitions[index["O"], index["I-LOC"]]
    assert not starts[index["L-PER"]] and not ends[index["B-PER"]] and starts[index["U-LOC"]]


def test_masks_are_built_once_per_tag_set():
    assert biluo_masks(N_TAGS) is biluo_masks(N_TAGS)
    crf = _initialized_crf(0)
    before = biluo_masks.cache_info().misses
    scores = [numpy.zeros((3, N_TAGS), dtype="float32")]
    for _ in range(3):
        crf_decode(crf.predict(scores))
    assert biluo_masks.cache_info().misses == before


def _check_decodes_valid(crf, rng, length, scale, emission_scale):
    for name in ("transitions", "start", "end"):
        crf.set_param(name, (rng.normal(size=crf.get_param(name).shape) * scale).astype("float32"))
    scores = [
        (rng.normal(size=(length, N_TAGS)) * emission_scale).astype("float32"),
        numpy.zeros((0, N_TAGS), "float32"),
    ]
    # Some tokens may only be "O" (as whitespace is).
    allowed = numpy.ones((length, N_TAGS), dtype=bool)
    allowed[rng.random(length) < 0.2, 1:] = False
    for mask in (None, [allowed, None]):
        tags = crf_decode(crf.predict(scores), mask)
        assert is_valid_sequence(tags[0].tolist(), LABELS)
        if mask is not None:
            assert all(tags[0][~allowed[:, 1]] == 0)
        assert tags[1].shape == (0,)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(0, 2**31 - 1),
    st.floats(0.1, 50.0),
    st.floats(0.1, 10_000.0),
    st.booleans(),
)
def test_decoding_never_yields_an_invalid_sequence(length, seed, scale, emission_scale, use_crf):
    crf = _initialized_crf(seed % 1000, use_crf=use_crf)
    _check_decodes_valid(crf, numpy.random.default_rng(seed), length, scale, emission_scale)


def test_decoding_is_valid_with_emissions_in_the_thousands():
    # A finite penalty of -1e4 for forbidden moves let 50 of these 200 decodes
    # through invalid.
    crf = _initialized_crf(0)
    rng = numpy.random.default_rng(0)
    for _ in range(200):
        _check_decodes_valid(crf, rng, int(rng.integers(2, 20)), 1.0, 5_000.0)


def test_output_holds_constrained_scores_and_joins():
    crf = _initialized_crf(2)
    scores = [numpy.ones((2, N_TAGS), dtype="float32"), numpy.zeros((1, N_TAGS), dtype="float32")]
    Y = crf.predict(scores)
    assert isinstance(Y, CRFScores) and len(Y) == 2 and Y[0] is scores[0]
    transitions, starts, ends = biluo_masks(N_TAGS)
    assert numpy.isneginf(Y.transitions[~transitions]).all()
    numpy.testing.assert_array_equal(Y.transitions[transitions], crf.get_param("transitions")[transitions])
    assert numpy.isneginf(Y.start[~starts]).all() and numpy.isneginf(Y.end[~ends]).all()
    joined = CRFScores.join([Y, crf.predict(scores[:1])])
    assert len(joined) == 3 and joined[2] is scores[0]
