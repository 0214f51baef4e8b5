"""Task success: every goal condition of the task holds in the final frame, judged by
perception from pixels, and no registered object is missing.

``task_success`` ∈ {0, 1} (higher is better); ``goal_conditions_met`` is the fraction of
the task's conditions that hold (partial credit).
"""

from __future__ import annotations

from spiral.bench.metrics._episode import Episode, perceive
from spiral.core.types import Condition


def compute(ep: Episode, success: list[Condition]) -> dict[str, float]:
    from spiral.worlds.tabletop.predicates import holds

    scene = perceive(ep.final, ep.known())
    present = {o.color for o in scene.objects} if scene else set()
    missing = [o for o in ep.registry if o.get("color") and o["color"] not in present]  # seen by colour only
    met = [bool(scene is not None and holds(c, scene)) for c in success]
    frac = sum(met) / len(met) if met else 1.0
    return {"task_success": float(all(met) and not missing), "goal_conditions_met": frac}
