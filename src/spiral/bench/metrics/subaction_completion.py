"""Sub-action completion and the step at first failure.

For each expected step ``k`` of the task (its post-conditions), the step counts as
completed if segment ``k`` exists and its last frame satisfies them (perception).
``subaction_completion`` = completed / expected (higher is better);
``first_failure_step`` = index of the first incomplete step, or the horizon if none failed
(higher is better; normalised by the horizon in ``first_failure_frac``).
"""

from __future__ import annotations

from spiral.bench.metrics._episode import Episode, perceive


def compute(ep: Episode, expectations: list) -> dict[str, float]:
    from spiral.worlds.tabletop.predicates import holds

    n = len(expectations)
    if n == 0:
        return {"subaction_completion": 1.0, "first_failure_step": 0.0, "first_failure_frac": 1.0}
    done, first_fail = 0, None
    for k, exp in enumerate(expectations):
        ok = False
        if k < len(ep.segments):
            scene = perceive(ep.segments[k][-1], ep.known())
            ok = scene is not None and all(holds(c, scene) for c in exp.postconditions)
        done += ok
        if not ok and first_fail is None:
            first_fail = k
    ff = n if first_fail is None else first_fail
    return {"subaction_completion": done / n, "first_failure_step": float(ff), "first_failure_frac": ff / n}
