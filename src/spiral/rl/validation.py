"""Validation against reward hacking: the bench's strict success on held-out tasks.

The training reward is the critic's score of one sub-action; what a user cares about is the
bench's **strict success** of whole episodes (goal conditions in the final frame and a clean
episode). :class:`Validator` runs a few dozen plan-only episodes (the planner's steps, one
sample each, every segment from the model's own last frame) with the policy's current
weights and scores them with the bench's own metrics (:func:`spiral.bench.runner.evaluate_run`).

The validation tasks come from the suites' generators on a seed range of their own
(:func:`validation_tasks`): the Hard recipes from ``VAL_HARD_BASE`` and Lite-like goals from
``VAL_LITE_BASE``; never the Hard suite's scenes (50 000 000…), nor its development split's
(60 000 000…), nor the training requests' (80 000 000…).

:class:`Divergence` is the stop rule: the training reward up while validation strict success
goes down, for ``patience`` evaluations in a row.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

VAL_HARD_BASE = 70_000_000  # the Hard recipes on scenes of their own (Hard 50M, Hard-dev 60M, training 80M)
VAL_LITE_BASE = 72_000_000  # Lite-like goals (Lite 40M)


def validation_tasks(hard_per_category: int = 3, lite: int = 12, seed: int = 0) -> list[dict[str, Any]]:
    """Held-out validation tasks as bench task dicts (the suite's JSONL schema).

    ``hard_per_category`` tasks per Hard recipe (crowded, bowls, under, clearing, tower, chain,
    wording) from ``VAL_HARD_BASE + seed·100 000``, and ``lite`` Lite-like goals (1–8 steps,
    3–6 objects) from ``VAL_LITE_BASE + seed·100 000``. Deterministic."""
    from spiral.bench.suites.make_hard import make

    tasks = make(hard_per_category, VAL_HARD_BASE + seed * 100_000, "val-hard") if hard_per_category else []
    return tasks + _lite_like(lite, VAL_LITE_BASE + seed * 100_000)


def _lite_like(n: int, base: int) -> list[dict[str, Any]]:
    from spiral.bench.suites.make_lite import reference_plan
    from spiral.bench.tasks import plan_movable
    from spiral.worlds.tabletop.goal_gen import random_goal
    from spiral.worlds.tabletop.scene import SceneSpec, random_scene

    kinds = [("single", (1, 1), SceneSpec(3, 5)), ("short", (2, 3), SceneSpec(3, 5)),
             ("long", (5, 8), SceneSpec(5, 6))]
    out: list[dict[str, Any]] = []
    k = 0
    while len(out) < n:
        cat, steps, spec = kinds[len(out) % len(kinds)]
        seed = base + k
        k += 1
        rng = random.Random(f"val-lite:{seed}")
        try:
            scene = random_scene(seed, spec)
        except ValueError:
            continue
        goal = random_goal(scene, rng, rng.randint(*steps))
        ref = reference_plan(scene, goal) if goal else None
        if ref is None:
            continue
        _, plan, conds, loose = ref
        out.append({
            "id": f"val-lite-{cat}-{len(out):03d}", "goal": goal, "category": cat, "horizon": len(plan),
            "scene": scene.model_dump(by_alias=True, exclude_none=True), "seed": 500 + len(out),
            "success": [c.model_dump(exclude_none=True) for c in conds],
            "expectations": [{"step": i, "postconditions": [c.model_dump(exclude_none=True)
                                                            for c in s.postconditions if c not in loose]}
                             for i, s in enumerate(plan)],
            "movable": plan_movable(scene, plan),
        })
    return out


def load_or_make_tasks(path: Path, hard_per_category: int, lite: int, seed: int = 0) -> list[Any]:
    """The validation tasks cached in ``path`` (JSONL; made once, so a resumed run validates
    on the same tasks), as bench ``Task`` objects."""
    from spiral.bench.tasks import load_tasks

    if not path.exists():
        from spiral.core.rundir import atomic_write_bytes

        tasks = validation_tasks(hard_per_category, lite, seed)
        atomic_write_bytes(path, "".join(json.dumps(t, separators=(",", ":")) + "\n" for t in tasks).encode())
    return load_tasks(path)


class Validator:
    """Plan-only episodes of ``tasks`` with a given generator; strict and lenient success.

    ``planner`` and ``critic`` default to the configuration's (symbolic planner, perception
    critic); the episodes are written to a temporary directory and scored by the bench's
    metrics, then deleted."""

    def __init__(self, tasks: Sequence[Any], planner: Any = None, critic: Any = None,
                 base: dict[str, Any] | None = None):
        from spiral.config import build_config
        from spiral.registry import build

        self.tasks = list(tasks)
        if not self.tasks:
            from spiral.errors import ConfigError

            raise ConfigError("validation needs at least one task", "raise the number of validation tasks")
        self.base = {"output": {"report": False, "video_scale": 1}, **(base or {})}
        cfg = build_config(overrides={**self.base, "goal": "push the red cube to the left"})
        self.planner = planner or build("planner", cfg.planner, config=cfg)
        self.critic = critic or build("critic", cfg.critic, config=cfg)

    def evaluate(self, generator: Any) -> dict[str, Any]:
        """``{"strict": mean strict success, "lenient": mean task success, "n": tasks,
        "by_category": {cat: strict}, "rows": [...]}``."""
        from spiral.api import run
        from spiral.bench.runner import evaluate_run
        from spiral.config import build_config, merge
        from spiral.errors import SpiralError

        rows = []
        root = Path(tempfile.mkdtemp(prefix="spiral-val-"))
        try:
            for t in self.tasks:
                sp = root / f"{t.id}.scene.json"
                sp.write_text(json.dumps(t.scene))
                cfg = build_config(overrides=merge(self.base, {
                    "goal": t.goal, "mode": "plan-only", "seed": t.seed,
                    "scene": {"seed": None, "file": str(sp), "image": None}}))
                row = {"id": t.id, "category": t.category}
                try:
                    _, rd = run(cfg, root / t.id, components=(self.planner, generator, self.critic))
                    row.update(evaluate_run(rd.path, t))
                except SpiralError as exc:
                    row.update(strict_success=0.0, task_success=0.0, error=exc.message)
                rows.append({k: row.get(k) for k in ("id", "category", "strict_success", "task_success", "error")})
        finally:
            shutil.rmtree(root, ignore_errors=True)
        cats: dict[str, list[float]] = {}
        for r in rows:
            cats.setdefault(r["category"], []).append(float(r["strict_success"] or 0.0))
        n = len(rows)
        return {"strict": sum(float(r["strict_success"] or 0.0) for r in rows) / n,
                "lenient": sum(float(r["task_success"] or 0.0) for r in rows) / n, "n": n,
                "by_category": {c: sum(v) / len(v) for c, v in sorted(cats.items())}, "rows": rows}


@dataclass
class Divergence:
    """Reward hacking shows as the training reward going up while validation strict success
    goes down. ``update(train_reward, val_strict)`` after each evaluation; ``diverged`` once that
    happened ``patience`` evaluations in a row. ``reset()`` when the training distribution
    changes (a curriculum stage), where the training reward is not comparable any more."""

    patience: int = 3
    history: list[tuple[float, float]] = field(default_factory=list)
    streak: int = 0

    def reset(self) -> None:
        self.history.clear()
        self.streak = 0

    def update(self, train_reward: float, val_strict: float) -> bool:
        if self.history:
            pr, pv = self.history[-1]
            self.streak = self.streak + 1 if (train_reward > pr and val_strict < pv) else 0
        self.history.append((float(train_reward), float(val_strict)))
        return self.diverged

    @property
    def diverged(self) -> bool:
        return self.streak >= self.patience

    def describe(self) -> str:
        k = self.streak
        (r0, v0), (r1, v1) = self.history[-k - 1], self.history[-1]
        return (f"the training reward rose from {r0:.3f} to {r1:.3f} while validation strict success fell from "
                f"{v0:.3f} to {v1:.3f} over {k} evaluations in a row (reward hacking?)")
