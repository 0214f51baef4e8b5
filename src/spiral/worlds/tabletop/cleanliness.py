"""Residue ("ghost") detection from pixels: did a moved object leave a trace where it stood?

A learned world model that moves an object must paint the background it reveals; when it
paints a smudge (a faded copy of the object, a grey blot) instead of clean table, the clip
shows an object's ghost. :func:`residue` finds it in the last frame of a clip, from pixels
only (the critic never sees states):

* **where the objects stood**: the pixels of the moving objects' colours in the first
  frame, grown by a pixel (their soft edges);
* **where nothing stands now**: minus the objects of the last frame (the caller's mask:
  the perception critic gives each object's box, a bowl's ring), grown by a pixel (an
  object's soft edges blend into the table; given the frame's colour labels, a pixel next to
  an object that is a mix of its colour and clean background counts as its edge instead); a faded piece too small to be an object is not one;
* **not clean**: a pixel there whose colour is further than ``tol`` levels (max over the
  channels) from every clean background colour — the table, a bowl's inside — is residue.

It is residue when at least ``min_px`` pixels are (scaled with the frame area from 64 px).

Next to a bowl that stays, the background is that bowl: :func:`fit_bowl` finds its exact
render from its own pixels, and the pixels where a mover stood are compared with it (a
notch in its rim painted table colour is clean to the colour test, not to this one);
:func:`restore_bowls` is the same fit used by a generator to repaint them.

:func:`faithful` checks the other place a moved object leaves: the cube it stood on, which
the model must repaint in that cube's own colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spiral.worlds.tabletop.scene import BOWL_INSIDE_RGB, PALETTE, TABLE_RGB

CLEAN_RGB: tuple[tuple[int, int, int], ...] = (TABLE_RGB, BOWL_INSIDE_RGB)
TORN_PIECE = 0.2  # a second piece this share of the expected area: the object is in pieces
TORN_AREA = 0.6  # the main piece under this share of the expected area: it lost a large share
SHAPE_ASPECT = 1.6  # bounding box sides further apart than this: stretched
SHAPE_AREA = 1.7  # the main piece over this multiple of the expected area: smeared or grown
TOL = 16  # levels: how far from a clean colour a pixel may be
MIN_PX = 6  # residue pixels (64-px frame) that make residue


@dataclass
class Residue:
    """What :func:`residue` found: the residue pixels and where (their centre, table units)."""

    pixels: int
    mask: np.ndarray
    center: tuple[float, float] | None

    def __bool__(self) -> bool:
        return self.pixels > 0


def grow(mask: np.ndarray, r: int = 1) -> np.ndarray:
    """``mask`` grown by ``r`` pixels (4-neighbourhood steps)."""
    m = mask.copy()
    for _ in range(r):
        n = m.copy()
        n[1:] |= m[:-1]
        n[:-1] |= m[1:]
        n[:, 1:] |= m[:, :-1]
        n[:, :-1] |= m[:, 1:]
        m = n
    return m


def unclean(frame: np.ndarray, tol: float = TOL, colours=CLEAN_RGB) -> np.ndarray:
    """Pixels further than ``tol`` levels from every clean background colour (``colours``)."""
    f = frame.astype(np.int16)
    d = np.min([np.abs(f - np.asarray(c, np.int16)).max(-1) for c in colours], axis=0)
    return d > tol


def _segment_dist(px: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean RGB distance of pixels ``px`` (N×3) from the segment ``a``–``b``."""
    ab = b - a
    t = np.clip(((px - a) @ ab) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    return np.linalg.norm(px - (a + t[:, None] * ab), axis=1)


def _blend_clean(last: np.ndarray, cand: np.ndarray, labels: np.ndarray, tol: float) -> np.ndarray:
    """Of the candidate pixels, those that are a soft edge: a mix of clean background and the
    colour of an object next to them, or of two objects next to them (antialiasing)."""
    from spiral.worlds.tabletop.render import FRONT_SHADE
    from spiral.worlds.tabletop.scene import PALETTE

    names = list(PALETTE)
    ys, xs = np.nonzero(cand)
    ok = np.zeros(len(ys), bool)
    if not len(ys):
        return cand
    px = last[ys, xs].astype(np.float64)
    near: dict[int, np.ndarray] = {}
    for c in np.unique(labels[labels >= 0]):
        m = grow(labels == c, 1)
        near[int(c)] = m[ys, xs]
    refs = [np.asarray(c, np.float64) for c in CLEAN_RGB]

    def tones(c: int) -> list[np.ndarray]:
        rgb = np.asarray(PALETTE[names[c]], np.float64)
        return [rgb, np.floor(rgb * FRONT_SHADE)]

    for c, m in near.items():
        for a in tones(c):
            for b in refs:
                ok |= m & (_segment_dist(px, a, b) <= tol)
            for c2, m2 in near.items():
                if c2 > c:
                    for b in tones(c2):
                        ok |= m & m2 & (_segment_dist(px, a, b) <= tol)
    out = np.zeros_like(cand)
    out[ys[ok], xs[ok]] = True
    return out


def residue(last: np.ndarray, stood: np.ndarray, objects_now: np.ndarray, tol: float = TOL,
            min_px: float = MIN_PX, labels: np.ndarray | None = None, expected: np.ndarray | None = None,
            known: np.ndarray | None = None, table_only: bool = False) -> Residue:
    """Residue in ``last`` (H×W×3 uint8) where the moved objects ``stood`` (H×W bool: their
    pixels in the first frame) and no object stands now (``objects_now``: H×W bool, the
    objects' pixels in ``last``). Empty when fewer than ``min_px`` pixels (at 64 px) are not
    clean background. With ``labels`` (per-pixel palette index, -1 for none), a pixel next
    to an object that is a mix of it and clean background (its soft edge) is clean, and the
    objects are not grown; without, they are grown by a pixel. Where ``known`` (H×W bool) the
    background is not plain table but ``expected`` (H×W×3: a still bowl, fitted with
    :func:`fit_bowl`), and a pixel further than ``tol`` from it is residue (a notch in its
    rim, a ghost on its inside). ``table_only``: away from ``known`` only the table is clean
    background (a bowl's dark inside left on the table where a moved bowl stood is residue;
    the caller then counts a moving bowl's inside at the end in ``objects_now``)."""
    size = last.shape[0]
    region = grow(stood, 1) & ~(objects_now if labels is not None else grow(objects_now, 1))
    bad = region & unclean(last, tol, (TABLE_RGB,) if table_only else CLEAN_RGB)
    bowls = known is not None and expected is not None
    if bowls:  # judged against the bowls' render below, not against clean colours
        bad &= ~known
    if labels is not None:
        bad &= ~_blend_clean(last, bad, labels, tol)
    if bowls:
        off = np.abs(last.astype(np.float64) - expected).max(-1) > tol
        bad |= grow(stood, 2) & ~objects_now & known & off
    n = int(bad.sum())
    if n < min_px * (size / 64.0) ** 2:
        return Residue(0, np.zeros_like(bad), None)
    ys, xs = np.nonzero(bad)
    return Residue(n, bad, (float(xs.mean() + 0.5) / size, float(ys.mean() + 0.5) / size))


FIT_TOL = 4  # levels: a pixel a fitted bowl explains
FIT_REACH = 2.0  # pixels: how far from its component's box centre a bowl's centre is searched


def bowl_patch(centers: np.ndarray, rgb, size: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """How the renderer draws a lone bowl of colour ``rgb`` on the table, for each of
    ``centers`` (K×2, table units), over the window rows ``y0:y1`` and columns ``x0:x1`` of a
    ``size``-px frame: K×h×w×3 float (the supersampled coverage of its rim and its inside)."""
    from spiral.worlds.tabletop.render import _ss
    from spiral.worlds.tabletop.scene import BOWL_INNER_R, BOWL_R

    ss = _ss(size)
    S = size * ss
    ys = (np.arange(y0 * ss, y1 * ss) + 0.5) / S
    xs = (np.arange(x0 * ss, x1 * ss) + 0.5) / S
    c = np.asarray(centers, np.float64).reshape(-1, 2)
    d2 = (xs[None, None, :] - c[:, 0, None, None]) ** 2 + (ys[None, :, None] - c[:, 1, None, None]) ** 2
    h, w, n = y1 - y0, x1 - x0, float(ss * ss)
    # sub-samples counted in integers (a bool mean goes through float64 sums, ~2x slower): same values
    outer = (d2 <= BOWL_R * BOWL_R).reshape(len(c), h, ss, w, ss).sum(axis=(2, 4), dtype=np.int32) / n
    inner = (d2 <= BOWL_INNER_R * BOWL_INNER_R).reshape(len(c), h, ss, w, ss).sum(axis=(2, 4), dtype=np.int32) / n
    table, inside, rim = (np.asarray(v, np.float64) for v in (TABLE_RGB, BOWL_INSIDE_RGB, rgb))
    out = (table * (1 - outer)[..., None] + rim * (outer - inner)[..., None] + inside * inner[..., None])
    return np.clip(np.rint(out), 0, 255)


def fit_bowl(frame: np.ndarray, box: tuple[int, int, int, int], rgb, ignore: np.ndarray | None = None
             ) -> tuple[tuple[float, float], np.ndarray, tuple[int, int, int, int]]:
    """Where a bowl whose component has the bounding box ``box`` (x0, y0, x1, y1 inclusive,
    pixels) is drawn: the centre (table units) whose exact render explains most pixels of
    its window in ``frame`` (``ignore``: H×W bool, pixels not to fit on: where something else
    stands or stood), searched coarse to fine around the box centre. Returns the centre, the
    render there (h×w×3) and the window (y0, y1, x0, x1)."""
    from spiral.worlds.tabletop.scene import BOWL_R

    size = frame.shape[0]
    bx0, by0, bx1, by1 = box
    cx, cy = (bx0 + bx1 + 1) / 2.0, (by0 + by1 + 1) / 2.0
    r = BOWL_R * size + FIT_REACH + 1
    y0, y1 = max(0, int(cy - r)), min(size, int(np.ceil(cy + r)) + 1)
    x0, x1 = max(0, int(cx - r)), min(size, int(np.ceil(cx + r)) + 1)
    win = frame[y0:y1, x0:x1].astype(np.float64)
    use = np.ones(win.shape[:2], bool) if ignore is None else ~ignore[y0:y1, x0:x1]
    best = (cx / size, cy / size)
    # coarse: the most pixels explained; fine: the least (clipped) squared error on them
    for step, reach, fine in ((0.5, FIT_REACH, False), (0.125, 0.5, False), (1 / 32, 0.125, True),
                              (1 / 128, 1 / 32, True)):
        offs = np.arange(-reach, reach + 1e-9, step)
        cands = np.array([(best[0] + dx / size, best[1] + dy / size) for dy in offs for dx in offs])
        pred = bowl_patch(cands, rgb, size, y0, y1, x0, x1)
        err = np.abs(pred - win[None]).max(-1)
        if fine:
            score = -(np.minimum(err, 48.0) ** 2 * use).sum(axis=(1, 2))
        else:
            score = ((err <= FIT_TOL) & use).sum(axis=(1, 2)) - 1e-6 * (np.minimum(err, 64) * use).sum(axis=(1, 2))
        best = tuple(cands[int(np.argmax(score))])
    return best, bowl_patch(np.array([best]), rgb, size, y0, y1, x0, x1)[0], (y0, y1, x0, x1)


def restore_bowls(frame: np.ndarray, fill: np.ndarray, hole: np.ndarray, union: np.ndarray) -> np.ndarray:
    """A generator's revealed background with the still bowls it passes completed: ``frame``
    (the conditioning frame, the movers in it), ``fill`` (what the generator paints where they
    stood), ``hole`` (the revealed pixels), ``union`` (the movers' pixels). A bowl whose ring
    or inside the hole reaches is fitted to its own pixels in ``frame`` (:func:`fit_bowl`,
    the movers left out), and each hole pixel its drawn disc covers takes the bowl's render
    there, unless the fill shows another object's colour (something that stays, in the
    bowl or in front of it). Pixels only: the generator never sees a state. A notch painted
    table colour in a ring, or a ghost on a bowl's inside, is what it repairs."""
    from spiral.worlds.tabletop.perception import _COLOR_NAMES, classify_pixels, min_area, perceive

    if not hole.any():
        return fill
    p = perceive(frame)
    if p.scene is None:
        return fill
    near = grow(hole, 2)
    out = fill.copy()
    fill_lab = None
    for o in p.scene.objects:
        if o.kind != "bowl":
            continue
        for b in p.all_blobs.get(o.color, []):
            if b.area < min_area(frame.shape[0]):
                continue
            box = (slice(b.y0, b.y1 + 1), slice(b.x0, b.x1 + 1))
            ring = p.labels[box] == _COLOR_NAMES.index(o.color)
            if not near[box].any() or (union[box] & ring).sum() > 0.3 * ring.sum():
                continue  # not next to the hole, or the bowl is one of what moves
            _, patch, (y0, y1, x0, x1) = fit_bowl(frame, (b.x0, b.y0, b.x1, b.y1), PALETTE[o.color],
                                                  grow(union, 2) | (p.labels >= 0) & (p.labels != _COLOR_NAMES.index(o.color)))
            drawn = np.abs(patch - np.asarray(TABLE_RGB, np.float64)).max(-1) > 0
            if fill_lab is None:
                fill_lab = classify_pixels(fill)
            lab = fill_lab[y0:y1, x0:x1]
            other = (lab >= 0) & (lab != _COLOR_NAMES.index(o.color))
            m = hole[y0:y1, x0:x1] & drawn & ~other
            out[y0:y1, x0:x1][m] = patch[m].astype(np.uint8)
            break
    return out


FAITHFUL_TOL = 14  # levels: a pixel that shows a cube's own lit or shaded colour


def faithful(frame: np.ndarray, blob, color: str, tol: float = FAITHFUL_TOL) -> int:
    """Pixels in the bounding box of a cube's component ``blob`` that show its own colours
    (its lit top or its shaded front, each channel within ``tol`` levels): a cube the model
    repainted over (a tint, a muddy fill, a ghost drawn across it) keeps few."""
    from spiral.worlds.tabletop.render import FRONT_SHADE

    px = frame[blob.y0:blob.y1 + 1, blob.x0:blob.x1 + 1].astype(np.int16)
    rgb = np.asarray(PALETTE[color], np.int16)
    shade = np.floor(rgb * FRONT_SHADE).astype(np.int16)
    return int(((np.abs(px - rgb).max(-1) <= tol) | (np.abs(px - shade).max(-1) <= tol)).sum())


def _drawn_boxes(scene) -> dict[str, tuple[float, float, float, float]]:
    """Where each object of a (perceived) scene is drawn, in table units: a cube in a tower
    is drawn higher, an object in a bowl smaller."""
    from spiral.worlds.tabletop.scene import BALL_R, BOWL_R, CUBE_HALF, IN_BOWL_SCALE, STACK_DY

    out = {}
    for o in scene.objects:
        h = {"cube": CUBE_HALF, "ball": BALL_R, "bowl": BOWL_R}[o.kind] * (IN_BOWL_SCALE if o.in_ else 1.0)
        cy = o.y - scene.level(o.id) * STACK_DY
        out[o.id] = (o.x - h, cy - h, o.x + h, cy + h)
    return out


def _occluded(oid: str, scene, boxes: dict[str, tuple[float, float, float, float]]) -> bool:
    """Could another object hide part of ``oid`` where they are (its own bowl, which it
    lies in, and the cubes of its own tower excepted)?"""
    a = boxes[oid]
    me = scene.get(oid)
    for o in scene.objects:
        if o.id == oid or o.id == me.in_ or o.in_ == oid or o.on == oid or me.on == o.id:
            continue
        b = boxes[o.id]
        if a[0] < b[2] + 0.01 and b[0] < a[2] + 0.01 and a[1] < b[3] + 0.01 and b[1] < a[3] + 0.01:
            return True
    return False


def shape_problems(frame, registry: list[dict[str, Any]], only: set[str] | None = None) -> tuple[list[str], list[str]]:
    """(torn, shape) problems of the objects at rest in one frame (``only``: of those ids):
    an object in pieces (a second piece of its colour at least ``TORN_PIECE`` of its expected
    area) or with its main piece under ``TORN_AREA`` of it (torn); a cube or ball that reads
    as another kind, is stretched beyond ``SHAPE_ASPECT`` : 1, or covers over ``SHAPE_AREA`` × its
    area (shape). Objects partly hidden where they stand (under a cube, behind a tower, side by
    side in a bowl) are not judged. The strict-success metric and the perception critic use it."""
    from spiral.worlds.tabletop.perception import classify_kind, expected_area, perceive
    from spiral.worlds.tabletop.scene import IN_BOWL_SCALE

    known = {o["color"]: o["kind"] for o in registry if o.get("color")}
    p = perceive(frame, known=known or None)
    if p.scene is None:
        return [], []
    size = p.size
    covered = {o.on for o in p.scene.objects if o.on}
    inside = {o.id: o.in_ for o in p.scene.objects}
    boxes = _drawn_boxes(p.scene)
    torn, shape = [], []
    for o in p.scene.objects:
        if o.color not in known or o.id in covered or _occluded(o.id, p.scene, boxes) \
                or (only is not None and o.id not in only):
            continue  # partly hidden where it is (under a cube, behind a tower): nothing to judge
        scale = IN_BOWL_SCALE if inside.get(o.id) else 1.0
        want = expected_area(o.kind, size, scale)
        pieces = p.all_blobs.get(o.color, [])
        if not pieces:
            continue  # vanished: the permanence check's
        main = pieces[0]
        big = [b for b in pieces[1:] if b.area >= TORN_PIECE * want]
        if big:
            torn.append(f"{o.id} is in {1 + len(big)} pieces")
        elif main.area < TORN_AREA * want:
            torn.append(f"{o.id} shows {main.area / want:.0%} of its area")
        if o.kind == "bowl":
            continue
        aspect = max(main.w, main.h) / max(1, min(main.w, main.h))
        if classify_kind(main, size, scale) != o.kind and main.area >= TORN_AREA * want and not inside.get(o.id):
            shape.append(f"{o.id} looks like a {classify_kind(main, size, scale)}")
        elif aspect > SHAPE_ASPECT and main.area >= TORN_AREA * want:
            shape.append(f"{o.id} is stretched {aspect:.1f} : 1")
        elif main.area > SHAPE_AREA * want:
            shape.append(f"{o.id} covers {main.area / want:.1f}× its area")
    return torn, shape
