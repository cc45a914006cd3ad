"""Training curves as a PNG: per run, the training loss per step and the
dev score at each evaluation, against the optimizer step."""
from pathlib import Path
from typing import Dict, List, Union

from ..io import atomic_path
from .logs import LogEntry


def plot_training_curves(runs: Dict[str, List[LogEntry]], path: Union[str, Path]) -> None:
    """Draw one panel per training run and save it (atomically) as a PNG.

    runs (Dict[str, List[LogEntry]]): Run name (e.g. "ner") -> its evaluations.
    path (Union[str, Path]): The PNG to write.
    """
    import matplotlib

    # No display on servers and CI: render off-screen.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(runs)
    fig, axes = plt.subplots(len(names) or 1, 1, figsize=(7, 3 * max(len(names), 1)), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        entries = runs[name]
        steps = [entry.step for entry in entries]
        ax.plot(steps, [entry.loss_per_step for entry in entries], color="tab:red", marker=".")
        ax.set_ylabel("training loss / step", color="tab:red")
        # Losses fall over orders of magnitude; a log axis keeps the late
        # steps readable. Zero losses (possible at step 0) cannot be shown on it.
        if all(entry.loss_per_step > 0 for entry in entries):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(name)
        score_ax = ax.twinx()
        score_ax.plot(steps, [entry.score for entry in entries], color="tab:blue", marker="o")
        score_ax.set_ylabel("dev score", color="tab:blue")
        score_ax.set_ylim(0.0, 1.0)
        if entries:
            best = max(entries, key=lambda entry: (entry.score, -entry.step))
            score_ax.annotate(
                f"best {best.score:.3f} (step {best.step})",
                (best.step, best.score),
                textcoords="offset points",
                xytext=(0, -14),
                ha="center",
                fontsize=8,
            )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
