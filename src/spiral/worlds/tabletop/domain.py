"""Is this first frame a tabletop render the built-in perception can read?

The symbolic planner and the perception critic read object states from pixels, and they
are only reliable on frames that look like the renderer's: a flat table colour, a few
objects drawn in palette colours with the sizes and shapes of cubes, balls and bowls.
A photo, a gradient or a render blurred, rotated or rescaled beyond recognition is read
anyway (perception names whatever colour patches it finds), so a run on it plans and
judges nonsense. :func:`assess` scores a frame before anything runs:

* **explained pixels**: the share of pixels within a small distance of a colour the
  renderer can draw (table, bowl inside, gripper, shadows, each palette colour and its
  shaded cube face), counting thin anti-aliased edges between them as explained;
* **table**: the share of table-coloured pixels (a render is mostly table);
* **objects**: every palette-coloured component must be a plausible cube, ball or bowl
  (not too large, a cube a filled box), no large off-palette coloured piece, no colour
  twice, and the objects not all much smaller than the world draws them.

Each check gives a score in [0, 1]; the confidence is the lowest. Below
:data:`REFUSE_BELOW` the built-in planner and critic refuse the frame, below
:data:`WARN_BELOW` they warn. Thresholds were set on 500 renders (seeds × sizes 64–256,
crowded, bowls, towers, mid-action frames) and a procedural out-of-domain set, see
``benchmarks/bench_ood_images.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from spiral.worlds.tabletop.perception import expected_area, perceive
from spiral.worlds.tabletop.render import FRONT_SHADE, GRIPPER_RGB, SHADOW_RGB
from spiral.worlds.tabletop.scene import BOWL_INSIDE_RGB, BOWL_R, COLORS, PALETTE, TABLE_RGB

REFUSE_BELOW = 0.5
WARN_BELOW = 0.8
MAX_SIZE = 256  # larger frames are assessed shrunk to this size
MIN_SIZE = 64  # below this, renders' edges are too large a share to judge (and perception misreads)
TOL = 24.0  # RGB distance within which a pixel counts as a drawable colour

HINT = ("this image is not a tabletop render: use --planner llm --critic vlm with an OpenAI-compatible "
        "server (see README), or force the built-in ones with --set scene.domain_check=off")


def _shadowed(rgb: tuple[float, ...], k: int) -> tuple[float, ...]:
    a = 0.55 ** k  # render.py draws a carried object's shadow at alpha 0.45, one per carried item
    return tuple(c * a + s * (1 - a) for c, s in zip(rgb, SHADOW_RGB))


def _drawable() -> np.ndarray:
    base: list[tuple[float, ...]] = [TABLE_RGB, BOWL_INSIDE_RGB, GRIPPER_RGB]
    for rgb in PALETTE.values():
        base += [rgb, tuple(int(c * FRONT_SHADE) for c in rgb)]
    out = list(base)
    for rgb in [TABLE_RGB, BOWL_INSIDE_RGB, *PALETTE.values()]:
        out += [_shadowed(rgb, k) for k in range(1, 5)]
    return np.asarray(out, np.float32)


DRAWABLE = _drawable()
_TABLE_IDX = [0] + [3 + 2 * len(PALETTE) + k for k in range(4)]  # the table and its shadows


@dataclass
class DomainReport:
    """How well a frame matches the built-in world: ``confidence`` in [0, 1] and why."""

    confidence: float
    scores: dict[str, float] = field(default_factory=dict)  # per check, 1 = looks like a render
    reasons: list[str] = field(default_factory=list)  # one line per check that scored below 1
    features: dict[str, float] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``ok``, ``borderline`` or ``out-of-domain``."""
        if self.confidence < REFUSE_BELOW:
            return "out-of-domain"
        return "borderline" if self.confidence < WARN_BELOW else "ok"


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _ramp(x: float, bad: float, good: float) -> float:
    """0 at ``bad``, 1 at ``good``, linear between (either direction)."""
    t = (x - bad) / (good - bad)
    return float(min(1.0, max(0.0, t)))


