"""``loop.speculate``: the next step's first attempt, generated ahead on a worker thread.

While the critic judges a clip, the loop may start generating the request it will make if
the clip passes (:meth:`spiral.core.loop.Loop._speculate` builds it, grounded and pre-checked
from the clip's last frame). :class:`Speculator` holds that work and what grounding and the
pre-check said, and hands each back only for exactly the request / plan / frame it was made
for, so a run is the same with or without speculation; a clip made ahead and not used is
waited for (one generator at a time) and counted as waste.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from spiral.core.types import Clip, Condition, GenerationRequest, Plan, SubAction

log = logging.getLogger(__name__)


@dataclass
class Ahead:
    """A generation started ahead: its request and the future of ``(clip, generator seconds)``."""

    req: GenerationRequest
    future: Any

    def matches(self, req: GenerationRequest) -> bool:
        a = self.req
        return (a.describe() == req.describe() and a.action == req.action and a.context == req.context
                and np.array_equal(a.cond_frame, req.cond_frame) and len(a.keyframes) == len(req.keyframes)
                and all(np.array_equal(x, y) for x, y in zip(a.keyframes, req.keyframes)))


@dataclass
class GroundedAhead:
    """What ``planner.ground`` said of step ``step`` of ``plan`` from ``frame``, made ahead."""

    plan: Plan
    step: int
    frame: np.ndarray
    new: Plan | None
    error: str | None
    seconds: float

    def matches(self, plan: Plan, step: int, frame: np.ndarray) -> bool:
        return self.plan is plan and self.step == step and np.array_equal(self.frame, frame)


@dataclass
class PrecheckedAhead:
    """What ``critic.precheck`` said of ``sub`` from ``frame``, made ahead."""

    sub: SubAction
    frame: np.ndarray
    unmet: list[Condition]
    seconds: float

    def matches(self, sub: SubAction, frame: np.ndarray) -> bool:
        return self.sub is sub and np.array_equal(self.frame, frame)


class Speculator:
    """The work made ahead for one episode (see the module doc)."""

    def __init__(self, generator: Any):
        self.generator = generator
        self.ahead: Ahead | None = None
        self.grounded: GroundedAhead | None = None
        self.prechecked: PrecheckedAhead | None = None
        self.wasted = 0  # generations made ahead and not used
        self.waste_s = 0.0
        self._pool: Any = None

    def submit(self, req: GenerationRequest) -> None:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spiral-speculate")

        def run() -> tuple[Clip, float]:
            t0 = time.perf_counter()
            out = self.generator.generate([req])[0]
            return out, time.perf_counter() - t0

        self.ahead = Ahead(req, self._pool.submit(run))

    def take(self, req: GenerationRequest) -> tuple[Clip, float, float] | None:
        """The clip made ahead for exactly ``req``: ``(clip, generator seconds, seconds the
        loop waited for it)``; ``None`` (and what was made ahead is discarded) otherwise."""
        ahead, self.ahead = self.ahead, None
        if ahead is None:
            return None
        if not ahead.matches(req):
            self._discard(ahead)
            return None
        t0 = time.perf_counter()
        clip, dt = ahead.future.result()  # the generator's own time; waiting for it is part of it
        return clip, dt, time.perf_counter() - t0

    def take_grounded(self, plan: Plan, step: int, frame: np.ndarray) -> GroundedAhead | None:
        got, self.grounded = self.grounded, None
        return got if got is not None and got.matches(plan, step, frame) else None

    def take_prechecked(self, sub: SubAction, frame: np.ndarray) -> PrecheckedAhead | None:
        got, self.prechecked = self.prechecked, None
        return got if got is not None and got.matches(sub, frame) else None

    def _discard(self, ahead: Ahead) -> None:
        """A clip made ahead that the loop does not use: wait for it (one generator at a time)."""
        t0 = time.perf_counter()
        try:
            _, dt = ahead.future.result()
        except Exception as exc:  # noqa: BLE001 - its request was never made: its error is moot
            log.debug("discarded speculative generation failed: %s", exc)
            dt = time.perf_counter() - t0
        self.waste_s += dt
        self.wasted += 1

    def close(self) -> None:
        if self.ahead is not None:
            ahead, self.ahead = self.ahead, None
            self._discard(ahead)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
