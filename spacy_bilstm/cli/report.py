"""The commands the project workflow (`project.yml`) runs between spaCy's own:

    python -m spacy_bilstm evaluate training/ner/model-best corpus/ner_dev.spacy \\
        --output metrics/ner.json
    python -m spacy_bilstm report --metrics ner=metrics/ner.json \\
        --log ner=training/ner/log.jsonl --summary metrics/summary.json \\
        --markdown reports/report.md --curves reports/training_curves.png
    python -m spacy_bilstm check-data --data-dir data --project project.yml \\
        conll2003/eng.train "convote/convote_stage3.tsv|convote/convote_v1.1.tar.gz"
    python -m spacy_bilstm convote-tsv convote_v1.1.tar.gz convote_stage3.tsv

Every input problem is one line, ``error: FILE:LINE: problem``, exit code 2.
"""
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer

from ..errors import InputError
from . import app


def _pairs(option: str, values: List[str]) -> Dict[str, str]:
    pairs: Dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise InputError(f"{option} takes NAME=VALUE, not {value!r}", reason="bad_argument")
        if name.strip() in pairs:
            raise InputError(f"{option}: {name.strip()!r} given twice", reason="bad_argument")
        pairs[name.strip()] = rest.strip()
    return pairs


@app.command("evaluate")
def evaluate_command(
    model: str = typer.Argument(..., help="Pipeline: a directory or an installed package."),
    data_path: Path = typer.Argument(..., help="Gold .spacy DocBin (with stance targets, if any)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the scores here (JSON)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU to run on (-1: CPU)."),
    batch_size: int = typer.Option(256, "--batch-size", help="Batch size."),
    threads: int = typer.Option(0, "--threads", help="torch threads on the CPU (0: torch's default)."),
) -> None:
    """Evaluate a pipeline like `spacy evaluate`, keeping `doc._.stance_target`.

    `spacy evaluate` rebuilds the Docs from their text, which drops the stance
    targets that `lstm_textcat` reads; this command scores with the same
    reader as training (`spacy_bilstm.StanceCorpus.v1`).
    """
    from ..io import atomic_open
    from ..project.evaluate import evaluate_pipeline

    scores = evaluate_pipeline(model, data_path, gpu_id=gpu_id, batch_size=batch_size, threads=threads)
    shown = {
        key: value
        for key, value in scores.items()
        if isinstance(value, float) and key.endswith(("_p", "_r", "_f", "_score", "_auc", "_acc"))
    }
    typer.echo(f"evaluated {scores['n_docs']} docs from {data_path} in {scores['seconds']:.1f} s")
    for key, value in sorted(shown.items()):
        typer.echo(f"{key:<16} {value:.4f}")
    if output is not None:
        with atomic_open(output, "w") as f:
            json.dump(scores, f, indent=2, sort_keys=True)
            f.write("\n")
        typer.echo(f"scores -> {output}")


@app.command("report")
def report_command(
    metrics: List[str] = typer.Option([], "--metrics", help="NAME=metrics.json (from `evaluate`); repeatable."),
    logs: List[str] = typer.Option([], "--log", help="NAME=training log (ConsoleLogger.v3 JSONL); repeatable."),
    baselines: List[str] = typer.Option(
        [], "--baseline", help="NAME=TRAIN.spacy,DEV.spacy: stance baselines to compare; repeatable."
    ),
    crossval: List[str] = typer.Option(
        [], "--crossval", help="NAME=cv.json (from `crossval`): cross-validated scores; repeatable."
    ),
    network: Optional[Path] = typer.Option(None, "--network", help="The `network` command's report JSON."),
    network_png: Optional[Path] = typer.Option(None, "--network-png", help="The network drawing, to link to."),
    network_html: Optional[Path] = typer.Option(
        None, "--network-html", help="The interactive network page, to link to."
    ),
    summary: Path = typer.Option(..., "--summary", help="Write the summary JSON here."),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Write the Markdown report here."),
    curves: Optional[Path] = typer.Option(None, "--curves", help="Write the training curves PNG here."),
    title: str = typer.Option("spacy-bilstm report", "--title", help="Heading of the report."),
) -> None:
    """Collect metrics, training logs, baselines and the network into a
    summary JSON, a short Markdown report and a training-curves PNG."""
    from ..project.report import build_summary, write_report

    pairs: Dict[str, Tuple[Path, Path]] = {}
    for name, value in _pairs("--baseline", baselines).items():
        parts = [part.strip() for part in value.split(",")]
        if len(parts) != 2 or not all(parts):
            raise InputError(f"--baseline takes NAME=TRAIN.spacy,DEV.spacy, not {value!r}", reason="bad_argument")
        pairs[name] = (Path(parts[0]), Path(parts[1]))
    if network_png is not None and not network_png.is_file():
        raise InputError("network drawing not found", path=network_png, reason="missing_file")
    if network_html is not None and not network_html.is_file():
        raise InputError("network page not found", path=network_html, reason="missing_file")
    result, entries = build_summary(
        {name: Path(path) for name, path in _pairs("--metrics", metrics).items()},
        {name: Path(path) for name, path in _pairs("--log", logs).items()},
        pairs,
        network=network,
        network_png=network_png,
        network_html=network_html,
        crossval={name: Path(path) for name, path in _pairs("--crossval", crossval).items()},
    )
    written = write_report(
        result, entries, summary_path=summary, markdown_path=markdown, curves_path=curves, title=title
    )
    for note in result["notes"]:
        typer.echo(f"note: {note}", err=True)
    typer.echo("wrote " + ", ".join(str(path) for path in written))


@app.command("check-data")
def check_data_command(
    required: List[str] = typer.Argument(..., help="Paths relative to --data-dir; 'a|b': either will do."),
    data_dir: Path = typer.Option(..., "--data-dir", help="The data directory (project var data_dir)."),
    project: Path = typer.Option(Path("project.yml"), "--project", help="project.yml, for the assets' URLs."),
) -> None:
    """Check that the corpora a workflow needs are under the data directory;
    for each one missing, name the path and the asset URL to get it from."""
    from ..project.data import data_assets, missing_data

    missing = missing_data(data_dir, required, data_assets(project))
    if not missing:
        typer.echo(f"data: all {len(required)} corpora found under {data_dir}")
        return
    for item in missing:
        typer.echo(f"error: {item.message()}", err=True)
    typer.echo(
        f"{len(missing)} of {len(required)} corpora missing under {data_dir}. With internet: "
        "`python -m spacy project assets` downloads them there; or copy your own copies to those "
        "paths, or point the workflow at them with `--vars.data_dir DIR`.",
        err=True,
    )
    sys.exit(2)


@app.command("convote-tsv")
def convote_tsv_command(
    archive: Path = typer.Argument(..., help="convote_v1.1.tar.gz."),
    output: Path = typer.Argument(..., help="The TSV to write (convote_stage3.tsv)."),
    keep_existing: bool = typer.Option(
        False, "--keep-existing", help="Do nothing if OUTPUT exists (a copy you already have)."
    ),
) -> None:
    """Build the ConVote stage-three TSV (`convert textcat --format convote`)
    from the original archive."""
    from ..project.convote import write_convote_tsv

    if keep_existing and output.is_file():
        typer.echo(f"{output} exists: kept")
        return
    counts = write_convote_tsv(archive, output)
    typer.echo(
        f"rows written: {sum(counts.values())} ("
        + ", ".join(f"{split} {n}" for split, n in counts.items())
        + f") -> {output}"
    )
