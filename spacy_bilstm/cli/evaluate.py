"""The `evaluate` command: `spacy evaluate` for pipelines whose Docs carry
stance targets and metadata (the workflow's evaluation steps):

    python -m spacy_bilstm evaluate training/ner/model-best corpus/ner_dev.spacy \\
        --output metrics/ner.json
"""
import json
from pathlib import Path
from typing import Optional

import typer

from . import app


@app.command("evaluate")
def evaluate_command(
    model: str = typer.Argument(..., help="Pipeline: a directory or an installed package."),
    data_path: Path = typer.Argument(..., help="Gold .spacy DocBin (with stance targets, if any)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the scores here (JSON)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU to run on (-1: CPU)."),
    batch_size: int = typer.Option(256, "--batch-size", help="Batch size."),
    threads: int = typer.Option(0, "--threads", help="torch threads on the CPU (0: torch's default)."),
    pool_by_debate: Optional[float] = typer.Option(
        None, "--pool-by-debate", min=0.0, max=1.0,
        help="Stance: pool each speech's prediction with its party's in the same debate (meta 'group' and "
        "'party') with this weight, 0-1, before scoring.",
    ),
) -> None:
    """Evaluate a pipeline like `spacy evaluate`, keeping `doc._.stance_target`.

    `spacy evaluate` rebuilds the Docs from their text, which drops the stance
    targets that `lstm_textcat` reads; this command scores with the same
    reader as training (`spacy_bilstm.StanceCorpus.v1`).
    """
    from ..io import atomic_open
    from ..workflow.evaluate import evaluate_pipeline

    scores = evaluate_pipeline(model, data_path, gpu_id=gpu_id, batch_size=batch_size, threads=threads,
                               pool_weight=pool_by_debate)
    if "pooling" in scores:
        pooling = scores["pooling"]
        typer.echo(f"pooled {pooling['n_pooled']} of {pooling['n_docs']} docs in {pooling['n_groups']} "
                   f"(debate, party) groups; {pooling['n_alone']} alone in theirs "
                   f"({pooling['n_missing']} without meta 'group' or 'party')")
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
