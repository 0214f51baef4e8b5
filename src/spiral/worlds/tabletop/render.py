"""Render tabletop scenes to RGB frames (any size from 32 px; 64×64 by default).

The camera looks down on the table with a slight tilt: things higher up (stacked cubes,
carried objects) are drawn higher in the image, with a shadow under carried objects, so
that every object of a tower stays partly visible. Rendering is supersampled and exact:
the same scene gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spiral.worlds.tabletop.scene import (
    BALL_R,
    BOWL_INNER_R,
    BOWL_INSIDE_RGB,
    BOWL_R,
    CUBE_HALF,
    IN_BOWL_SCALE,
    PALETTE,
    STACK_DY,
    TABLE_RGB,
    Scene,
)

GRIPPER_RGB = (44, 44, 50)
SHADOW_RGB = (60, 55, 50)
FRONT_SHADE = 0.68
MIN_SIZE = 32


@dataclass
class Item:
    """One object to draw: ground anchor ``x, y``, height ``z`` in stack levels."""

    kind: str
    color: str
    x: float
    y: float
    z: float = 0.0
    scale: float = 1.0
    carried: bool = False  # lifted by the gripper: draw a shadow and (optionally) the gripper
    rgb: tuple[int, int, int] | None = None  # colour override (used by corruptions)


def scene_items(scene: Scene) -> list[Item]:
    items = []
    for o in scene.objects:
        z = float(scene.level(o.id))
        scale = IN_BOWL_SCALE if o.in_ else 1.0
        items.append(Item(o.kind, o.color, o.x, o.y, z=z, scale=scale))
    return items


def _ss(size: int) -> int:
    return 4 if size <= 64 else 2 if size <= 160 else 1


def _draw(canvas: np.ndarray, mask: np.ndarray, y0: int, x0: int, rgb, alpha: float = 1.0) -> None:
    h, w = mask.shape
    region = canvas[y0:y0 + h, x0:x0 + w]
    m = mask[: region.shape[0], : region.shape[1]]
    if alpha >= 1.0:
        region[m] = rgb
    else:
        region[m] = region[m] * (1 - alpha) + np.asarray(rgb, np.float32) * alpha


def _shape_mask(kind: str, cx: float, cy: float, r: float, S: int, ratio: float = 1.0):
    """Boolean mask of a shape in pixels of an ``S``-sized canvas, and its top-left corner."""
    x0, x1 = int(np.floor((cx - r) * S)), int(np.ceil((cx + r) * S)) + 1
    y0, y1 = int(np.floor((cy - r * ratio) * S)), int(np.ceil((cy + r * ratio) * S)) + 1
    x0c, y0c = max(0, x0), max(0, y0)
    x1c, y1c = min(S, x1), min(S, y1)
    if x1c <= x0c or y1c <= y0c:
        return None, 0, 0
    ys = (np.arange(y0c, y1c) + 0.5) / S
    xs = (np.arange(x0c, x1c) + 0.5) / S
    dy = (ys[:, None] - cy) / ratio
    dx = xs[None, :] - cx
    if kind == "square":
        m = (np.abs(dx) <= r) & (np.abs(dy) <= r)
    else:
        m = dx * dx + dy * dy <= r * r
    return m, y0c, x0c


def render_items(items: list[Item], size: int = 64, gripper: bool = False) -> np.ndarray:
    """Draw items on the table; returns ``size×size×3`` uint8."""
    if size < MIN_SIZE:
        raise ValueError(f"frame size must be at least {MIN_SIZE} px, got {size}")
    ss = _ss(size)
    S = size * ss
    canvas = np.empty((S, S, 3), np.float32)
    canvas[:] = TABLE_RGB
    bowls = [it for it in items if it.kind == "bowl" and not it.carried]
    rest = [it for it in items if not (it.kind == "bowl" and not it.carried)]
    for it in bowls:
        cy = it.y - it.z * STACK_DY
        rgb = it.rgb or PALETTE[it.color]
        m, y0, x0 = _shape_mask("disc", it.x, cy, BOWL_R * it.scale, S)
        if m is not None:
            _draw(canvas, m, y0, x0, rgb)
        m, y0, x0 = _shape_mask("disc", it.x, cy, BOWL_INNER_R * it.scale, S)
        if m is not None:
            _draw(canvas, m, y0, x0, BOWL_INSIDE_RGB)
    for it in rest:  # shadows of carried objects lie on the table
        if it.carried and it.z > 0.05:
            r = (BOWL_R if it.kind == "bowl" else 0.055) * it.scale
            m, y0, x0 = _shape_mask("disc", it.x, it.y, r, S, ratio=0.6)
            if m is not None:
                _draw(canvas, m, y0, x0, SHADOW_RGB, alpha=0.45)
    order = sorted(rest, key=lambda it: (it.carried, round(it.z, 3), it.kind != "bowl", it.y))
    for it in order:
        cy = it.y - it.z * STACK_DY
        rgb = it.rgb or PALETTE[it.color]
        if it.kind == "cube":  # a lit top face over a darker front face
            half = CUBE_HALF * it.scale
            m, y0, x0 = _shape_mask("square", it.x, cy, half, S)
            if m is not None:
                _draw(canvas, m, y0, x0, tuple(int(c * FRONT_SHADE) for c in rgb))
            m, y0, x0 = _shape_mask("square", it.x, cy - half * 0.35, half, S, ratio=0.65)
        elif it.kind == "ball":
            m, y0, x0 = _shape_mask("disc", it.x, cy, BALL_R * it.scale, S)
        else:
            m, y0, x0 = _shape_mask("disc", it.x, cy, BOWL_R * it.scale, S)
        if m is not None:
            _draw(canvas, m, y0, x0, rgb)
        if it.kind == "bowl":
            m, y0, x0 = _shape_mask("disc", it.x, cy, BOWL_INNER_R * it.scale, S)
            if m is not None:
                _draw(canvas, m, y0, x0, BOWL_INSIDE_RGB)
        if gripper and it.carried:
            _draw_gripper(canvas, it.x, cy, (BOWL_R if it.kind == "bowl" else 0.05) * it.scale, S)
    out = canvas.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _draw_gripper(canvas: np.ndarray, x: float, y: float, r: float, S: int) -> None:
    """A small two-fingered claw holding the object from above."""
    t = 0.014
    for cx, cy, hw, hh in ((x - r - t, y - r * 0.3, t, r * 0.7),
                           (x + r + t, y - r * 0.3, t, r * 0.7),
                           (x, y - r - t, r + 2 * t, t)):
        x0, x1 = max(0, int((cx - hw) * S)), min(S, int(np.ceil((cx + hw) * S)))
        y0, y1 = max(0, int((cy - hh) * S)), min(S, int(np.ceil((cy + hh) * S)))
        if x1 > x0 and y1 > y0:
            canvas[y0:y1, x0:x1] = GRIPPER_RGB


def render_scene(scene: Scene, size: int = 64) -> np.ndarray:
    return render_items(scene_items(scene), size)
