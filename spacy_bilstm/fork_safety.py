"""Keep torch usable in processes forked after it ran, as `nlp.pipe(...,
n_process=2)` forks them.

torch's CPU kernels run in an OpenMP thread pool that the parent starts the
first time it computes with more than one thread. A forked child inherits
the pool's state but not its threads, so its first parallel kernel (the
embedding lookup's `index_select`) waits forever for threads that do not
exist. In the child we therefore set torch to one intra-op thread before it
computes anything: `nlp.pipe` spreads the work over processes, so threads
inside each would only compete for the same cores anyway.

CUDA cannot be used in a forked child at all; with a GPU, give `nlp.pipe`
one process, or start workers with the "spawn" method.
"""
import os
import sys

_installed = False


def _one_thread_in_child() -> None:
    # Only if the parent imported torch: importing it here would cost a
    # second per child for nothing.
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def install_fork_guard() -> None:
    """Register, once per process, the at-fork handler that gives a forked
    child one torch thread. Cheap: it does not import torch."""
    global _installed
    if not _installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_one_thread_in_child)
        _installed = True
