"""Collect a workflow's evaluation metrics, training logs, baselines and
network summary into ``summary.json``, a short Markdown report and a PNG of
the training curves.

    python -m spacy_bilstm report --metrics ner=metrics/ner.json \\
        --log ner=training/ner/log.jsonl --summary metrics/summary.json \\
        --markdown reports/report.md --curves reports/training_curves.png
"""
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from ..errors import InputError
from ..io import atomic_open
from .logs import LogEntry, read_training_log, summarize_log

NER_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type", "speed", "n_docs", "data")
TEXTCAT_KEYS = (
    "cats_score",
    "cats_score_desc",
    "cats_macro_p",
    "cats_macro_r",
    "cats_macro_f",
    "cats_macro_auc",
    "cats_micro_f",
    "cats_f_per_type",
    "speed",
    "n_docs",
    "data",
)
TOP_ACTORS = 10


def read_json_object(path: Union[str, Path], what: str) -> Dict[str, Any]:
    """Read a JSON file that must hold an object.

    path (Union[str, Path]): The file.
    what (str): What the file is, for the error message.
    RETURNS (Dict[str, Any]): The object.
    RAISES (InputError): If the file is missing, not JSON or not an object.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found", path=path, reason="missing_file")
    try:
        data = json.loads(path.read_text(encoding="utf8"))
    except json.JSONDecodeError as err:
        raise InputError(f"invalid JSON: {err.msg}", path=path, line=err.lineno, reason="bad_json") from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=path, reason="bad_json") from None
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a JSON object", path=path, reason="bad_json")
    return data


def metrics_task(metrics: Mapping[str, Any], path: Union[str, Path]) -> str:
    """Whether evaluation metrics are for entities ("ner") or categories ("textcat").

    metrics (Mapping[str, Any]): Scores from `evaluate_pipeline` or ``spacy evaluate``.
    path (Union[str, Path]): Their file, for the error message.
    RETURNS (str): "ner" or "textcat".
    RAISES (InputError): If the metrics have neither ents_f nor cats_score.
    """
    if "ents_f" in metrics:
        return "ner"
    if "cats_score" in metrics:
        return "textcat"
    raise InputError("no 'ents_f' or 'cats_score': not an NER or textcat evaluation", path=path, reason="bad_json")


def baselines_on(train_path: Path, dev_path: Path) -> Dict[str, Any]:
    """The stance baselines fitted on one DocBin and scored on another.

    RAISES (InputError): If a file is missing or has no labelled Docs, naming it.
    """
    from ..baselines import stance_baselines
    from ..corpora.docbins import read_docs

    train, dev = read_docs(train_path), read_docs(dev_path)
    for path, docs in ((train_path, train), (dev_path, dev)):
        if not any(doc.cats for doc in docs):
            raise InputError("no Docs with a gold label", path=path, reason="no_labels")
    return stance_baselines(train, dev)


def build_summary(
    metrics: Mapping[str, Path],
    logs: Mapping[str, Path],
    baselines: Mapping[str, Tuple[Path, Path]],
    network: Optional[Path] = None,
    network_png: Optional[Path] = None,
    crossval: Optional[Mapping[str, Path]] = None,
    network_html: Optional[Path] = None,
) -> Tuple[Dict[str, Any], Dict[str, List[LogEntry]]]:
    """Gather everything a report shows.

    metrics (Mapping[str, Path]): Run name -> evaluation JSON.
    logs (Mapping[str, Path]): Run name -> ConsoleLogger.v3 training log.
    baselines (Mapping[str, Tuple[Path, Path]]): Run name -> (train, dev)
        DocBins for the stance baselines.
    network (Optional[Path]): The `network` command's report JSON.
    network_png (Optional[Path]): The network drawing, to link to.
    crossval (Optional[Mapping[str, Path]]): Run name -> the `crossval`
        command's JSON (pooled scores of the model and the baselines).
    network_html (Optional[Path]): The interactive network page, to link to.
    RETURNS (Tuple[Dict[str, Any], Dict[str, List[LogEntry]]]): The summary
        (JSON-ready) and the parsed training logs (for the curves).
    RAISES (InputError): For a missing or malformed input file.
    """
    runs: Dict[str, Dict[str, Any]] = {}
    entries: Dict[str, List[LogEntry]] = {}
    crossval = crossval or {}
    for name in sorted(set(metrics) | set(logs) | set(baselines) | set(crossval)):
        run: Dict[str, Any] = {}
        if name in metrics:
            scores = read_json_object(metrics[name], "metrics file")
            task = metrics_task(scores, metrics[name])
            keys = NER_KEYS if task == "ner" else TEXTCAT_KEYS
            run.update(task=task, metrics_file=str(metrics[name]))
            run["metrics"] = {key: scores[key] for key in keys if key in scores}
        if name in logs:
            entries[name] = list(read_training_log(logs[name]))
            run["log_file"] = str(logs[name])
            run["training"] = summarize_log(entries[name])
        if name in baselines:
            run["baselines"] = baselines_on(*baselines[name])
        if name in crossval:
            run["crossval"] = crossval_summary(read_json_object(crossval[name], "cross-validation file"), crossval[name])
        runs[name] = run
    summary: Dict[str, Any] = {"runs": runs}
    if network is not None:
        summary["network"] = network_summary(
            read_json_object(network, "network report"), network, network_png, network_html
        )
    summary["notes"] = notes(summary)
    return summary, entries


def crossval_summary(result: Mapping[str, Any], path: Path) -> Dict[str, Any]:
    """The pooled scores of a `crossval` run, without its per-document rows.

    result (Mapping[str, Any]): The `crossval` command's JSON.
    path (Path): Its file, for the error message.
    RETURNS (Dict[str, Any]): Folds, documents, scores and the comparison.
    RAISES (InputError): If the file is not a `crossval` result.
    """
    if not isinstance(result.get("scores"), dict) or "model" not in result["scores"]:
        raise InputError("no 'scores.model': not a crossval result", path=path, reason="bad_json")
    return {
        "file": str(path),
        "n_folds": result.get("n_folds"),
        "n_docs": result.get("n_docs"),
        "folds_by": result.get("folds_by"),
        "n_groups": result.get("n_groups"),
        "scores": {name: {k: v for k, v in s.items() if k != "per_label"} for name, s in result["scores"].items()},
        "model_vs_party": result.get("model_vs_party"),
    }


def network_summary(
    report: Mapping[str, Any], path: Path, png: Optional[Path], html: Optional[Path] = None
) -> Dict[str, Any]:
    """The headline facts of a `network` run's report JSON.

    report (Mapping[str, Any]): The report.
    path (Path): Its file.
    png (Optional[Path]): The drawing, if one was made.
    html (Optional[Path]): The interactive page, if one was made.
    RETURNS (Dict[str, Any]): Records, graph size and structure, top actors.
    """
    graph = report.get("graph") or {}
    speakers = report.get("speaker_graph") or {}
    return {
        "report_file": str(path),
        "png": str(png) if png is not None else None,
        "html": str(html) if html is not None else None,
        "records": report.get("records", {}),
        "nodes": graph.get("nodes"),
        "edges": graph.get("edges"),
        "components": graph.get("components"),
        "communities": graph.get("communities"),
        "modularity": graph.get("modularity"),
        "top_mentions": list(graph.get("top_mentions", []))[:TOP_ACTORS],
        "top_weighted_degree": list(graph.get("top_weighted_degree", []))[:TOP_ACTORS],
        "speaker_graph": {"nodes": speakers.get("nodes"), "edges": speakers.get("edges")} if speakers else None,
        "seconds": (report.get("seconds") or {}).get("total"),
    }


def _headline(run: Mapping[str, Any]) -> Optional[float]:
    metrics = run.get("metrics") or {}
    value = metrics.get("ents_f") if run.get("task") == "ner" else metrics.get("cats_macro_f")
    return float(value) if isinstance(value, (int, float)) else None


def notes(summary: Mapping[str, Any]) -> List[str]:
    """Plain-language warnings a reader should not miss (empty if none).

    summary (Mapping[str, Any]): The summary without its notes.
    RETURNS (List[str]): The warnings.
    """
    found = []
    for name, run in summary["runs"].items():
        score = _headline(run)
        if score is not None and (not math.isfinite(score) or score <= 0.0):
            found.append(f"{name}: the model scores {score}: it has not learned the task.")
        training = run.get("training") or {}
        if training.get("finite") is False:
            found.append(f"{name}: the training log has non-finite losses or scores.")
        comparison = (run.get("crossval") or {}).get("model_vs_party")
        if comparison and not comparison["model_ahead"]:
            low, high = comparison["ci"]
            found.append(
                f"{name}: in cross-validation the model is not ahead of the party-only baseline: "
                f"macro F1 difference {comparison['macro_f_diff']:+.3f} [{low:+.3f}, {high:+.3f}]."
            )
        party = (run.get("baselines") or {}).get("party")
        if score is not None and party and score <= party["macro_f"]:
            found.append(
                f"{name}: macro F1 {score:.3f} does not beat the party-only baseline "
                f"({party['macro_f']:.3f}) on this dev split."
            )
    network = summary.get("network")
    if network is not None and not network.get("nodes"):
        found.append("network: no actors were found in the speeches.")
    return found


def _fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _evaluated_on(metrics: Mapping[str, Any]) -> str:
    where = f" `{metrics['data']}`" if metrics.get("data") else ""
    size = f" ({metrics['n_docs']} docs)" if metrics.get("n_docs") else ""
    return f"Evaluated on{where}{size}"


def _training_line(training: Mapping[str, Any]) -> str:
    if not training.get("evaluations"):
        return "Training log: no evaluations."
    return (
        f"Training: {training['last_step']} steps (to epoch {training['last_epoch']}), "
        f"{training['evaluations']} evaluations; best dev score {training['best_score']:.3f} "
        f"at step {training['best_step']}: model-best, the model evaluated here."
    )


def render_markdown(summary: Mapping[str, Any], curves: Optional[Path], markdown_path: Path, title: str) -> str:
    """The report as Markdown, with links relative to the report's folder.

    summary (Mapping[str, Any]): From `build_summary`.
    curves (Optional[Path]): The training curves PNG, if drawn.
    markdown_path (Path): Where the report goes (links are relative to it).
    title (str): The report's heading.
    RETURNS (str): The Markdown text.
    """
    import os

    def link(path: Union[str, Path]) -> str:
        return Path(os.path.relpath(Path(path).resolve(), markdown_path.resolve().parent)).as_posix()

    out = [f"# {title}", ""]
    for note in summary.get("notes", []):
        out.append(f"> **Note.** {note}")
    if summary.get("notes"):
        out.append("")
    for name, run in summary["runs"].items():
        metrics = run.get("metrics") or {}
        if run.get("task") == "ner":
            out += [f"## {name}: entity recognition", ""]
            out.append(f"{_evaluated_on(metrics)}, exact entity spans:")
            out += ["", "| label | precision | recall | F1 |", "|---|---:|---:|---:|"]
            for label, row in sorted((metrics.get("ents_per_type") or {}).items()):
                out.append(f"| {label} | {_fmt(row.get('p'))} | {_fmt(row.get('r'))} | {_fmt(row.get('f'))} |")
            out.append(
                f"| **all** | **{_fmt(metrics.get('ents_p'))}** | **{_fmt(metrics.get('ents_r'))}** "
                f"| **{_fmt(metrics.get('ents_f'))}** |"
            )
        elif run.get("task") == "textcat":
            out += [f"## {name}: stance classification", ""]
            out += [f"{_evaluated_on(metrics)}:", ""]
            # The baselines label every document, so their micro F1 is their accuracy.
            out += ["| system | macro F1 | micro F1 |", "|---|---:|---:|"]
            out.append(
                f"| **model** | **{_fmt(metrics.get('cats_macro_f'))}** | **{_fmt(metrics.get('cats_micro_f'))}** |"
            )
            baselines = run.get("baselines") or {}
            if "majority" in baselines:
                majority = baselines["majority"]
                out.append(
                    f"| majority class ({majority['label']}) | {_fmt(majority['macro_f'])} "
                    f"| {_fmt(majority['accuracy'])} |"
                )
            if "party" in baselines:
                party = baselines["party"]
                out.append(f"| party only | {_fmt(party['macro_f'])} | {_fmt(party['accuracy'])} |")
            per_label = metrics.get("cats_f_per_type") or {}
            if per_label:
                out += ["", "Per label (P / R / F1): " + "; ".join(
                    f"{label} {_fmt(row.get('p'))} / {_fmt(row.get('r'))} / {_fmt(row.get('f'))}"
                    for label, row in sorted(per_label.items())
                ) + "."]
            if metrics.get("cats_macro_auc") is not None:
                out.append(f"Macro ROC AUC {_fmt(metrics['cats_macro_auc'])}.")
        crossval = run.get("crossval")
        if crossval:
            if run.get("task") != "textcat":
                out += [f"## {name}: stance classification", ""]
            if crossval.get("folds_by") == "group":
                unseen = f"a model that never saw its debate: {crossval['n_groups']} debates, each kept whole"
            else:
                # Results written before folds_by existed say nothing either way.
                unseen = "a model that never saw that document" + (
                    "; the folds were stratified by label, so other speeches of its debate were in training"
                    if crossval.get("folds_by") else ""
                )
            out += ["", f"{crossval['n_folds']}-fold cross-validation over all {crossval['n_docs']} documents "
                    f"(each scored once, by {unseen}; the baselines fitted on the same "
                    "folds), with bootstrap 95% intervals:", "",
                    "| system | macro F1 | 95% CI | accuracy |", "|---|---:|---|---:|"]
            for key, label in (("model", "**model**"), ("party", "party only"), ("majority", "majority class")):
                if key in crossval["scores"]:
                    row = crossval["scores"][key]
                    low, high = row["macro_f_ci"]
                    out.append(f"| {label} | {_fmt(row['macro_f'])} | [{_fmt(low)}, {_fmt(high)}] "
                               f"| {_fmt(row['accuracy'])} |")
            comparison = crossval.get("model_vs_party")
            if comparison:
                low, high = comparison["ci"]
                out += ["", f"Model − party only: {comparison['macro_f_diff']:+.3f} [{low:+.3f}, {high:+.3f}] "
                        f"(paired bootstrap): {'ahead' if comparison['model_ahead'] else 'not ahead'}."]
        else:
            out += [f"## {name}", ""]
        if "training" in run:
            out += ["", _training_line(run["training"])]
        if isinstance(metrics.get("speed"), (int, float)):
            out.append(f"Speed: {metrics['speed']:,.0f} words/s.")
        out.append("")
    network = summary.get("network")
    if network is not None:
        out += ["## Actor network", ""]
        records = network.get("records") or {}
        out.append(
            f"{_fmt(network.get('nodes'))} actors and {_fmt(network.get('edges'))} co-mention edges "
            f"from {_fmt(records.get('used'))} speeches; {_fmt(network.get('components'))} components, "
            f"{_fmt(network.get('communities'))} communities (modularity {_fmt(network.get('modularity'))})."
        )
        speakers = network.get("speaker_graph")
        if speakers:
            out.append(f"Speaker → actor graph: {speakers['nodes']} nodes, {speakers['edges']} edges.")
        top = network.get("top_mentions") or []
        if top:
            out += ["", "Most mentioned: " + ", ".join(f"{name} ({count:g})" for name, count in top) + "."]
        if network.get("html"):
            out += [
                "",
                f"[Explore the network]({link(network['html'])}): search for an actor, and click a link "
                "for the sentences behind it (opens offline in any browser).",
            ]
        if network.get("png"):
            out += ["", f"![actor network]({link(network['png'])})"]
        out.append("")
    if curves is not None:
        out += ["## Training curves", "", f"![training curves]({link(curves)})", ""]
    return "\n".join(out)


def write_report(
    summary: Mapping[str, Any],
    entries: Mapping[str, List[LogEntry]],
    *,
    summary_path: Path,
    markdown_path: Optional[Path] = None,
    curves_path: Optional[Path] = None,
    title: str = "spacy-bilstm report",
) -> List[Path]:
    """Write the summary JSON, and the Markdown report and curves if asked.

    summary (Mapping[str, Any]): From `build_summary`.
    entries (Mapping[str, List[LogEntry]]): The parsed training logs.
    summary_path (Path): The JSON to write.
    markdown_path (Optional[Path]): The Markdown report.
    curves_path (Optional[Path]): The training curves PNG (needs logs).
    title (str): The report's heading.
    RETURNS (List[Path]): The files written.
    """
    written = []
    if curves_path is not None and entries:
        from .plots import plot_training_curves

        plot_training_curves(dict(entries), curves_path)
        written.append(curves_path)
    elif curves_path is not None:
        curves_path = None
    with atomic_open(summary_path, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write("\n")
    written.append(summary_path)
    if markdown_path is not None:
        with atomic_open(markdown_path, "w") as f:
            f.write(render_markdown(summary, curves_path, markdown_path, title))
        written.append(markdown_path)
    return written
