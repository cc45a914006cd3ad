"""`spacy-bilstm char-lm`: character language models pretrained on raw political text.

    python -m spacy_bilstm char-lm ../shared/data assets/char_lm_political.pt \
        --exclude-debates corpus/parliament/test.jsonl

Reads the same raw text as `spacy-bilstm vectors` (CoNLL-2003 train, the
HanDeSeT and ConVote speeches, whichever are present; lower-cased,
tokenised, labels never read), trains a forward and a backward byte-level
LSTM language model on it (`spacy_bilstm.char_lm_training`), and writes them
to one file for `spacy_bilstm.CharLMEmbed.v1` (its `path`), which reads
contextual token features from them.
"""
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from . import app
from .vectors import DATA_DIR_ARGUMENT, EXCLUDE_DEBATES_OPTION, echo_sources, excluded_debates, raw_lines


@app.command("char-lm")
def char_lm_command(
    data_dir: Path = DATA_DIR_ARGUMENT,
    output: Path = typer.Argument(..., help="File to write the two language models to (.pt)."),
    exclude_debates: Optional[Path] = EXCLUDE_DEBATES_OPTION,
    hidden_width: int = typer.Option(256, "--hidden", help="LSTM units per direction."),
    embed_width: int = typer.Option(48, "--embed", help="Byte embedding width."),
    epochs: float = typer.Option(4.0, "--epochs", help="Passes over the text, per direction."),
    batch_size: int = typer.Option(32, "--batch-size", help="Parallel rows of the text stream."),
    window: int = typer.Option(250, "--window", help="Bytes per step (truncated back-propagation length)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: torch's default)."),
) -> None:
    """Pretrain forward and backward character language models on the raw
    political and news text under DATA_DIR."""
    import torch

    from ..char_lm_training import CharLMSettings, train_char_lm
    from ..layers.char_lm_torch import save_char_lm

    if not data_dir.is_dir():
        raise InputError("not a directory", path=data_dir, reason="missing_file")
    if threads > 0:
        torch.set_num_threads(threads)
    counts: dict = {}
    lines = list(raw_lines(data_dir, excluded_debates(exclude_debates), counts))
    echo_sources(counts, len(lines), data_dir)
    settings = CharLMSettings(
        embed_width=embed_width, hidden_width=hidden_width, batch_size=batch_size, window=window,
        epochs=epochs, seed=seed,
    )
    typer.echo(
        f"training byte-level language models on {sum(len(line) for line in lines):,} characters "
        f"({len(lines):,} documents), {hidden_width} units per direction, {epochs:g} epochs each"
    )
    try:
        model, report = train_char_lm(lines, settings, progress=typer.echo)
    except ValueError as err:
        raise InputError(str(err), path=data_dir, reason="too_little_text") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "settings": vars(settings),
        "sources": counts,
        "excluded_debates_from": str(exclude_debates) if exclude_debates else "",
        "train_bytes": report.train_bytes,
        "valid_bytes": report.valid_bytes,
        "steps": report.steps,
        "valid_bits_per_byte": report.valid_bits_per_byte,
    }
    save_char_lm(model, output, meta)
    typer.echo(f"wrote the character language models ({2 * hidden_width} features per token) to {output}")
