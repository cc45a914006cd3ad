"""Training logs written by ``spacy.ConsoleLogger.v3`` (``output_file``).

One JSON object per evaluation::

    {"epoch": 6, "step": 50, "losses": {"bilstm_ner": 5354.9},
     "scores": {"ents_f": 81.7, "ents_p": 80.3, "ents_r": 83.1}, "score": 0.817}

spaCy sums each pipe's loss over the steps since the previous evaluation and
logs the scores (except "speed") in percent; "score" is the weighted score
(0-1) that picks the best model.
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Union

from ..errors import InputError


@dataclass(frozen=True)
class LogEntry:
    """One evaluation during training.

    epoch (int): The epoch.
    step (int): The optimizer step.
    loss (float): The loss summed over pipes and over the steps since the
        previous evaluation.
    loss_per_step (float): `loss` divided by those steps.
    score (float): The weighted dev score, 0-1.
    scores (Dict[str, float]): The dev scores as logged (percent).
    """

    epoch: int
    step: int
    loss: float
    loss_per_step: float
    score: float
    scores: Dict[str, float]


def _number(record: Dict, key: str, path: Path, line: int) -> float:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"'{key}' must be a number, got {value!r}", path=path, line=line, reason="bad_log")
    return float(value)


def read_training_log(path: Union[str, Path]) -> Iterator[LogEntry]:
    """Read a ConsoleLogger.v3 JSONL log, one entry per evaluation.

    path (Union[str, Path]): The log file.
    YIELDS (LogEntry): The evaluations, in file order.
    RAISES (InputError): If the file is missing or a line is malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("training log not found (did training run?)", path=path, reason="missing_file")
    previous_step: Optional[int] = None
    with path.open(encoding="utf8") as lines:
        for line, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as err:
                raise InputError(f"invalid JSON: {err.msg}", path=path, line=line, reason="bad_log") from None
            if not isinstance(record, dict):
                raise InputError("expected a JSON object", path=path, line=line, reason="bad_log")
            step = int(_number(record, "step", path, line))
            losses = record.get("losses")
            scores = record.get("scores")
            if not isinstance(losses, dict) or not isinstance(scores, dict):
                raise InputError(
                    "'losses' and 'scores' must be objects", path=path, line=line, reason="bad_log"
                )
            loss = sum(_number(losses, name, path, line) for name in losses)
            # Losses are summed since the last evaluation: divide by those
            # steps so that curves with different eval frequencies compare.
            n_steps = max(step - previous_step, 1) if previous_step is not None else 1
            previous_step = step
            yield LogEntry(
                epoch=int(_number(record, "epoch", path, line)),
                step=step,
                loss=loss,
                loss_per_step=loss / n_steps,
                score=_number(record, "score", path, line),
                scores={key: _number(scores, key, path, line) for key in sorted(scores)},
            )


def summarize_log(entries: List[LogEntry]) -> Dict[str, object]:
    """The facts of a training run that a report needs.

    entries (List[LogEntry]): The evaluations, in order.
    RETURNS (Dict[str, object]): Number of evaluations, last step and epoch,
        best score with its step, and the curve (step, epoch, loss per step,
        score) as lists.
    """
    if not entries:
        return {"evaluations": 0}
    best = max(entries, key=lambda entry: (entry.score, -entry.step))
    return {
        "evaluations": len(entries),
        "last_step": entries[-1].step,
        "last_epoch": entries[-1].epoch,
        "best_step": best.step,
        "best_epoch": best.epoch,
        "best_score": best.score,
        "best_scores": best.scores,
        "curve": {
            "step": [entry.step for entry in entries],
            "epoch": [entry.epoch for entry in entries],
            "loss_per_step": [entry.loss_per_step for entry in entries],
            "score": [entry.score for entry in entries],
        },
        "finite": all(math.isfinite(entry.loss) and math.isfinite(entry.score) for entry in entries),
    }
