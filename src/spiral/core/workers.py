"""Worker processes that die with their parent.

:func:`process_pool` is the one way SPIRAL starts a pool of worker processes (the
benchmark's tasks, the dataset's shards). Each worker asks the kernel for SIGKILL when its
parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``), then checks that its parent is still the
process that started it (the parent may have died before the request was made). So a
``kill -9`` of ``spiral bench run`` leaves no worker writing into its directories. On
leaving the ``with`` block, however it is left, pending work is cancelled and the pool is
shut down. Where ``prctl`` does not exist the request is a no-op (the pool shutdown
still happens).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: SIGKILL this process when its parent dies; exit at once if the
    parent ``parent_pid`` is already gone."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:  # pragma: no cover
                log.debug("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError):  # pragma: no cover - no libc symbol
            pass
    if os.getppid() != parent_pid:  # the parent died before the request: nobody waits for us
        os._exit(1)


def _context() -> multiprocessing.context.BaseContext:
    # the parent check needs the worker's parent to be this process: fork or spawn, not a
    # fork server (whose workers are its children)
    method = multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_context().get_start_method()
    return multiprocessing.get_context("spawn" if method == "forkserver" else method)


@contextlib.contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose workers die with this process; shut down (pending work
    cancelled) when the block is left."""
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=die_with_parent,
                             initargs=(os.getpid(),))
    try:
        yield ex
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
