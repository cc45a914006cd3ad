"""Graceful degradation when a GPU runs out of memory during prediction.

A batch that does not fit is split in half and retried, down to single
documents, with a warning; only a single document that does not fit raises.
Results are unchanged because every model in the package is batch-invariant.
"""
import warnings
from typing import Callable, List, Sequence, TypeVar

from spacy.tokens import Doc

T = TypeVar("T")


def is_out_of_memory(error: BaseException) -> bool:
    """Whether `error` is a CUDA (or other device) out-of-memory error."""
    try:
        import torch

        if isinstance(error, torch.cuda.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):
        pass
    name = type(error).__name__
    if name == "OutOfMemoryError":  # cupy.cuda.memory.OutOfMemoryError
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def _empty_device_cache() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def predict_splitting_on_oom(
    predict: Callable[[List[Doc]], List[T]], docs: Sequence[Doc], component: str
) -> List[T]:
    """Call `predict(docs)`, halving the batch on out-of-memory errors.

    predict (Callable[[List[Doc]], List[T]]): Returns one output per doc.
    docs (Sequence[Doc]): The batch.
    component (str): The component name, for the warning.
    RETURNS (List[T]): One output per doc, in order.
    RAISES: The out-of-memory error when a single document does not fit.
    """
    docs = list(docs)
    try:
        return predict(docs)
    except Exception as error:  # noqa: BLE001 - re-raised unless it is an OOM
        if not is_out_of_memory(error) or len(docs) <= 1:
            raise
    _empty_device_cache()
    half = len(docs) // 2
    warnings.warn(
        f"[{component}] out of memory on a batch of {len(docs)} docs "
        f"({sum(len(d) for d in docs)} tokens); retrying as {half} + {len(docs) - half}. "
        "A smaller nlp.pipe(batch_size=...) avoids the retries.",
        RuntimeWarning,
    )
    return predict_splitting_on_oom(predict, docs[:half], component) + predict_splitting_on_oom(
        predict, docs[half:], component
    )
