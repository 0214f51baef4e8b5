"""The exact simulator: scene + sub-action → the clip of it being carried out.

Frame 0 is the start scene, the last frame the exact result of
:func:`~spiral.worlds.tabletop.actions.apply`; in between, moved objects follow smooth
trajectories (pushed objects slide, others are lifted over the table in an arc, the two
objects of a swap take curved paths so that they never overlap). Objects in a moved
bowl and cubes on a moved cube travel with it. It is ground truth: the dataset's source
and the ``sim`` generator.
"""

from __future__ import annotations

import math

import numpy as np

from spiral.core.types import SubAction
from spiral.worlds.tabletop.actions import _moving_with, apply
from spiral.worlds.tabletop.render import Item, render_items
from spiral.worlds.tabletop.scene import IN_BOWL_SCALE, Scene

LIFT = 1.6  # arc height of a carried object, in stack levels


def _smooth(u: float) -> float:
    return u * u * (3 - 2 * u)


def trajectory_items(start: Scene, end: Scene, action: SubAction, num_frames: int) -> list[list[Item]]:
    """Per-frame draw lists between ``start`` and ``end``."""
    movers = [action.subject] + (list(action.objects) if action.kind == "swap" else [])
    carried: dict[str, str] = {}
    for m in movers:
        for c in _moving_with(start, m):
            carried[c] = m
    slide = action.kind == "push"
    bend_sign, bend_size = 1.0, 0.13
    if action.kind == "swap":  # bend the two paths apart, keeping both on the table
        a0, a1 = start.get(movers[0]), start.get(movers[1])
        dx, dy = a1.x - a0.x, a1.y - a0.y
        n = math.hypot(dx, dy) or 1.0
        mx, my = (a0.x + a1.x) / 2, (a0.y + a1.y) / 2

        def inside(sign: float, size: float) -> bool:
            pts = [(mx - dy / n * size * sign * k, my + dx / n * size * sign * k) for k in (1, -1)]
            return all(0.06 <= x <= 0.94 and 0.12 <= y <= 0.94 for x, y in pts)

        for size in (0.13, 0.09, 0.06, 0.0):
            if inside(1.0, size):
                bend_sign, bend_size = 1.0, size
                break
            if inside(-1.0, size):
                bend_sign, bend_size = -1.0, size
                break
    frames: list[list[Item]] = []
    for t in range(num_frames):
        u = t / (num_frames - 1) if num_frames > 1 else 1.0
        s = _smooth(u)
        items = []
        for o0 in start.objects:
            o1 = end.get(o0.id)
            z0, z1 = float(start.level(o0.id)), float(end.level(o0.id))
            sc0 = IN_BOWL_SCALE if o0.in_ else 1.0
            sc1 = IN_BOWL_SCALE if o1.in_ else 1.0
            if o0.id not in carried:
                items.append(Item(o0.kind, o0.color, o0.x, o0.y, z=z0, scale=sc0))
                continue
            lead = carried[o0.id]
            x = o0.x + (o1.x - o0.x) * s
            y = o0.y + (o1.y - o0.y) * s
            if action.kind == "swap":  # curve the two paths apart
                a0, a1 = start.get(movers[0]), start.get(movers[1])
                dx, dy = a1.x - a0.x, a1.y - a0.y
                n = math.hypot(dx, dy) or 1.0
                side = (1.0 if lead == movers[0] else -1.0) * bend_sign
                bend = bend_size * math.sin(math.pi * s) * side
                x += -dy / n * bend
                y += dx / n * bend
            lift = 0.0 if slide else LIFT * math.sin(math.pi * s)
            z = z0 + (z1 - z0) * s + lift
            scale = sc0 + (sc1 - sc0) * s
            items.append(Item(o0.kind, o0.color, x, y, z=z, scale=scale,
                              carried=(not slide) and 0 < t < num_frames - 1))
        frames.append(items)
    return frames


def intermediate_state(start: Scene, end: Scene, action: SubAction, u: float) -> Scene:
    """Ground-truth object states at fraction ``u`` of the motion (supports cleared in flight)."""
    if u <= 0:
        return start.copy_deep()
    if u >= 1:
        return end.copy_deep()
    s = _smooth(u)
    movers = [action.subject] + (list(action.objects) if action.kind == "swap" else [])
    moving = set().union(*(_moving_with(start, m) for m in movers))
    out = start.copy_deep()
    for o in out.objects:
        if o.id in moving:
            e = end.get(o.id)
            o.x = round(o.x + (e.x - o.x) * s, 4)
            o.y = round(o.y + (e.y - o.y) * s, 4)
            if o.id in movers and action.kind != "push":
                o.on, o.in_, o.slot = None, None, None
    return out


def simulate(scene: Scene, action: SubAction, num_frames: int = 12, size: int = 64,
             gripper: bool = False) -> tuple[np.ndarray, list[Scene]]:
    """Carry out ``action`` exactly. Returns ``(frames T×H×W×3 uint8, per-frame states)``."""
    if num_frames < 2:
        raise ValueError("a clip needs at least 2 frames")
    end = apply(scene, action)
    per_frame = trajectory_items(scene, end, action, num_frames)
    frames = np.stack([render_items(items, size, gripper=gripper) for items in per_frame])
    states = [intermediate_state(scene, end, action, t / (num_frames - 1)) for t in range(num_frames)]
    return frames, states
