"""The `report` command: the workflow's last step (`project.yml`), after
`evaluate`, `crossval` and `network`:

    python -m spacy_bilstm report --metrics ner=metrics/ner.json \\
        --log ner=training/ner/log.jsonl --summary metrics/summary.json \\
        --markdown reports/report.md --curves reports/training_curves.png

Every input problem is one line, ``error: FILE:LINE: problem``, exit code 2.
"""
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
    from ..workflow.report import build_summary, write_report

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
