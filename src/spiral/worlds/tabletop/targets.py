"""Privileged training targets for a sub-action, from the exact simulator.

For a start scene and a sub-action this gives what a layered world model must predict:
the mask of each moving layer in the start frame (the subject with what it carries; for
a swap, the second object too), where each layer's centre must end up (pixels), the
background revealed when the layers leave (``fill``), the layer's scale change (an
object dropped into a bowl shrinks to 0.8), and whether it is lifted (everything but a
push). Only training uses them: at inference a model sees frames and text only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spiral.core.types import SubAction
from spiral.worlds.tabletop.actions import _moving_with, apply
from spiral.worlds.tabletop.render import render_items, scene_items
from spiral.worlds.tabletop.scene import IN_BOWL_SCALE, STACK_DY, Scene

SCALE_CLASSES = (0.8, 1.0, 1.25)


@dataclass
class StepTargets:
    frame: np.ndarray  # start frame H×W×3 uint8
    mask_a: np.ndarray  # H×W uint8 {0,1}
    mask_b: np.ndarray  # H×W uint8 {0,1} (zeros unless a second layer moves)
    fill: np.ndarray  # H×W×3 uint8: the start frame without the moving layers
    target_a: tuple[float, float]  # (x, y) pixels: where layer A's centre ends
    target_b: tuple[float, float] | None
    scale_class: int  # index into SCALE_CLASSES (layer A)
    lift: bool
    has_b: bool

    def to_json(self) -> dict:
        return {"target_a": [round(v, 3) for v in self.target_a],
                "target_b": [round(v, 3) for v in self.target_b] if self.target_b else None,
                "scale_class": self.scale_class, "lift": self.lift, "has_b": self.has_b}


def _visible_mask(scene: Scene, hide: set[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    items = scene_items(scene)
    ids = [o.id for o in scene.objects]
    full = render_items(items, size)
    rest = render_items([it for it, oid in zip(items, ids) if oid not in hide], size)
    diff = np.abs(full.astype(np.int16) - rest.astype(np.int16)).max(-1)
    return (diff > 24).astype(np.uint8), rest


def _draw_centre(scene: Scene, oid: str, size: int) -> tuple[float, float]:
    o = scene.get(oid)
    return o.x * size, (o.y - scene.level(oid) * STACK_DY) * size


def _centroid(mask: np.ndarray, fallback: tuple[float, float]) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return fallback
    return float(xs.mean() + 0.5), float(ys.mean() + 0.5)


def step_targets(scene: Scene, action: SubAction, size: int = 64) -> StepTargets:
    end = apply(scene, action)
    a = action.subject
    group_a = _moving_with(scene, a)
    b = action.objects[0] if action.kind == "swap" else None
    group_b = _moving_with(scene, b) if b else set()
    frame = render_items(scene_items(scene), size)
    mask_a, _ = _visible_mask(scene, group_a, size)
    mask_b, _ = _visible_mask(scene, group_b, size) if b else (np.zeros_like(mask_a), None)
    _, fill = _visible_mask(scene, group_a | group_b, size)

    def target(oid: str, mask: np.ndarray) -> tuple[float, float]:
        s0, s1 = _draw_centre(scene, oid, size), _draw_centre(end, oid, size)
        c = _centroid(mask, s0)
        return c[0] + s1[0] - s0[0], c[1] + s1[1] - s0[1]

    sc0 = IN_BOWL_SCALE if scene.get(a).in_ else 1.0
    sc1 = IN_BOWL_SCALE if end.get(a).in_ else 1.0
    ratio = sc1 / sc0
    scale_class = int(np.argmin([abs(ratio - s) for s in SCALE_CLASSES]))
    return StepTargets(frame=frame, mask_a=mask_a, mask_b=mask_b, fill=fill, target_a=target(a, mask_a),
                       target_b=target(b, mask_b) if b else None, scale_class=scale_class,
                       lift=action.kind != "push", has_b=b is not None)
