"""Regenerate ActWM-Bench-Lite (``actwm-bench-lite.jsonl``) deterministically.

    python -m spiral.bench.suites.make_lite

170 tabletop tasks in seven categories (single sub-action, 2–3 steps, long horizon 5–8
steps, relational, set goals, distractor-heavy scenes, paraphrased goals), each with its
scene inline, a fixed seed, the goal's success conditions, per-step expectations and the
objects its reference plan moves (``movable``, for strict success).
Scenes come from a seed range no dataset split uses.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from spiral.errors import SpiralError
from spiral.worlds.tabletop.goal_gen import random_goal
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses, provisional_conditions
from spiral.worlds.tabletop.scene import SceneSpec, random_scene

BASE = 40_000_000
PLAN = [  # category, count, steps range, scene spec, action kinds
    ("single", 30, (1, 1), SceneSpec(3, 5), None),
    ("short", 30, (2, 3), SceneSpec(3, 5), None),
    ("long", 30, (5, 8), SceneSpec(5, 6), None),
    ("relational", 20, (1, 2), SceneSpec(3, 5), ("move_next_to", "stack", "swap")),
    ("set", 20, None, SceneSpec(4, 6), None),
    ("distractor", 20, (2, 3), SceneSpec(6, 6), None),
    ("paraphrase", 20, (1, 3), SceneSpec(3, 5), None),
]
SET_GOALS = ("stack all the cubes", "put every ball in the bowl", "clear the left half of the table",
             "clear the right half of the table", "clear the front half of the table")


def reference_plan(scene, goal: str):
    """The symbolic planner's plan of ``goal`` in ``scene``: ``(clauses, steps, success
    conditions, provisional conditions)``, or ``None`` when the goal does not plan or has
    nothing to check. A pin that rests on where an earlier step was assumed to land an object
    is not determined by the start state (the closed loop pins it again from what it sees):
    those conditions are left out of the success conditions and returned apart."""
    try:
        clauses = parse_goal(goal, scene)
        plan, conds, _ = plan_clauses(scene, clauses)
    except SpiralError:
        return None
    loose = provisional_conditions(clauses)
    conds = [c for c in conds if c not in loose]
    if not plan or not conds:
        return None
    return clauses, plan, conds, loose


def make() -> list[dict]:
    from spiral.bench.tasks import plan_movable
    from spiral.data.actwm_lite import goal_phrasing, paraphrase

    tasks: list[dict] = []
    k = 0
    for cat, count, steps, spec, kinds in PLAN:
        made = 0
        while made < count:
            seed = BASE + k
            k += 1
            rng = random.Random(f"bench:{seed}")
            scene = random_scene(seed, spec)
            if cat == "set":
                goal = rng.choice(SET_GOALS)
            else:
                goal = random_goal(scene, rng, rng.randint(*steps), kinds)
            if not goal:
                continue
            ref = reference_plan(scene, goal)
            if ref is None:
                continue
            _, plan, conds, loose = ref
            if cat == "paraphrase":
                goal = goal_phrasing([paraphrase(s, rng) for s in plan], rng)
                try:  # the paraphrase must mean the same plan
                    plan2, _, _ = plan_clauses(scene, parse_goal(goal, scene))
                except SpiralError:
                    continue
                if [(s.kind, s.subject, s.objects) for s in plan2] != [(s.kind, s.subject, s.objects) for s in plan]:
                    continue
            tasks.append({
                "id": f"lite-{cat}-{made:03d}", "goal": goal, "category": cat, "horizon": len(plan),
                "scene": scene.model_dump(by_alias=True, exclude_none=True), "seed": len(tasks),
                "success": [c.model_dump(exclude_none=True) for c in conds],
                "expectations": [{"step": i, "postconditions": [c.model_dump(exclude_none=True)
                                                                for c in s.postconditions if c not in loose]}
                                 for i, s in enumerate(plan)],
                "movable": plan_movable(scene, plan),
            })
            made += 1
    return tasks


def main() -> None:
    from spiral.bench.tasks import task_schema

    here = Path(__file__).parent
    tasks = make()
    (here / "actwm-bench-lite.jsonl").write_text("".join(json.dumps(t, separators=(",", ":")) + "\n"
                                                         for t in tasks))
    (here / "task.schema.json").write_text(json.dumps(task_schema(), indent=1) + "\n")
    print(f"wrote {len(tasks)} tasks")


if __name__ == "__main__":
    main()
