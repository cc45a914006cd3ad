"""Give freed heap memory back to the operating system while training.

Training steps allocate and free tensors of a different shape at every
batch. glibc's malloc keeps much of that freed memory in the process heap
instead of returning it, and the heap fragments: resident memory climbs
step after step although the live data stays the same size (measured on
CoNLL-2003: 907 MB after 250 steps, 1,151 MB after 750, for both our
tagger and spaCy's `TorchBiLSTMEncoder`). `malloc_trim(0)` returns the free
pages; with it, resident memory stayed near 650 MB. See the `resources`
section of benchmarks/RESULTS.md.
"""
import ctypes
import ctypes.util
import functools
import sys
from typing import Callable, Optional


@functools.lru_cache(maxsize=None)
def _malloc_trim() -> Optional[Callable[[int], int]]:
    # Looked up once; None where the C library has no malloc_trim (not
    # Linux, or musl).
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def trim_heap() -> bool:
    """Return the heap's free memory to the operating system, where the C
    library can (glibc on Linux).

    RETURNS (bool): Whether a trim was possible.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class HeapTrimmer:
    """Calls `trim_heap` every `every` training updates.

    The default trims after every update. Measured on CoNLL-2003 (1000-word
    batches, one CPU thread, ~210 ms per update), the highest RSS over
    100-update windows grew from update 300 to 600 by 1.5% when trimming
    every update (9 ms per trim) and by 8.5% every 10 updates (28 ms per
    trim: the heap had grown); trimming every 100 updates, it grew by 12%
    from update 1000 to 2000. The price is training time:
    about 4% on those updates, 8% on `lstm_textcat`'s 500-word SemEval
    updates (55.8 against 51.5 ms).

    every (int): Updates between trims.
    """

    def __init__(self, every: int = 1) -> None:
        self.every = every
        self.updates = 0

    def step(self) -> None:
        """Count one update; trim the heap every `every` updates."""
        self.updates += 1
        if self.updates % self.every == 0:
            trim_heap()
