"""Shared helpers of the tabletop tests (scene builders, plan checking, degradations)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from spiral.core.types import SubAction
from spiral.worlds.tabletop.actions import apply
from spiral.worlds.tabletop.predicates import holds
from spiral.worlds.tabletop.scene import BOWL_SLOTS, Scene, SceneObject


def obj(kind: str, color: str, x: float, y: float, **kw) -> dict:
    return {"kind": kind, "color": color, "x": x, "y": y, **kw}


def in_bowl(kind: str, color: str, bowl: dict, slot: int) -> dict:
    """An object resting in ``bowl`` at ``slot`` (anchor = bowl anchor + slot offset)."""
    dx, dy = BOWL_SLOTS[slot]
    return {"kind": kind, "color": color, "x": round(bowl["x"] + dx, 4), "y": round(bowl["y"] + dy, 4),
            "in": f"{bowl['color']}_bowl", "slot": slot}


def make_scene(*objs: dict) -> Scene:
    return Scene(objects=[SceneObject(**o) for o in objs])


def run_steps(scene: Scene, steps: list[SubAction]) -> Scene:
    """Apply ``steps`` one by one, asserting each one's pre-conditions before it runs and
    its post-conditions right after; returns the final state."""
    state = scene
    for i, step in enumerate(steps):
        bad = [str(c) for c in step.preconditions if not holds(c, state)]
        assert not bad, f"step {i} ({step.prompt}): pre-conditions fail: {bad}"
        state = apply(state, step)
        bad = [str(c) for c in step.postconditions if not holds(c, state)]
        assert not bad, f"step {i} ({step.prompt}): post-conditions fail: {bad}"
    return state


def moved(a: Scene, b: Scene, oid: str, tol: float = 1e-9) -> bool:
    p, q = a.get(oid), b.get(oid)
    return math.hypot(p.x - q.x, p.y - q.y) > tol


# -- image degradations (what a learned generator does to a frame) ---------------------
def blur(frame: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(frame, (3, 3), 0.8)


def colour_noise(frame: np.ndarray, rng: np.random.Generator, sigma: float = 9.0) -> np.ndarray:
    noisy = frame.astype(np.float32) + rng.normal(0.0, sigma, frame.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def smear(frame: np.ndarray) -> np.ndarray:
    """Average of the frame and a copy shifted by one pixel to the right."""
    shifted = np.roll(frame, 1, axis=1)
    shifted[:, 0] = frame[:, 0]
    return ((frame.astype(np.uint16) + shifted) // 2).astype(np.uint8)


def scene_matches(truth: Scene, seen: Scene | None, pos_tol: float = 0.03) -> str | None:
    """``None`` when ``seen`` has every object of ``truth`` (colour, kind, anchor within
    ``pos_tol``, on/in relations) and nothing else; otherwise what differs."""
    if seen is None:
        return "nothing perceived"
    want, got = {o.color for o in truth.objects}, {o.color for o in seen.objects}
    if want != got:
        return f"colours {sorted(got)} != {sorted(want)}"
    for o in truth.objects:
        p = seen.by_color(o.color)
        if p.kind != o.kind:
            return f"{o.id} seen as a {p.kind}"
        d = math.hypot(p.x - o.x, p.y - o.y)
        if d > pos_tol:
            return f"{o.id} off by {d:.3f}"
        if (p.on, p.in_) != (o.on, o.in_):
            return f"{o.id}: on/in {(p.on, p.in_)} != {(o.on, o.in_)}"
    return None


def colours_match(truth: Scene, seen: Scene | None) -> bool:
    return seen is not None and {o.color for o in seen.objects} == {o.color for o in truth.objects}
