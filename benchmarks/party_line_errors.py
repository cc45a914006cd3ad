"""Where the party-only rule errs on the parliamentary stance test splits, and
how far pooling by debate and party could take the text + party model there.

    python benchmarks/party_line_errors.py              # after compare.py's per-target run
    python benchmarks/party_line_errors.py --no-report  # print only

A diagnosis for issue 16, not a result: it reads the test split twice over.

1. The party-only rule (each party's majority label in compare.py's training
   part, as its "party only" row) against the gold labels of the test split:
   each error is either a rebel speech (against its party's majority in that
   debate, `spacy_bilstm.baselines.rebel_mask`) or a speech of a (debate,
   party) group whose whole line differs from the rule's (the group's
   majority is the other label, or the group is split evenly).
2. The saved runs of compare.py's "BiLSTM + char n-grams + party" model (3
   seeds, `benchmarks/work/compare/runs/`), pooled by debate and party
   (`spacy_bilstm.debate_pooling.pool_scores`) at every candidate weight,
   each against party only on the same documents (paired bootstrap, 1,000
   resamples). Choosing the weight here would be choosing it on test: the
   best row is a ceiling for any way of choosing it, not a score.

The peer, party only, is refitted in this run from the same split. Writes the
`party_line_errors` section of RESULTS.md.
"""
import argparse
import json
import time
from collections import Counter
from typing import Dict, List

import stance_systems as systems
from common import WORK, command_line, machine_description, today, write_section

CORPORA = ("handeset", "convote")
SYSTEM = "bilstm_ngram_party"
SEEDS = (0, 1, 2)
RUNS = WORK / "compare" / "runs"


def error_breakdown(corpus: str) -> Dict:
    """Party only's test errors, split into rebels and group departures."""
    from spacy.vocab import Vocab

    from spacy_bilstm.baselines import party_baseline, rebel_mask, text_data
    from spacy_bilstm.corpora.docbins import read_docs

    paths = systems.prepare_data(corpus)
    vocab = Vocab()
    train = text_data(read_docs(paths["fit"], vocab))
    test_docs = read_docs(paths["dev"], vocab)
    test = text_data(test_docs)
    predicted = party_baseline(train.parties, train.labels, [], test.parties).test_pred
    debates = [(doc._.meta or {}).get("group") for doc in test_docs]
    rebels = rebel_mask(debates, test.parties, test.labels)
    errors = [i for i, (pred, gold) in enumerate(zip(predicted, test.labels)) if pred != gold]
    departed = {(debates[i], test.parties[i]) for i in errors if not rebels[i]}
    return {
        "n_test": len(test.labels),
        "n_errors": len(errors),
        "rebels": sum(rebels[i] for i in errors),
        "n_rebels": sum(rebels),
        "in_departed_groups": sum(not rebels[i] for i in errors),
        "departed_groups": len(departed),
        "groups": len(set(zip(debates, test.parties))),
        "party_pred": predicted,
        "gold": test.labels,
    }


def pooling_rows(corpus: str, party_pred: List[str]) -> List[Dict]:
    """The saved runs pooled at each weight, against party only."""
    from spacy_bilstm.baselines import classification_scores, mean_std, paired_bootstrap
    from spacy_bilstm.debate_pooling import DEFAULT_WEIGHTS, pool_scores

    runs = []
    for seed in SEEDS:
        path = RUNS / f"{corpus}_stance_{SYSTEM}_{seed}.json"
        if not path.exists():
            raise SystemExit(f"{path}: missing; run benchmarks/compare.py (the per-target comparison) first")
        runs.append(json.loads(path.read_text()))
    gold, labels = runs[0]["gold"], runs[0]["labels"]
    rows = []
    for weight in DEFAULT_WEIGHTS:
        preds = []
        for run in runs:
            groups = [tuple(g) if g else None for g in run["groups"]]
            preds.append([max(cats, key=cats.get) for cats in pool_scores(run["scores"], groups, weight)])
        scores = [classification_scores(gold, pred, labels)["macro_f"] for pred in preds]
        diff, low, high = paired_bootstrap(gold, preds, party_pred, labels, metric="macro_f", n_resamples=1000, seed=0)
        mean, std = mean_std(scores)
        rows.append({"weight": weight, "mean": mean, "std": std, "diff": diff, "low": low, "high": high})
    return rows


def render(results: Dict[str, Dict], seconds: float) -> str:
    lines = [
        "## Stance: where party only errs, and the ceiling of pooling by debate and party (issue 16, a diagnosis)",
        "",
        f"Command: `{command_line()}`  ",
        f"Machine: {machine_description()}  ",
        f"Date: {today()}; {seconds:.0f} s. The text + party runs are compare.py's saved per-target runs "
        f"(\"BiLSTM + char n-grams + party\", seeds {', '.join(map(str, SEEDS))}); party only is refitted here on "
        "the same training part. The weights are read on test: the best row bounds any way of choosing the "
        "weight, it is not a score.",
        "",
        "| corpus | test speeches | party-only errors | of them rebels (rebels in all) | "
        "in groups whose line departs | such groups / all (debate, party) groups |",
        "|---|---|---|---|---|---|",
    ]
    for corpus, result in results.items():
        b = result["errors"]
        lines.append(f"| {corpus} | {b['n_test']} | {b['n_errors']} | {b['rebels']} ({b['n_rebels']}) | "
                     f"{b['in_departed_groups']} | {b['departed_groups']} / {b['groups']} |")
    lines += ["", "| corpus | pooling weight | text + party, macro F1 | − party only [95%] |", "|---|---|---|---|"]
    for corpus, result in results.items():
        for row in result["pooling"]:
            lines.append(f"| {corpus} | {row['weight']:g} | {row['mean']:.3f} ± {row['std']:.3f} | "
                         f"{row['diff']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}] |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-report", action="store_true", help="print the tables, do not write RESULTS.md")
    args = parser.parse_args()
    start = time.time()
    results = {}
    for corpus in CORPORA:
        errors = error_breakdown(corpus)
        results[corpus] = {"errors": errors, "pooling": pooling_rows(corpus, errors["party_pred"])}
    text = render(results, time.time() - start)
    print(text)
    if not args.no_report:
        write_section("party_line_errors", text)


if __name__ == "__main__":
    main()
