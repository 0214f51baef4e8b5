"""GRPO rollouts on an executor: the trainer's policy, sampling on other processes or machines.

:class:`ExecutorSampler` is a :class:`~spiral.rl.grpo.Policy` that wraps the trained one and
changes one thing, where :meth:`~ExecutorSampler.sample` runs: the requests are split into
chunks and sent, as jobs of an executor (:mod:`spiral.exec`: local processes or Ray tasks),
to workers that each hold a copy of the policy (built once per worker by ``factory``).
The current trainable weights go along when they changed since the last batch (Ray: one
``ray.put`` per update, read by every task; a worker loads them once per update). Clips and
records come back in the order of the requests; everything else (scoring, the reference,
parameters, checkpoints) is the wrapped policy's, on the driver, so the trainer does not
know where its rollouts ran.

The log-probabilities recorded while sampling are computed again on the driver, under the
current weights and by the same call the update uses (:meth:`Policy.logprob` over the whole
batch), so the ratio stays exactly 1 before the first update whatever the workers' threads
or kernels; ``rescore=False`` keeps the workers' values instead (a large diffusion policy,
where scoring every step again costs as much as a backward pass).

A policy's sample must depend only on each request and its seed (the built-in ones do), so
rollouts through any executor equal the policy's own for the same seeds.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from spiral.core.types import Clip, GenerationRequest

log = logging.getLogger(__name__)


class ExecutorSampler:
    """``policy`` with :meth:`sample` on ``executor`` (see the module). ``factory()`` builds a
    copy of the policy in a worker (picklable: a class, a ``functools.partial``); ``chunks``
    is how many jobs a batch is split into (default: the executor's parallelism)."""

    def __init__(self, policy: Any, executor: Any, factory: Callable[[], Any], chunks: int | None = None,
                 rescore: bool = True):
        self.policy = policy
        self.executor = executor
        self.factory = factory
        self.chunks = chunks
        self.rescore = rescore
        self._id = uuid.uuid4().hex  # which policy a worker's copy belongs to
        self._version = 0
        self._shipped: tuple[dict[str, Any], Any, Any] | None = None  # the last weights sent, as sent, where
        self._scored: dict[int, Any] = {}  # id(record) -> its log-probs [S], for the records of the last batch
        self._records: list[Any] = []  # keeps those ids valid

    # -- sampling -----------------------------------------------------------------------------
    def _parallelism(self) -> int:
        return int(getattr(self.executor, "max_in_flight", 0) or getattr(self.executor, "workers", 1) or 1)

    def _inline(self) -> bool:
        return getattr(self.executor, "name", "") == "local" and self._parallelism() == 1

    def sample(self, requests: Sequence[GenerationRequest], seeds: Sequence[int]) -> tuple[list[Clip], list[Any]]:
        if len(requests) != len(seeds):
            raise ValueError(f"{len(requests)} requests but {len(seeds)} seeds")
        if not requests:
            return [], []
        self._scored, self._records = {}, []
        if self._inline():  # one local worker: this process, the policy itself (it scores its own)
            return self.policy.sample(requests, seeds)
        clips, records = self._remote_sample(list(requests), list(seeds))
        if self.rescore:
            old = self.policy.logprob(records).detach()  # as the policy's own sample scores it
            self._scored = {id(r): old[i] for i, r in enumerate(records)}
            self._records = list(records)
        return clips, records

    def _weights(self, ex: Any) -> Any:
        """The current trainable weights as the jobs get them: a new version only when they
        changed since the last batch (mining samples many batches between two updates);
        on Ray one object reference per version."""
        import torch

        cur = self.policy.trainable_state()
        session = None
        if getattr(ex, "name", "") == "ray":
            import ray

            session = ray.get_runtime_context().get_job_id()  # a reference lives as long as its driver's job
        last = self._shipped
        if last is not None and last[2] == session and last[0].keys() == cur.keys() and all(
                torch.equal(last[0][k], cur[k].detach().to("cpu")) for k in cur):
            return last[1]
        state = {k: v.detach().to("cpu").clone() for k, v in cur.items()}
        self._version += 1
        payload: Any = state
        if session is not None:
            payload = ray.put(state)  # once per version; the tasks get a reference
        self._shipped = (state, payload, session)
        return payload

    def _remote_sample(self, requests: list[GenerationRequest], seeds: list[int]) -> tuple[list[Clip], list[Any]]:
        n = max(1, min(len(requests), self.chunks or self._parallelism()))
        bounds = [(i * len(requests) // n, (i + 1) * len(requests) // n) for i in range(n)]
        with self.executor as ex:
            state = self._weights(ex)
            jobs = [(self.factory, self._id, self._version, state, k, requests[a:b], seeds[a:b])
                    for k, (a, b) in enumerate(bounds)]
            parts: list[tuple[list[Clip], list[Any]] | None] = [None] * n
            root = tempfile.mkdtemp(prefix="spiral-rollouts-")  # the jobs write no files
            try:
                for k, clips, records in ex.map_unordered(rollout_job, jobs, root):
                    parts[k] = (clips, records)
            finally:
                shutil.rmtree(root, ignore_errors=True)
        clips_all = [c for part in parts for c in part[0]]  # type: ignore[union-attr]
        records_all = [r for part in parts for r in part[1]]  # type: ignore[union-attr]
        return clips_all, records_all

    # -- the rest is the policy's, on the driver -------------------------------------------------
    def sampled_logprob(self, records: Sequence[Any], steps: Sequence[int] | None = None) -> Any:
        if self.rescore and records and all(id(r) in self._scored for r in records):
            import torch

            rows = torch.stack([self._scored[id(r)] for r in records])
            return rows if steps is None else rows[:, list(steps)]
        return self.policy.sampled_logprob(records, steps)

    def logprob(self, records: Sequence[Any], steps: Sequence[int] | None = None) -> Any:
        return self.policy.logprob(records, steps)

    def reference_logprob(self, records: Sequence[Any], steps: Sequence[int] | None = None) -> Any:
        return self.policy.reference_logprob(records, steps)

    def parameters(self) -> Iterable[Any]:
        return self.policy.parameters()

    def trainable_state(self) -> dict[str, Any]:
        return self.policy.trainable_state()

    def load_trainable_state(self, state: dict[str, Any]) -> None:
        self.policy.load_trainable_state(state)

    def __getattr__(self, name: str) -> Any:  # the policy's other attributes (model, generator(), …)
        if name == "policy":
            raise AttributeError(name)
        return getattr(self.policy, name)


# -- in the worker ------------------------------------------------------------------------------
_copy: dict[str, Any] = {}  # this worker's copy of the policy: {"id", "policy", "version"}


def rollout_job(root: str, factory: Callable[[], Any], sampler_id: str, version: int, state: Any, index: int,
                requests: list[GenerationRequest], seeds: list[int]) -> tuple[int, list[Clip], list[Any]]:
    """One chunk of a batch, sampled by this worker's copy of the policy under ``state``."""
    if _copy.get("id") != sampler_id:
        _copy.clear()
        _copy.update(id=sampler_id, policy=factory(), version=None)
    policy = _copy["policy"]
    if _copy["version"] != version:
        if not isinstance(state, dict):  # a Ray object reference
            import ray

            state = ray.get(state)
        policy.load_trainable_state(state)
        _copy["version"] = version
    clips, records = policy.sample(requests, seeds)
    return index, list(clips), list(records)