def _pixel_features(frame: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    px = frame.reshape(-1, 3).astype(np.float32)
    d2 = (px * px).sum(1, keepdims=True) - 2 * px @ DRAWABLE.T + (DRAWABLE * DRAWABLE).sum(1)
    nearest = d2.argmin(1)
    ok = d2[np.arange(len(px)), nearest] <= TOL * TOL
    table = ok & np.isin(nearest, _TABLE_IDX)
    exact_table = table & (nearest == 0)
    # the renderer's table is one flat colour: noise, grain or compression shows on it
    grain = float(np.abs(px[exact_table] - DRAWABLE[0]).mean()) if exact_table.any() else 0.0
    H, W = frame.shape[:2]
    unexplained = (~ok).reshape(H, W).astype(np.uint8)
    # anti-aliased edges are a pixel or two wide: only what survives an erosion is a region
    thick = cv2.erode(unexplained, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return {"explained": float(ok.mean()), "unexplained_regions": float(thick.mean()),
            "table": float(table.mean()), "table_grain": grain}, ok.reshape(H, W)


def _cut(mask: np.ndarray, b, size: int) -> bool:
    """Whether a component is cut by the image's edge: ``mask`` (its colour, drawn at full
    coverage) meets an edge along a good part of its width. An object the table's edge
    allows only grazes the edge: a few pixels there, partly covered."""
    runs = []
    if b.x0 == 0:
        runs.append(mask[b.y0:b.y1 + 1, 0].sum())
    if b.x1 == size - 1:
        runs.append(mask[b.y0:b.y1 + 1, size - 1].sum())
    if b.y0 == 0:
        runs.append(mask[0, b.x0:b.x1 + 1].sum())
    if b.y1 == size - 1:
        runs.append(mask[size - 1, b.x0:b.x1 + 1].sum())
    return bool(runs) and max(runs) > 0.4 * max(b.w, b.h) + 1


def _object_features(frame: np.ndarray, pure: np.ndarray) -> tuple[dict[str, float], list[str]]:
    size = frame.shape[0]
    pc = perceive(frame)
    odd: list[str] = []
    ball = expected_area("ball", size)
    cube = expected_area("cube", size)
    bowl_span = 2 * BOWL_R * size
    scales = []
    labels = pc.labels if pc.labels is not None else np.full(frame.shape[:2], -1)
    for color, b in pc.blobs.items():
        span = max(b.w, b.h)
        if _cut((labels == COLORS.index(color)) & pure, b, size):
            odd.append(f"{_a(color)} {color} object cut by the image's edge")
            continue
        ring = labels[min(int(b.cy), size - 1), min(int(b.cx), size - 1)] != COLORS.index(color) and b.fill < 0.6
        if span / size >= 0.19 or ring:  # a bowl (perception's rule, or a ring): about 2·BOWL_R across
            scales.append(span / bowl_span)
            if span > 1.3 * bowl_span + 2:
                odd.append(f"{_a(color)} {color} patch {span / bowl_span:.1f}× a bowl's size")
            elif b.fill > 0.75:
                odd.append(f"a large solid {color} patch (a bowl is a ring)")
            continue
        scales.append(math.sqrt(b.area / ball))
        if b.area > 1.6 * cube + 2 * size / 64:
            odd.append(f"{_a(color)} {color} patch {b.area / cube:.1f}× a cube's area")
        elif b.area >= 1.55 * ball and b.fill < 0.72:  # cube-sized but not a filled box
            odd.append(f"{_a(color)} {color} patch of a cube's size that is not box-shaped")
        elif max(b.w, b.h) > 3.0 * min(b.w, b.h) + 2:
            odd.append(f"a long thin {color} patch")
    dup_colours = sorted({d.color for d in pc.duplicates})
    if dup_colours:
        odd.append(f"{', '.join(dup_colours)} appear{'s' if len(dup_colours) == 1 else ''} twice "
                   "(each object has its own colour)")
    if not pc.blobs:
        odd.append("no object of a palette colour")
    unnamed = [u for u in pc.unnamed if u.area >= 0.5 * ball]
    if unnamed:
        odd.append(f"{len(unnamed)} coloured patch{'es' if len(unnamed) > 1 else ''} of no palette colour")
    feats = {"odd_objects": float(len(odd)), "objects": float(len(pc.blobs)),
             "scale": float(np.median(scales)) if scales else 0.0}
    return feats, odd


def assess(frame: np.ndarray) -> DomainReport:
    """Score ``frame`` (H×W×3 uint8, square) against the built-in world (see module doc)."""
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 frame, got shape {frame.shape}")
    frame = np.ascontiguousarray(frame, np.uint8)
    if frame.shape[0] > MAX_SIZE:  # what perception needs is there at 256 px; keeps it fast
        frame = cv2.resize(frame, (MAX_SIZE, MAX_SIZE), interpolation=cv2.INTER_AREA)
    f, pure = _pixel_features(frame)
    of, odd = _object_features(frame, pure)
    f.update(of)
    scores = {
        "explained": _ramp(f["explained"], 0.90, 0.95),
        "regions": _ramp(f["unexplained_regions"], 0.005, 0.001),
        "table": _ramp(f["table"], 0.35, 0.55),
        "grain": _ramp(f["table_grain"], 6.0, 3.5),
        "objects": 1.0 if not odd else 0.3 if len(odd) == 1 else 0.0,
        "scale": 1.0 if not f["scale"] else _ramp(f["scale"], 0.6, 0.75),
    }
    why: dict[str, str] = {}
    if scores["explained"] < 1:
        why["explained"] = f"only {f['explained']:.0%} of the pixels have a colour the tabletop renderer draws"
    if scores["regions"] < 1:
        why["regions"] = (f"{f['unexplained_regions']:.0%} of the image is regions of other colours (texture, "
                          "gradients, noise or off-palette objects)")
    if scores["table"] < 1:
        why["table"] = f"only {f['table']:.0%} of the image is the table colour"
    if scores["grain"] < 1:
        why["grain"] = (f"the table is grainy (mean deviation {f['table_grain']:.1f} from its flat colour: noise, "
                        "texture or heavy compression)")
    if scores["objects"] < 1:
        more = f" and {len(odd) - 3} more" if len(odd) > 3 else ""
        why["objects"] = "implausible objects: " + "; ".join(odd[:3]) + more
    if scores["scale"] < 1:
        why["scale"] = f"the objects are about {f['scale']:.1f}× the size the world draws them"
    reasons = [why[k] for k in sorted(why, key=lambda k: scores[k])]  # the worst first
    conf = min(scores.values())
    return DomainReport(confidence=round(conf, 4), scores=scores, reasons=reasons, features=f)
