"""Critic fidelity: does a critic catch the failures of video generators, and name them right?

A labelled suite from the tabletop simulator: for each seeded random scene, one random valid
sub-action rendered exactly (label ``pass``) and once per corruption of
:data:`spiral.worlds.tabletop.corrupt.CORRUPTIONS` (label: the failure type in
:data:`~spiral.worlds.tabletop.corrupt.LABELS`). Corruptions that cannot be made in a scene
(no free spot for a duplicate, …) are skipped and counted, never replaced.

:func:`evaluate` runs any critic (``critique(clip, sub_action, memory)``, plus ``observe`` if
it has one) on the suite, with an episode memory whose registry and first frame are the
clip's start, as in the loop, and computes:

* the confusion matrix (true label × predicted label; ``error`` when the critic raised);
* detection (fail vs pass): true-positive rate, true-negative rate, precision, balanced accuracy;
* per failure type: precision, recall, F1, support;
* ``balanced_accuracy``: the mean recall over the classes present (``pass`` and the types);
* per corruption: how often it was detected and how often named with its type;
* what the critic cost (its ``pop_cost()``, for LLM/VLM critics) and how long it took.

``spiral bench critic`` is the command line; ``benchmarks/bench_critic_fidelity.py`` the
larger run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from spiral.core.types import FAILURE_TYPES, Clip, SubAction, Verdict
from spiral.errors import SpiralError

PASS = "pass"
ERROR = "error"
CLASSES: tuple[str, ...] = (PASS, *FAILURE_TYPES)


@dataclass
class Case:
    """One labelled clip of the suite."""

    scene_seed: int
    corruption: str | None  # None: the exact clip
    label: str  # "pass" or a failure type
    frames: np.ndarray
    scene: Any  # spiral.worlds.tabletop.scene.Scene: the start state
    action: SubAction


def iter_suite(n_scenes: int = 20, seed: int = 0, corruptions: list[str] | None = None, num_frames: int = 12,
               size: int = 64, skipped: dict[str, int] | None = None) -> Iterator[Case]:
    """The suite's cases, scene by scene (deterministic for ``seed``). ``skipped`` collects the
    corruptions that could not be made, by name."""
    from spiral.worlds.tabletop.corrupt import CORRUPTIONS, LABELS, NotApplicable, corrupt
    from spiral.worlds.tabletop.sampling import sample_action
    from spiral.worlds.tabletop.scene import SceneSpec, random_scene
    from spiral.worlds.tabletop.simulate import simulate

    names = list(corruptions or CORRUPTIONS)
    unknown = [c for c in names if c not in CORRUPTIONS]
    if unknown:
        raise SpiralError(f"unknown corruption(s) {', '.join(unknown)}", f"choose from {', '.join(CORRUPTIONS)}")
    spec = SceneSpec(min_objects=4, max_objects=6)
    made, k = 0, 0
    while made < n_scenes:
        scene_seed = seed * 100_000 + k
        k += 1
        scene = random_scene(scene_seed, spec)
        action = sample_action(scene, random.Random(f"critic-fidelity:{scene_seed}"))
        if action is None:
            continue
        made += 1
        frames, _ = simulate(scene, action, num_frames, size)
        yield Case(scene_seed, None, PASS, frames, scene, action)
        for name in names:
            try:
                frames, _, _ = corrupt(name, scene, action, num_frames, size, seed=scene_seed, fallback=False)
            except NotApplicable:
                if skipped is not None:
                    skipped[name] = skipped.get(name, 0) + 1
                continue
            yield Case(scene_seed, name, LABELS[name], frames, scene, action)


def add_cost(totals: dict[str, Any], critic: Any) -> None:
    """Add what the critic's last calls cost (an LLM/VLM critic reports it) to ``totals``."""
    from spiral.core.protocols import CostReporting

    c = critic.pop_cost() if isinstance(critic, CostReporting) else None
    for k, v in (c or {}).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            totals[k] = round(totals.get(k, 0) + v, 8)


def judge(critic: Any, frames: np.ndarray, action: SubAction, scene: Any, fps: int = 8) -> Verdict:
    """The critic's verdict on one clip of ``action``, its memory registered from the clip's
    first frame (what the critic reads there, else ``scene``'s objects). Raises SpiralError."""
    from spiral.agents.symbolic_planner import scene_objects
    from spiral.core.memory import EpisodeMemory
    from spiral.core.protocols import Observing

    first = frames[0]
    memory = EpisodeMemory(None)
    try:
        objects = critic.observe(first) if isinstance(critic, Observing) else []
        memory.register_objects(objects or scene_objects(scene), first)
        return critic.critique(Clip(frames=frames, fps=fps), action, memory)
    finally:
        memory.close()


