"""The commands that get the real corpora ready for the workflow:

    python -m spacy_bilstm check-data --data-dir data --project project.yml \\
        conll2003/eng.train "convote/convote_stage3.tsv|convote/convote_v1.1.tar.gz"
    python -m spacy_bilstm convote-tsv convote_v1.1.tar.gz convote_stage3.tsv
"""
import sys
from pathlib import Path
from typing import List

import typer

from . import app


@app.command("check-data")
def check_data_command(
    required: List[str] = typer.Argument(..., help="Paths relative to --data-dir; 'a|b': either will do."),
    data_dir: Path = typer.Option(..., "--data-dir", help="The data directory (project var data_dir)."),
    project: Path = typer.Option(Path("project.yml"), "--project", help="project.yml, for the assets' URLs."),
) -> None:
    """Check that the corpora a workflow needs are under the data directory;
    for each one missing, name the path and the asset URL to get it from."""
    from ..workflow.data import data_assets, missing_data

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
    from ..workflow.convote import write_convote_tsv

    if keep_existing and output.is_file():
        typer.echo(f"{output} exists: kept")
        return
    counts = write_convote_tsv(archive, output)
    typer.echo(
        f"rows written: {sum(counts.values())} ("
        + ", ".join(f"{split} {n}" for split, n in counts.items())
        + f") -> {output}"
    )
