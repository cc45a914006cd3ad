"""Training the forward and backward character language models on raw text.

The text is one stream of bytes (lines separated by "\n"), cut into
`batch_size` contiguous rows that are read `window` bytes at a time, the
LSTM state carried from one window to the next (truncated back-propagation
through time, as in Merity et al. 2018 and Akbik et al. 2018). The last
`valid_fraction` of the stream is held out and its bits per byte reported.
The backward model reads the same stream reversed.
"""
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

from .layers.char_lm_torch import N_SYMBOLS, BiCharLanguageModel, CharLanguageModel, byte_ids


@dataclass
class CharLMSettings:
    """How to train: sizes, optimisation, and the budget.

    embed_width (int): Byte embedding width.
    hidden_width (int): LSTM units per direction (the token feature is twice this).
    batch_size (int): Parallel rows of the stream.
    window (int): Bytes per step (the truncated back-propagation length).
    epochs (float): Passes over the training stream, per direction.
    learn_rate (float): Adam's learning rate.
    dropout (float): Dropout on the LSTM output before the decoder.
    grad_clip (float): Gradient norm clipping.
    valid_fraction (float): Share of the stream held out for bits per byte.
    seed (int): Random seed.
    """

    embed_width: int = 48
    hidden_width: int = 256
    batch_size: int = 32
    window: int = 250
    epochs: float = 4.0
    learn_rate: float = 0.002
    dropout: float = 0.1
    grad_clip: float = 1.0
    valid_fraction: float = 0.01
    seed: int = 0


@dataclass
class CharLMReport:
    """What training measured, per direction ("forward", "backward")."""

    train_bytes: int = 0
    valid_bytes: int = 0
    steps: Dict[str, int] = field(default_factory=dict)
    valid_bits_per_byte: Dict[str, float] = field(default_factory=dict)
    seconds: Dict[str, float] = field(default_factory=dict)


def stream_ids(lines: List[str]) -> torch.Tensor:
    """The byte ids of the lines as one stream, each line after a "\n"."""
    return byte_ids(("\n" + "\n".join(lines) + "\n").encode("utf8"))


def train_char_lm(
    lines: List[str],
    settings: CharLMSettings,
    progress: Optional[Callable[[str], None]] = None,
) -> Tuple[BiCharLanguageModel, CharLMReport]:
    """Train both directions on `lines` (lower-cased, tokens joined by spaces).

    lines (List[str]): The raw text, one sentence or document per line.
    settings (CharLMSettings): Sizes, optimisation and budget.
    progress (Optional[Callable[[str], None]]): Receives one line now and then.
    RETURNS (Tuple[BiCharLanguageModel, CharLMReport]): The model (eval mode)
        and what was measured.
    RAISES (ValueError): Too little text for one step.
    """
    torch.manual_seed(settings.seed)
    ids = stream_ids(lines)
    n_valid = max(int(len(ids) * settings.valid_fraction), settings.window + 1)
    if len(ids) - n_valid < settings.batch_size * (settings.window + 1):
        raise ValueError(
            f"{len(ids):,} bytes of text are too few to train a character language model "
            f"with batch_size {settings.batch_size} and window {settings.window}"
        )
    model = BiCharLanguageModel(settings.embed_width, settings.hidden_width)
    report = CharLMReport(train_bytes=len(ids) - n_valid, valid_bytes=n_valid)
    # The same held-out text for both directions (the backward model reads it reversed).
    train_ids, valid_ids = ids[:-n_valid], ids[-n_valid:]
    for name, lm, train, valid in (
        ("forward", model.forward_lm, train_ids, valid_ids),
        ("backward", model.backward_lm, train_ids.flip(0), valid_ids.flip(0)),
    ):
        began = time.perf_counter()
        report.steps[name] = _train_direction(lm, train, settings, name, progress)
        report.valid_bits_per_byte[name] = _bits_per_byte(lm, valid, settings.window)
        report.seconds[name] = time.perf_counter() - began
        if progress is not None:
            progress(
                f"{name}: {report.steps[name]:,} steps, held-out "
                f"{report.valid_bits_per_byte[name]:.3f} bits per byte, {report.seconds[name]:.0f} s"
            )
    model.eval()
    return model, report


def _rows(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    # (batch_size, length): row r is the r-th contiguous slice of the stream.
    length = len(stream) // batch_size
    return stream[: length * batch_size].view(batch_size, length)


def _train_direction(
    lm: CharLanguageModel,
    stream: torch.Tensor,
    settings: CharLMSettings,
    name: str,
    progress: Optional[Callable[[str], None]],
) -> int:
    lm.train()
    rows = _rows(stream, settings.batch_size)
    optimizer = torch.optim.Adam(lm.parameters(), lr=settings.learn_rate)
    steps_per_epoch = (rows.shape[1] - 1) // settings.window
    total = max(1, int(round(settings.epochs * steps_per_epoch)))
    loss_sum, loss_n, step, state = 0.0, 0, 0, None
    began = time.perf_counter()
    while step < total:
        start = (step % steps_per_epoch) * settings.window
        if start == 0:
            state = None
        inputs = rows[:, start : start + settings.window]
        targets = rows[:, start + 1 : start + settings.window + 1]
        output, state = lm.states(inputs, state)
        # Carry the state forward, but not the gradient (truncated BPTT).
        state = tuple(s.detach() for s in state)
        output = nn.functional.dropout(output, settings.dropout, training=True)
        logits = lm.decoder(output)
        loss = nn.functional.cross_entropy(logits.reshape(-1, N_SYMBOLS), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(lm.parameters(), settings.grad_clip)
        optimizer.step()
        step += 1
        loss_sum += float(loss.detach())
        loss_n += 1
        if progress is not None and (step % 200 == 0 or step == total):
            elapsed = time.perf_counter() - began
            progress(
                f"{name} step {step:,}/{total:,}: {loss_sum / loss_n / math.log(2):.3f} bits per byte, "
                f"{elapsed:.0f} s, about {elapsed / step * (total - step):.0f} s left"
            )
            loss_sum, loss_n = 0.0, 0
    lm.eval()
    return step


@torch.no_grad()
def _bits_per_byte(lm: CharLanguageModel, stream: torch.Tensor, window: int) -> float:
    lm.eval()
    inputs, targets = stream[:-1].unsqueeze(0), stream[1:].unsqueeze(0)
    total, state = 0.0, None
    for start in range(0, inputs.shape[1], window):
        output, state = lm.states(inputs[:, start : start + window], state)
        logits = lm.decoder(output)
        total += float(
            nn.functional.cross_entropy(
                logits.reshape(-1, N_SYMBOLS), targets[:, start : start + window].reshape(-1), reduction="sum"
            )
        )
    return total / targets.shape[1] / math.log(2)