def predict(critic: Any, case: Case, fps: int = 8) -> tuple[str, str]:
    """The critic's label for one case (``pass``, a failure type, or ``error``) and its feedback."""
    try:
        v = judge(critic, case.frames, case.action, case.scene, fps)
    except SpiralError as exc:
        return ERROR, exc.message
    return (PASS if v.passed else (v.failure_type or ERROR)), v.feedback


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Scores from ``rows`` of ``{"label", "pred", "corruption"}``."""
    preds = (*CLASSES, ERROR)
    conf = {t: {p: 0 for p in preds} for t in CLASSES}
    for r in rows:
        conf[r["label"]][r["pred"]] += 1
    pos = [r for r in rows if r["label"] != PASS]
    neg = [r for r in rows if r["label"] == PASS]
    tp = sum(r["pred"] not in (PASS, ERROR) for r in pos)
    tn = sum(r["pred"] == PASS for r in neg)
    fp = sum(r["pred"] not in (PASS, ERROR) for r in neg)
    tpr, tnr = _ratio(tp, len(pos)), _ratio(tn, len(neg))
    known = [x for x in (tpr, tnr) if x is not None]
    detection = {"positives": len(pos), "negatives": len(neg), "tpr": tpr, "tnr": tnr,
                 "precision": _ratio(tp, tp + fp),
                 "balanced_accuracy": round(sum(known) / len(known), 4) if known else None}
    per_type = {}
    for t in FAILURE_TYPES:
        hit = conf[t][t]
        predicted = sum(conf[x][t] for x in CLASSES)
        support = sum(conf[t].values())
        p, rc = _ratio(hit, predicted), _ratio(hit, support)
        f1 = round(2 * p * rc / (p + rc), 4) if p and rc else (0.0 if p is not None and rc is not None else None)
        per_type[t] = {"support": support, "predicted": predicted, "precision": p, "recall": rc, "f1": f1}
    recalls = [_ratio(conf[c][c], sum(conf[c].values())) for c in CLASSES if sum(conf[c].values())]
    per_corr: dict[str, dict[str, Any]] = {}
    for r in rows:
        name = r["corruption"] or "none (exact clip)"
        d = per_corr.setdefault(name, {"label": r["label"], "n": 0, "detected": 0, "typed": 0})
        d["n"] += 1
        d["detected"] += int(r["pred"] not in (PASS, ERROR)) if r["label"] != PASS else int(r["pred"] == PASS)
        d["typed"] += int(r["pred"] == r["label"])
    for d in per_corr.values():
        d["detection_rate"] = _ratio(d["detected"], d["n"])
        d["type_recall"] = _ratio(d["typed"], d["n"])
    return {
        "n_clips": len(rows),
        "balanced_accuracy": round(sum(recalls) / len(recalls), 4) if recalls else None,
        "detection": detection,
        "per_type": per_type,
        "per_corruption": per_corr,
        "confusion": {"labels_true": list(CLASSES), "labels_pred": list(preds),
                      "matrix": [[conf[t][p] for p in preds] for t in CLASSES]},
        "errors": sum(r["pred"] == ERROR for r in rows),
    }


def evaluate(critic: Any, n_scenes: int = 20, seed: int = 0, corruptions: list[str] | None = None,
             num_frames: int = 12, size: int = 64, fps: int = 8,
             on_case: Callable[[int, Case, str], None] | None = None) -> dict[str, Any]:
    """Run ``critic`` on the suite and score it (see the module docstring)."""
    skipped: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    cost: dict[str, Any] = {}
    t0 = time.perf_counter()
    for i, case in enumerate(iter_suite(n_scenes, seed, corruptions, num_frames, size, skipped)):
        pred, feedback = predict(critic, case, fps)
        rows.append({"scene_seed": case.scene_seed, "corruption": case.corruption, "label": case.label,
                     "pred": pred, "feedback": feedback})
        add_cost(cost, critic)
        if on_case is not None:
            on_case(i, case, pred)
    wall = time.perf_counter() - t0
    out = {"critic": getattr(critic, "name", type(critic).__name__), "n_scenes": n_scenes, "seed": seed,
           "num_frames": num_frames, "size": size, "fps": fps, "skipped": skipped, **metrics(rows),
           "cost": cost or None, "wall_s": round(wall, 3), "s_per_clip": round(wall / max(1, len(rows)), 4),
           "rows": rows}
    return out


def suite_size(n_scenes: int, corruptions: list[str] | None = None) -> int:
    """An upper bound of the number of clips (for progress bars)."""
    from spiral.worlds.tabletop.corrupt import CORRUPTIONS

    return n_scenes * (1 + len(corruptions or CORRUPTIONS))
