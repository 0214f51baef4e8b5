"""Sub-action completion and the step at first failure.

Each expectation names a step ``k`` of the plan and its post-conditions; the step counts
as completed if the episode has an accepted segment ``k`` and that segment's last frame
satisfies them (perception). ``subaction_completion`` = completed / expected (higher is
better); ``first_failure_step`` = the first expected step that is incomplete, or one past
the last expected step if none is (the horizon, when every step is expected; higher is
better); ``first_failure_frac`` = the share of the expected steps that come before the
first incomplete one (1 if none is).
"""

from __future__ import annotations

from spiral.bench.metrics._episode import Episode, perceive


def compute(ep: Episode, expectations: list) -> dict[str, float]:
    from spiral.worlds.tabletop.predicates import holds

    n = len(expectations)
    if n == 0:
        return {"subaction_completion": 1.0, "first_failure_step": 0.0, "first_failure_frac": 1.0}
    done, first_fail, before = 0, None, 0
    ordered = sorted(expectations, key=lambda e: e.step)
    for exp in ordered:
        k, ok = exp.step, False
        if k < len(ep.segments):
            scene = perceive(ep.segments[k][-1], ep.known())
            ok = scene is not None and all(holds(c, scene) for c in exp.postconditions)
        done += ok
        if not ok and first_fail is None:
            first_fail = k
        before += first_fail is None
    ff = ordered[-1].step + 1 if first_fail is None else first_fail
    return {"subaction_completion": done / n, "first_failure_step": float(ff), "first_failure_frac": before / n}
