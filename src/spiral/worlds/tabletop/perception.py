"""Perception: frame → object states, from pixels alone.

Each pixel is named by its colour (hue, saturation, value against the palette) after a
small median filter; each colour's connected components are objects. A component's kind
comes from its size and shape (a bowl is a large ring, a cube fills its box, a ball does
not) unless the caller already knows it (the memory's object registry). Positions come
from the components' geometry, stacking from the vertical offset between cubes, and
containment from a component lying inside a bowl's rim. Tiny components (noise) are
ignored, so blur, colour noise and smear from a learned generator do not create or
remove objects; a second large component of a colour is reported as a duplicate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from spiral.worlds.tabletop.scene import (
    BALL_R,
    BOWL_INNER_R,
    BOWL_SLOTS,
    CUBE_HALF,
    IN_BOWL_SCALE,
    PALETTE,
    STACK_DY,
    TABLE_RGB,
    Scene,
    SceneObject,
)

_COLOR_NAMES = tuple(PALETTE)
_HUED = [c for c in _COLOR_NAMES if c != "white"]

SAT_MIN = 0.42
VAL_MIN = 0.33
HUE_TOL = 22.0
WHITE_SAT_MAX = 0.14
WHITE_VAL_MIN = 0.58


def _hsv(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees, saturation and value in [0, 1] (OpenCV's fast conversion)."""
    hsv = cv2.cvtColor(np.ascontiguousarray(img, dtype=np.uint8), cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
    return hsv[..., 0] * (360.0 / 256.0), hsv[..., 1] / 255.0, hsv[..., 2] / 255.0


def _rgb_hue(rgb: tuple[int, int, int]) -> float:
    h, _, _ = _hsv(np.asarray(rgb, np.uint8)[None, None])
    return float(h[0, 0])


PALETTE_HUES = {c: _rgb_hue(PALETTE[c]) for c in _HUED}
_HUE_ARRAY = np.array([PALETTE_HUES[c] for c in _HUED], np.float32)
_HUE_INDEX = np.array([_COLOR_NAMES.index(c) for c in _HUED], np.int8)


def classify_pixels(frame: np.ndarray) -> np.ndarray:
    """Palette index of each pixel (``-1`` = table, shadow, gripper or unknown)."""
    return _classify(frame)[0]


def _labels(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    labels = np.full(h.shape, -1, np.int8)
    coloured = (s >= SAT_MIN) & (v >= VAL_MIN)
    hc = h[coloured]
    d = np.abs(hc[:, None] - _HUE_ARRAY)
    d = np.minimum(d, 360 - d)
    best = d.argmin(-1)
    ok = d[np.arange(len(best)), best] <= HUE_TOL
    vals = np.full(hc.shape, -1, np.int8)
    vals[ok] = _HUE_INDEX[best[ok]]
    labels[coloured] = vals
    white = (s <= WHITE_SAT_MAX) & (v >= WHITE_VAL_MIN)
    labels[white] = _COLOR_NAMES.index("white")
    return labels


# The same labelling on OpenCV's 8-bit HSV, through tables (what perception runs): a pixel's
# label depends only on its 8-bit hue, saturation and value, so a 256-entry hue table built
# by running :func:`_labels` on every hue, and integer cut-offs found the same way for the
# saturation and value tests, agree with it exactly (tested over every RGB colour).
_HUE_DEG = np.arange(256, dtype=np.float32) * (360.0 / 256.0)  # 8-bit hue -> degrees, as _hsv
_U8 = np.arange(256, dtype=np.float32) / 255.0
_HUE_LABEL = _labels(_HUE_DEG, np.ones(256, np.float32), np.ones(256, np.float32))
_S_MIN, _V_MIN = int(np.argmax(_U8 >= SAT_MIN)), int(np.argmax(_U8 >= VAL_MIN))
_WS_MAX, _WV_MIN = int(np.flatnonzero(_U8 <= WHITE_SAT_MAX)[-1]), int(np.argmax(_U8 >= WHITE_VAL_MIN))
_WHITE = _COLOR_NAMES.index("white")


def _classify(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(palette labels, saturated-and-bright mask, hue in degrees) of an image (…×W×3
    uint8), equal to :func:`_labels` on :func:`_hsv` and several times faster."""
    hsv = cv2.cvtColor(np.ascontiguousarray(img, dtype=np.uint8), cv2.COLOR_RGB2HSV_FULL)
    h, s, v = cv2.split(hsv)
    coloured = (s >= _S_MIN) & (v >= _V_MIN)
    labels = cv2.LUT(h, _HUE_LABEL)
    labels[~coloured] = -1
    labels[(s <= _WS_MAX) & (v >= _WV_MIN)] = _WHITE
    return labels, coloured, cv2.LUT(h, _HUE_DEG)


@dataclass
class Blob:
    """One connected component of one colour, in pixels of the frame."""

    color: str
    area: int
    cx: float
    cy: float
    x0: int
    y0: int
    x1: int  # inclusive
    y1: int  # inclusive
    mean_rgb: tuple[float, float, float]

    @property
    def w(self) -> int:
        return self.x1 - self.x0 + 1

    @property
    def h(self) -> int:
        return self.y1 - self.y0 + 1

    @property
    def fill(self) -> float:
        return self.area / float(self.w * self.h)


@dataclass
class Percept:
    """What perception read off one frame."""

    scene: Scene | None
    size: int
    blobs: dict[str, Blob] = field(default_factory=dict)  # main component per colour
    duplicates: list[Blob] = field(default_factory=list)  # extra large components of a colour
    small: dict[str, int] = field(default_factory=dict)  # colour → pixels in ignored pieces
    all_blobs: dict[str, list[Blob]] = field(default_factory=dict)  # every component, largest first
    labels: np.ndarray | None = None  # per-pixel palette index
    unnamed: list[Blob] = field(default_factory=list)  # saturated pieces of no palette colour
    hue: np.ndarray | None = None  # per-pixel hue in degrees (kept by perceive_clip)

    @property
    def colors(self) -> set[str]:
        return set(self.blobs)


def min_area(size: int) -> float:
    return 7.0 * (size / 64.0) ** 2


def dup_area(size: int) -> float:
    return 14.0 * (size / 64.0) ** 2


def classify_kind(blob: Blob, size: int, scale: float = 1.0) -> str:
    """Bowl: a large ring. Cube: about twice a ball's area, a full box, a darker front face."""
    span = max(blob.w, blob.h) / size
    if span >= 0.19:
        return "bowl"
    ratio = blob.area / expected_area("ball", size, scale)  # cubes are ~1.9x a ball's area
    if ratio >= 1.55:
        return "cube"
    if ratio <= 1.3:
        return "ball"
    return "cube" if blob.fill >= 0.9 else "ball"


def _components(frames: np.ndarray, layers: list[tuple[str, int, np.ndarray]]) -> dict[str, list[list[Blob]]]:
    """Connected components of several masks (each T×H×W, with a name and the smallest
    side a kept component may have) in every frame, in one labelling pass: the masks'
    frames are stacked with an empty row between them. Pieces too small to keep come back
    with ``cx = -1`` (their area counts as noise)."""
    T, H, W = frames.shape[:3]
    if not layers:
        return {}
    masks = np.stack([m for _, _, m in layers]).reshape(-1, H, W)  # (layer, frame) blocks
    # keep only the rows that hold a pixel, with an empty row wherever a run of rows breaks
    blk_y = np.flatnonzero(masks.any(axis=2))  # block * H + y
    out: dict[str, list[list[Blob]]] = {name: [[] for _ in range(T)] for name, _, _ in layers}
    if blk_y.size == 0:
        return out
    rows = blk_y + blk_y // H  # the same row, numbered with an empty row after each block
    brk = np.flatnonzero(np.diff(rows) != 1) + 1
    idx = np.insert(rows, brk, H)  # row H is an empty row
    src = np.insert(blk_y, brk, -1)
    compact = masks.reshape(-1, W)[src].view(np.uint8)
    compact[src < 0] = 0
    n, lab, stats, cents = cv2.connectedComponentsWithStats(compact, connectivity=8)
    if n <= 1:
        return out
    on = np.flatnonzero(compact)  # only the masks' pixels: the sums below stay cheap
    ids = lab.ravel()[on]
    crow, x_on = np.divmod(on, W)
    block, y_on = np.divmod(idx[crow], H + 1)
    px = frames[block % T, y_on, x_on]
    sums = np.stack([np.bincount(ids, weights=px[:, c], minlength=n) for c in range(3)], -1)
    # centroid rows within each frame, summed exactly (as a single-frame labelling would)
    ysum = np.bincount(ids, weights=y_on.astype(np.float64), minlength=n)
    floor = min_area(H)
    # plain Python numbers: the per-component loop below is the hot path of a critic
    st, cx, mean, ys, rows_of = stats.tolist(), cents[:, 0].tolist(), (sums / np.maximum(
        stats[:, 4:5], 1)).tolist(), ysum.tolist(), idx.tolist()
    for k in range(1, n):
        x, y, w, h, area = st[k]
        blk, yk = divmod(rows_of[y], H + 1)
        li, t = divmod(blk, T)
        name, min_side, _ = layers[li]
        if area < floor or min(w, h) < min_side:
            out[name][t].append(Blob(name, area, -1.0, -1.0, x, yk, x + w - 1, yk + h - 1, (0.0, 0.0, 0.0)))
            continue
        m = mean[k]
        out[name][t].append(Blob(name, area, cx[k] + 0.5, ys[k] / area + 0.5, x, yk, x + w - 1, yk + h - 1,
                                 (m[0], m[1], m[2])))
    return out


def perceive_clip(frames: np.ndarray, known: dict[str, str] | None = None,
                  scenes: tuple[int, ...] = (0, -1)) -> list[Percept]:
    """:func:`perceive` for every frame of a clip (T×H×W×3) in one pass, several times
    faster than frame by frame. Only the frames in ``scenes`` get a scene (the others'
    ``scene`` is ``None``: a critic tracks components there, not object states)."""
    if frames.ndim != 4 or frames.shape[3] != 3:
        raise ValueError(f"expected a T×H×W×3 clip, got shape {frames.shape}")
    T, H, W = frames.shape[:3]
    size = H
    labels, coloured, hue = (a.reshape(T, H, W) for a in _classify(frames.reshape(T * H, W, 3)))
    unk = coloured & (labels < 0)
    counts = cv2.calcHist([labels.reshape(T * H, W).view(np.uint8)], [0], None, [256], [0, 256]).ravel()
    present = np.flatnonzero(counts[:len(_COLOR_NAMES)])  # label -1 is bin 255
    layers = [(_COLOR_NAMES[ci], max(2, size // 32), labels == ci) for ci in present]
    if unk.any():
        layers.append(("unknown", 2, unk))
    comps = _components(frames, layers)
    blobs: list[dict[str, list[Blob]]] = [{} for _ in range(T)]
    small: list[dict[str, int]] = [{} for _ in range(T)]
    unnamed: list[list[Blob]] = [[] for _ in range(T)]
    for name, per_frame in comps.items():
        for t, bl in enumerate(per_frame):
            keep = [b for b in bl if b.cx >= 0]
            if name == "unknown":
                unnamed[t] = keep
                continue
            noise = sum(b.area for b in bl if b.cx < 0)
            if noise:
                small[t][name] = noise
            if keep:
                blobs[t][name] = sorted(keep, key=lambda b: -b.area)
    want = {t % T for t in scenes}
    out = []
    for t in range(T):
        if t in want:
            scene, main, dups = _read_scene(blobs[t], known, size)
        else:
            main = {c: bl[0] for c, bl in blobs[t].items()}
            dups = [b for bl in blobs[t].values() for b in bl[1:] if b.area >= dup_area(size)]
            scene = None
        out.append(Percept(scene=scene, size=size, blobs=main, duplicates=dups, small=small[t],
                           all_blobs=blobs[t], labels=labels[t], unnamed=unnamed[t], hue=hue[t]))
    return out


def perceive(frame: np.ndarray, known: dict[str, str] | None = None) -> Percept:
    """Read object states off ``frame`` (H×W×3 uint8).

    ``known`` maps colours to kinds (from the memory's registry); colours not in it are
    classified from shape.
    """
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 frame, got shape {frame.shape}")
    return perceive_clip(frame[None], known=known, scenes=(0,))[0]


def _read_scene(blobs: dict[str, list[Blob]], known: dict[str, str] | None,
                size: int) -> tuple[Scene | None, dict[str, Blob], list[Blob]]:
    """Object states from the components of one frame: kinds, containment, stacking, anchors."""
    main: dict[str, Blob] = {}
    dups: list[Blob] = []
    for color, bl in blobs.items():
        main[color] = bl[0]
        dups += [b for b in bl[1:] if b.area >= dup_area(size)]
    known = known or {}
    is_bowl = {c: known.get(c) == "bowl" or (c not in known and max(b.w, b.h) / size >= 0.19)
               for c, b in main.items()}
    bowls = [c for c in main if is_bowl[c]]
    inn: dict[str, str] = {}
    for c, b in main.items():
        if is_bowl[c]:
            continue
        for bc in bowls:
            if math.hypot((b.cx - main[bc].cx) / size, (b.cy - main[bc].cy) / size) < BOWL_INNER_R:
                inn[c] = bc
                break
    # A piece with another piece sitting right on its top edge is the visible part of a
    # cube under a cube (only cubes stack), and so is the one on top.
    stacked: set[str] = set()
    loose = [c for c in main if not is_bowl[c] and c not in inn]
    for a in loose:
        for b in loose:
            A, B = main[a], main[b]
            if a != b and abs(A.cx - B.cx) < 0.04 * size and abs(A.y1 + 1 - B.y0) <= 1.5 \
                    and A.y0 < B.y0:
                stacked |= {a, b}
    kinds = {c: known.get(c) or ("bowl" if is_bowl[c] else "cube" if c in stacked else classify_kind(
        b, size, IN_BOWL_SCALE if c in inn else 1.0)) for c, b in main.items()}
    # Anchor estimates in table units.
    est: dict[str, list[float]] = {}
    for c, b in main.items():
        x = b.cx / size
        if kinds[c] == "cube":
            y = (b.y1 + 1) / size - CUBE_HALF * (IN_BOWL_SCALE if c in inn else 1.0)
        else:
            y = b.cy / size
        est[c] = [x, y]
    on: dict[str, str] = {}
    cubes = [c for c in main if kinds[c] == "cube" and c not in inn]
    for a in cubes:  # a is on b when drawn one level above b at the same place
        best = None
        for b in cubes:
            if a == b:
                continue
            dx = abs(est[a][0] - est[b][0])
            dy = abs(est[a][1] - (est[b][1] - STACK_DY))
            if dx < 0.04 and dy < 0.03 and (best is None or dx + dy < best[0]):
                best = (dx + dy, b)
        if best:
            on[a] = best[1]
    # Break accidental cycles and resolve anchors down the stack.
    for a in list(on):
        seen, cur = {a}, on[a]
        while cur in on:
            if cur in seen:
                del on[a]
                break
            seen.add(cur)
            cur = on[cur]
    taken: dict[str, str] = {}
    for a, b in sorted(on.items(), key=lambda kv: est[kv[0]][1]):
        if b in taken:  # two cubes on one: keep the closer
            continue
        taken[b] = a
    on = {a: b for b, a in taken.items()}

    def base(c: str) -> str:
        while c in on:
            c = on[c]
        return c

    objects = []
    for c in sorted(main, key=_COLOR_NAMES.index):
        x, y = est[base(c)]
        slot = None
        if c in inn:
            bx, by = main[inn[c]].cx / size, main[inn[c]].cy / size
            x, y = est[c]
            y = main[c].cy / size
            d = [math.hypot(x - bx - dx, y - by - dy) for dx, dy in BOWL_SLOTS]
            slot = d.index(min(d))  # the first of equals, as argmin
        objects.append(SceneObject(kind=kinds[c], color=c, x=min(max(float(x), 0.0), 1.0),
                                   y=min(max(float(y), 0.0), 1.0), on=f"{on[c]}_cube" if c in on else None,
                                   **({"in": f"{inn[c]}_bowl"} if c in inn else {}), slot=slot))
    # what is seen need not be physically tidy (a generator may overfill a bowl): no
    # capacity/slot/tower checks on perceived scenes
    scene = Scene.model_validate({"objects": objects}, context={"perceived": True}) if objects else None
    return scene, main, dups


def foreground_near(frame: np.ndarray, x: float, y: float, r: float, labels: np.ndarray | None = None,
                    own: str | None = None) -> tuple[int, tuple[float, float, float]]:
    """Pixels around table point ``x, y`` (radius ``r``) that are neither table, shadow,
    gripper nor another named colour: their count and mean colour. Tells an object whose
    colour drifted out of the palette from one that vanished."""
    size = frame.shape[0]
    x0, x1 = max(0, int((x - r) * size)), min(size, int(np.ceil((x + r) * size)) + 1)
    y0, y1 = max(0, int((y - r) * size)), min(size, int(np.ceil((y + r) * size)) + 1)
    if x1 <= x0 or y1 <= y0:
        return 0, (0.0, 0.0, 0.0)
    patch = frame[y0:y1, x0:x1]
    ys, xs = np.mgrid[y0:y1, x0:x1]
    near = (xs + 0.5 - x * size) ** 2 + (ys + 0.5 - y * size) ** 2 <= (r * size) ** 2
    diff = np.abs(patch.astype(np.int16) - np.asarray(TABLE_RGB, np.int16)).sum(-1)
    _, s, v = _hsv(patch)
    fg = near & (diff > 90) & (v > 0.33) & ~((s < 0.25) & (v < 0.5))
    if labels is not None:
        lab = labels[y0:y1, x0:x1]
        named = lab >= 0
        if own is not None:
            named &= lab != _COLOR_NAMES.index(own)
        fg &= ~named
    n = int(fg.sum())
    if n == 0:
        return 0, (0.0, 0.0, 0.0)
    m = patch[fg].reshape(-1, 3).mean(0)
    return n, (float(m[0]), float(m[1]), float(m[2]))


def expected_area(kind: str, size: int, scale: float = 1.0) -> float:
    px = size
    if kind == "cube":
        return (2 * CUBE_HALF * scale * px) ** 2
    if kind == "ball":
        return math.pi * (BALL_R * scale * px) ** 2
    return math.pi * ((0.13 * px) ** 2 - (0.09 * px) ** 2)
