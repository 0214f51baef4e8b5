"""Executors: where the runners' independent jobs run (docs/ray.md).

A runner (the benchmark, the dataset builder) hands an executor a function and a list of
jobs; the executor calls ``fn(root, *job)`` for each job somewhere, and yields the results
in the order they finish. ``root`` is the directory the job writes into: the driver's
output directory, or a scratch directory on another machine whose files the executor
brings back into the driver's directory before it yields the job's result. The runner
writes its own files (``results.jsonl``, the manifest) from the results, so it does not
know, and does not need to know, which executor runs its jobs.

* :class:`LocalExecutor` (``local``, the default): processes on this machine
  (:func:`spiral.core.workers.process_pool`; inline with one worker).
* :class:`spiral.exec.ray_executor.RayExecutor` (``ray``): tasks on a Ray cluster, with
  retries, bounded concurrency and optional generator actors (``import ray`` only there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

from spiral.errors import ConfigError

log = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")

Job = Callable[..., Any]  # fn(root: str, *args) -> a picklable result


@runtime_checkable
class Executor(Protocol):
    """Runs ``fn(root, *job)`` for every job; yields results as they finish (any order).

    Used as a context manager: resources (a pool, a cluster connection, actors) live
    between ``__enter__`` and ``__exit__``."""

    name: str

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def map_unordered(self, fn: Job, jobs: Sequence[tuple[Any, ...]], root: str | Path) -> Iterator[Any]: ...


class LocalExecutor:
    """Processes on this machine whose workers die with this process (inline when
    ``workers`` is 1)."""

    name = "local"

    def __init__(self, workers: int = 2):
        self.workers = max(1, int(workers))
        self._pool = None
        self._ctx = None
        self._depth = 0

    def __enter__(self) -> Self:
        self._depth += 1  # re-entrant: a caller may hold the pool open around several runs
        if self.workers > 1 and self._depth == 1:
            from spiral.core.workers import process_pool

            self._ctx = process_pool(self.workers)
            self._pool = self._ctx.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth = max(0, self._depth - 1)
        if self._ctx is not None and not self._depth:
            ctx, self._ctx, self._pool = self._ctx, None, None
            ctx.__exit__(*exc)

    def map_unordered(self, fn: Job, jobs: Sequence[tuple[Any, ...]], root: str | Path) -> Iterator[Any]:
        root_s = str(root)
        if self._pool is None:
            for job in jobs:
                yield fn(root_s, *job)
            return
        from concurrent.futures import as_completed

        futs = [self._pool.submit(fn, root_s, *job) for job in jobs]
        for f in as_completed(futs):
            yield f.result()


def make_executor(name: str = "local", workers: int = 2, address: str | None = None, **ray_options: Any) -> Executor:
    """The executor called ``name`` (``local`` or ``ray``). ``workers`` is the number of
    local processes, or the number of Ray tasks in flight at once; ``address`` and
    ``ray_options`` are the Ray executor's (see :class:`spiral.exec.ray_executor.RayExecutor`)."""
    if name == "local":
        if address is not None:
            raise ConfigError("--ray-address is an option of the ray executor", "add --executor ray, or drop it")
        return LocalExecutor(workers)
    if name == "ray":
        from spiral.exec.ray_executor import RayExecutor

        return RayExecutor(address=address, max_in_flight=workers, **ray_options)
    raise ConfigError(f"unknown executor {name!r}", f"choose one of {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "make_executor"]
