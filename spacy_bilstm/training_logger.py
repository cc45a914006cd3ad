"""The training logger the project workflow uses: spaCy's console logger
plus a JSONL log for the report, on a fixed number of torch threads.
It is an entry point of the package (`spacy_loggers`), so `spacy train`
finds it by name:

    python -m spacy train configs/bilstm_ner.cfg \\
        --training.logger.@loggers spacy_bilstm.TrainingLogger.v1 \\
        --training.logger.output_file training/ner/log.jsonl --training.logger.torch_threads 1

Why not ``spacy.ConsoleLogger.v3`` alone: it refuses to overwrite an existing
log file (it warns and logs nothing), so a second training run would leave
the first run's log behind for the report to plot; and the threads matter:
on a small CPU shared with other work, torch's default pool (one thread per
core) oversubscribes the cores and trains these small LSTMs many times
slower than one thread does (measured: 20x more CPU time on a loaded
2-core machine). ``[training.logger]`` is the one callback section every
training config has, so the setting lives here rather than in the configs.
"""
from pathlib import Path
from typing import Callable, Optional, Union

import spacy


@spacy.registry.loggers("spacy_bilstm.TrainingLogger.v1")
def training_logger(
    output_file: Union[str, Path],
    progress_bar: Optional[Union[bool, str]] = None,
    torch_threads: int = 1,
) -> Callable:
    """Create the logger: a fresh JSONL log and the console table.

    output_file (Union[str, Path]): The JSONL log (one line per evaluation,
        see `spacy_bilstm.workflow.logs`); an existing file is replaced.
    progress_bar (Optional[Union[bool, str]]): "train", "eval" or None, as for
        ConsoleLogger.v3; true/false as for ConsoleLogger.v1 (the configs'
        own logger), meaning "eval" and None.
    torch_threads (int): torch's intra-op threads; 0 leaves torch's default.
    RETURNS (Callable): The logger setup function spaCy's training loop calls.
    """
    from spacy.training.loggers import console_logger_v3

    if torch_threads > 0:
        import torch

        torch.set_num_threads(torch_threads)
    if isinstance(progress_bar, bool):
        progress_bar = "eval" if progress_bar else None
    path = Path(output_file)
    # ConsoleLogger.v3 decides when it is created whether the file exists.
    if path.exists():
        path.unlink()
    return console_logger_v3(progress_bar=progress_bar, console_output=True, output_file=path)
