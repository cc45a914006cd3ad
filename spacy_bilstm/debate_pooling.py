"""Read a party's line in a debate from all of its speakers: pooled stance.

One speech is weak evidence of how its speaker will vote; a party's dozen
speeches in the same debate are strong evidence of the party's line there, and
most speakers follow that line. Pooling the predicted stance of the speeches
that share a debate and a party (collective classification, as in Thomas,
Pang & Lee 2006 for ConVote) lets the text decide the party's line in each
debate, where the speaker's party alone can only give its usual line.

For each document, with ``log p`` its predicted log-probabilities and
``mean log p`` their mean over the documents of the same (debate, party):

    pooled log p = (1 - weight) * log p + weight * mean log p

renormalised over the labels. ``weight`` 0 leaves the predictions alone, 1
gives every speech its party's pooled line; `choose_pooling_weight` picks it
on dev. A document without a debate or a party is its own group, so it keeps
its prediction; `PoolingReport` counts those. The result depends only on the
set of documents pooled together, not on their order or on batching.
"""
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Hashable, Iterable, List, Optional, Sequence, Tuple

import numpy

from .errors import InputError

DEFAULT_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
# Predicted probabilities are clipped here before the log, so that a
# zero never turns the pooled mean into -inf.
MIN_PROBABILITY = 1e-12

Scores = Dict[str, float]


@dataclass
class PoolingReport:
    """What `pool_debate_stance` did.

    n_docs (int): Documents seen.
    n_pooled (int): Documents in a (debate, party) group of two or more.
    n_alone (int): Documents alone in their group (their cats are unchanged).
    n_missing (int): Of those, documents without a debate or party in their meta.
    n_groups (int): Distinct (debate, party) groups.
    """

    n_docs: int = 0
    n_pooled: int = 0
    n_alone: int = 0
    n_missing: int = 0
    n_groups: int = 0


def party_line_groups(
    docs: Iterable, *, debate_key: str = "group", party_key: str = "party"
) -> List[Optional[Tuple[Hashable, Hashable]]]:
    """The (debate, party) group of each Doc, read from ``doc._.meta``.

    docs (Iterable[Doc]): Documents with ``doc._.meta`` (the stance readers and
        `convert textcat` fill it; ``meta["group"]`` is the debate).
    debate_key (str): The meta key naming the debate.
    party_key (str): The meta key naming the speaker's party.
    RETURNS (List[Optional[Tuple[Hashable, Hashable]]]): The group of each Doc,
        or None where the debate or the party is missing or empty.
    """
    groups = []
    for doc in docs:
        meta = doc._.meta or {}
        debate, party = meta.get(debate_key), meta.get(party_key)
        groups.append(None if debate in (None, "") or party in (None, "") else (debate, party))
    return groups


def pool_scores(
    scores: Sequence[Scores], groups: Sequence[Optional[Hashable]], weight: float
) -> List[Scores]:
    """Pool predicted class probabilities within groups.

    scores (Sequence[Dict[str, float]]): Each document's probabilities over
        the same exclusive labels (``doc.cats`` of an exclusive classifier).
    groups (Sequence[Optional[Hashable]]): Each document's group; None means
        a group of its own.
    weight (float): 0 keeps each document's scores, 1 gives each the pooled
        scores of its group.
    RETURNS (List[Dict[str, float]]): The pooled probabilities, in order.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be between 0 and 1, got {weight}")
    if len(scores) != len(groups):
        raise ValueError(f"{len(scores)} score dicts but {len(groups)} groups")
    if not scores:
        return []
    labels = sorted(scores[0])
    for i, cats in enumerate(scores):
        if sorted(cats) != labels:
            raise ValueError(f"document {i} has labels {sorted(cats)}, the first has {labels}")
    log_p = numpy.log(numpy.clip(numpy.array([[cats[label] for label in labels] for cats in scores]),
                                 MIN_PROBABILITY, 1.0))
    members: Dict[Hashable, List[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(("doc", i) if group is None else ("group", group), []).append(i)
    pooled = log_p.copy()
    for idx in members.values():
        if len(idx) > 1:
            pooled[idx] = (1.0 - weight) * log_p[idx] + weight * log_p[idx].mean(axis=0)
    pooled -= pooled.max(axis=1, keepdims=True)
    probs = numpy.exp(pooled)
    probs /= probs.sum(axis=1, keepdims=True)
    return [{label: float(p) for label, p in zip(labels, row)} for row in probs]


def choose_pooling_weight(
    gold: Sequence[str],
    scores: Sequence[Scores],
    groups: Sequence[Optional[Hashable]],
    score_fn,
    weights: Sequence[float] = DEFAULT_WEIGHTS,
) -> Tuple[float, Dict[float, float]]:
    """Pick the pooling weight that scores best on labelled (dev) documents.

    gold (Sequence[str]): Gold labels.
    scores (Sequence[Dict[str, float]]): Predicted probabilities.
    groups (Sequence[Optional[Hashable]]): Each document's group.
    score_fn (Callable[[List[str], List[str]], float]): Scores predicted
        labels against gold (higher is better).
    weights (Sequence[float]): Candidates. Ties go to the smaller weight:
        pool no more than dev asks for.
    RETURNS (Tuple[float, Dict[float, float]]): The chosen weight and the dev
        score of every candidate.
    """
    results = {}
    for weight in weights:
        pooled = pool_scores(scores, groups, weight)
        results[weight] = score_fn(list(gold), [max(cats, key=cats.get) for cats in pooled])
    best = max(sorted(results), key=lambda w: results[w])
    return best, results


def pool_debate_stance(
    docs: Sequence, weight: float, *, debate_key: str = "group", party_key: str = "party"
) -> PoolingReport:
    """Pool the stance predictions of Docs by debate and party, in place.

    Run it after the pipeline, over all the speeches of the debates at once
    (e.g. ``docs = list(nlp.pipe(texts))``): a group is pooled over the
    members it is given.

    docs (Sequence[Doc]): Predicted Docs: ``doc.cats`` from an exclusive
        classifier, the debate and party in ``doc._.meta``.
    weight (float): How much of the party's pooled line goes into each
        speech (0 to 1); see `choose_pooling_weight`.
    debate_key (str): The meta key naming the debate.
    party_key (str): The meta key naming the speaker's party.
    RETURNS (PoolingReport): Counts of pooled and unpooled documents.
    """
    docs = list(docs)
    for i, doc in enumerate(docs):
        if not doc.cats:
            raise InputError(f"document {i} has no predicted cats: run the pipeline before pooling",
                             reason="no_predictions")
    groups = party_line_groups(docs, debate_key=debate_key, party_key=party_key)
    pooled = pool_scores([doc.cats for doc in docs], groups, weight)
    sizes = Counter(group for group in groups if group is not None)
    report = PoolingReport(n_docs=len(docs), n_groups=len(sizes))
    for doc, group, cats in zip(docs, groups, pooled):
        doc.cats = cats
        if group is None:
            report.n_missing += 1
            report.n_alone += 1
        elif sizes[group] == 1:
            report.n_alone += 1
        else:
            report.n_pooled += 1
    return report
