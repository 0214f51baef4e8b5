"""Random multi-step goals with a known number of sub-actions (benchmarks, datasets)."""

from __future__ import annotations

import random

from spiral.errors import SpiralError
from spiral.worlds.tabletop.actions import apply
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
from spiral.worlds.tabletop.sampling import sample_action
from spiral.worlds.tabletop.scene import Scene, SceneSpec, random_scene


def random_goal(scene: Scene, rng: random.Random, n_steps: int, kinds: tuple[str, ...] | None = None,
                tries: int = 50) -> str | None:
    """A goal text whose plan in ``scene`` has exactly ``n_steps`` sub-actions."""
    for _ in range(tries):
        state = scene.copy_deep()
        texts = []
        for _ in range(n_steps):
            act = sample_action(state, rng, kinds)
            if act is None:
                break
            texts.append(act.prompt)
            state = apply(state, act)
        if len(texts) != n_steps:
            continue
        goal = ", then ".join(texts)
        try:
            steps, conds, _ = plan_clauses(scene, parse_goal(goal, scene))
        except SpiralError:
            continue
        if len(steps) == n_steps and conds:
            return goal
    return None


def goal_episodes(n: int, n_steps: int, seed: int = 0, spec: SceneSpec | None = None) -> list[tuple[int, str]]:
    """``n`` (scene seed, goal) pairs, deterministic for ``seed``."""
    out = []
    k = 0
    spec = spec or SceneSpec(min_objects=4, max_objects=6)
    while len(out) < n:
        scene_seed = seed * 100_000 + k
        k += 1
        g = random_goal(random_scene(scene_seed, spec), random.Random(f"goal:{scene_seed}"), n_steps)
        if g is not None:
            out.append((scene_seed, g))
    return out
