"""`python -m spacy_bilstm crossval`: k-fold cross-validation of a text
classifier config against the majority and party-only baselines.

    python -m spacy_bilstm crossval configs/lstm_textcat.cfg corpus/speeches.spacy \\
        --folds 5 --output metrics/stance_cv.json --work training/stance_cv \\
        --training.max_epochs 15

Extra `--section.key value` options override the config, as in `spacy train`.
"""
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from . import app


@app.command(
    "crossval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def crossval_command(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="Training config (its paths.train/paths.dev are set per fold)."),
    data_path: Path = typer.Argument(..., help="All labelled Docs, one .spacy DocBin."),
    output: Path = typer.Option(..., "--output", "-o", help="Write the pooled scores and predictions here (JSON)."),
    work: Path = typer.Option(Path("training/crossval"), "--work", help="Per-fold data and model-best go here."),
    folds: int = typer.Option(5, "--folds", help="Number of folds (whole debates stay in one)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds and of the early-stopping splits."),
    dev_fraction: float = typer.Option(0.15, "--dev-fraction", help="Share of each training part held out to pick model-best."),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU to train on (-1: CPU)."),
    group_by: Optional[str] = typer.Option(
        None, "--group-by",
        help="Meta key naming each document's group (e.g. debate_id), kept whole in one fold; default: meta 'group' "
        "where every document has it, else folds stratified by label.",
    ),
) -> None:
    """Train CONFIG on k-1 folds of DATA and score the held-out fold, k
    times; report the pooled scores of the model, party only and majority."""
    from spacy.cli._util import parse_config_overrides

    from ..workflow.crossval import cross_validate, crossval_lines, write_crossval

    if not config_path.is_file():
        raise InputError("config not found", path=config_path, reason="missing_file")
    try:
        overrides = parse_config_overrides(ctx.args)
    except SystemExit:
        raise InputError(f"cannot read the config overrides {ctx.args}", reason="bad_argument") from None
    result = cross_validate(config_path, data_path, work, n_folds=folds, seed=seed, dev_fraction=dev_fraction,
                            overrides=overrides, use_gpu=gpu_id, group_by=group_by)
    write_crossval(result, output)
    for line in crossval_lines(result):
        typer.echo(line)
    typer.echo(f"cross-validation -> {output} ({result['seconds']:.0f} s)")
