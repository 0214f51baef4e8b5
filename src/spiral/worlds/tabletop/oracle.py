"""An oracle that labels a generated clip from the simulator's true states.

It knows the exact start scene and sub-action, and reads the generated frames by
*analysis by synthesis*, never through :mod:`~spiral.worlds.tabletop.perception` (so it
can judge the perception critic): a layered model such as ``tiny-ti2v`` moves objects
with their exact pixels, so each object is found in a frame by its exact rendered colours
(the palette RGB of its lit face, the shaded front of a cube), within a few levels.

1. **Where each object is.** An object whose start pixels still show its colour stayed;
   otherwise its colour's pixels in the last frame, centroid against its start centroid,
   give its displacement. A moved object lands *on* a clear cube (its top position), *in*
   a bowl (inside the inner rim) or on the table; what it carries moves with it. That is
   the inferred end state.
2. **What is unexplained.** The inferred state is rendered with the renderer and diffed
   against the last frame. Unexplained pixels where the moved objects stood (and no
   object stands now) are **residue** (a ghost); unexplained pixels of an object's colour
   away from it are a **duplicate** or a **torn** piece; a colour with too few pixels
   left **vanished** (at the end, or for two or more frames in between while nothing the
   step moves covers it); a colour of no object is a **new object**. What the clip's first
   frame already shows wrong (a chain's earlier step) is not charged to it.
3. **Labels.** ``pass``, or the failure type of the first problem in
   :data:`PRIORITY` order (as the critics report one type), plus a ``residue`` flag:

   * ``missing_action`` / ``incomplete_action``: the sub-action's post-conditions
     (:func:`judged_conditions`) fail on the inferred state and the subject did not move /
     moved;
   * ``physical_violation``: an object the step should not move moved, vanished, was torn
     or cut off (a cube the step uncovers painted over), or residue was left;
   * ``hallucinated_object``: a second copy or a new object;
   * ``sudden_switch``: the subject jumps between two frames;
   * ``identity_drift``: an object's colour is gone while something of another colour
     stands where it is.

``label_clip`` is the entry point. Thresholds are in pixels of a 64-px frame unless noted;
larger frames are scaled.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spiral.core.types import C, Condition, SubAction
from spiral.worlds.tabletop.actions import _moving_with, apply
from spiral.worlds.tabletop.cleanliness import grow  # pixel geometry only: no perception
from spiral.worlds.tabletop.predicates import holds
from spiral.worlds.tabletop.render import FRONT_SHADE, render_items, scene_items
from spiral.worlds.tabletop.scene import (
    BOWL_INNER_R,
    BOWL_INSIDE_RGB,
    BOWL_SLOTS,
    PALETTE,
    STACK_DY,
    Scene,
    footprint,
)

PRIORITY = ("hallucinated_object", "identity_drift", "vanished", "sudden_switch", "missing_action",
            "incomplete_action", "physical_violation")

COLOR_TOL = 14  # max channel difference of a pixel that shows an object's exact colour
DIFF = 24  # max channel difference of an unexplained pixel
RESIDUE_DIFF = 16  # ... of a residue pixel (a fainter trace, up to ~10 levels, is not counted)
RESIDUE_PX = 6  # unexplained pixels where an object stood that make residue (64-px frame)
STAY_SHARE = 0.8  # share of an object's pixels now within its start footprint: it stayed
MOVED = 0.03  # table units: displacement that counts as moving
STILL_TOL = 0.04  # table units: how far an object that should stay may drift
PIECE_PX = 5  # an unexplained component of an object's colour this large is a piece/copy (64 px)
VANISH_SHARE = 0.4  # fewer of an object's expected pixels than this: it vanished
WHOLE_SHARE = 0.7  # fewer of a still object's expected pixels than this (loosely its colour): cut off
LOOSE = 40.0  # RGB distance from an object's own colours that still shows it (a tint, not a repaint)
GONE_SHARE = 0.15  # fewer of an object's first-frame pixels than this in a frame between: it is gone there
GONE_FRAMES = 2  # ... for at least this many frames in a row: it vanished (a one-frame dropout is flicker)
JUMP = 0.1  # table units: a per-frame step of the subject this large ...
JUMP_RATIO = 2.5  # ... and this many times the next largest is a jump


@dataclass
class OracleLabel:
    """The oracle's reading of one clip."""

    label: str  # "pass" or a failure type
    residue: bool = False
    problems: list[tuple[str, str]] = field(default_factory=list)  # (key in PRIORITY, detail)
    end_state: Scene | None = None  # inferred from the last frame
    residue_px: int = 0
    unmet: list[str] = field(default_factory=list)
    residue_mask: np.ndarray | None = field(default=None, repr=False)  # H×W bool

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "residue": self.residue, "residue_px": self.residue_px,
                "problems": [f"{k}: {d}" for k, d in self.problems], "unmet": self.unmet}


def judged_conditions(scene: Scene, action: SubAction) -> list[Condition]:
    """The post-conditions the oracle judges: the sub-action's, except that a move to the
    table with no region named (a clearing step) needs the subject on the table and clear
    of the others, not at the hidden spot the planner picked."""
    post = list(action.postconditions)
    if action.kind == "pick_place" and not action.params.get("region"):
        post = [c for c in post if c.pred not in ("at", "on_table")]
        post.append(C("moved_off", action.subject))  # checked by _holds: on the table, clear of the others
    return post


def _holds(cond: Condition, start: Scene, end: Scene) -> bool:
    if cond.pred == "moved_off":
        a0, a1 = start.get(cond.args[0]), end.get(cond.args[0])
        moved = math.hypot(a1.x - a0.x, a1.y - a0.y) >= 2 * MOVED or a0.on is not None or a0.in_ is not None
        r = footprint(a1.kind)
        clear = all(math.hypot(a1.x - o.x, a1.y - o.y) >= 0.8 * (r + footprint(o.kind))
                    for o in end.objects if o.id != a1.id and o.on is None and o.in_ is None)
        return moved and clear and a1.on is None and a1.in_ is None
    return holds(cond, end)


def _colour_masks(frame: np.ndarray, color: str) -> np.ndarray:
    f = frame.astype(np.int16)
    rgb = np.asarray(PALETTE[color], np.int16)
    shade = np.asarray([int(c * FRONT_SHADE) for c in PALETTE[color]], np.int16)
    return (np.abs(f - rgb).max(-1) <= COLOR_TOL) | (np.abs(f - shade).max(-1) <= COLOR_TOL)


def _loose_masks(frame: np.ndarray, color: str) -> np.ndarray:
    """Pixels within ``LOOSE`` (RGB distance) of a mix of an object's lit and shaded colour:
    a slight tint is still the object; a muddy repaint is not."""
    rgb = np.asarray(PALETTE[color], np.float64)
    shade = np.floor(rgb * FRONT_SHADE)
    px = frame.reshape(-1, 3).astype(np.float64)
    ab = shade - rgb
    t = np.clip(((px - rgb) @ ab) / float(ab @ ab), 0.0, 1.0)
    d = np.linalg.norm(px - (rgb + t[:, None] * ab), axis=1)
    return (d <= LOOSE).reshape(frame.shape[:2])


def _draw_xy(scene: Scene, oid: str) -> tuple[float, float]:
    o = scene.get(oid)
    return o.x, o.y - scene.level(oid) * STACK_DY


def _footprint(scene: Scene, ids: set[str], size: int, bg: Scene | None = None) -> np.ndarray:
    """Pixels where objects ``ids`` of ``scene`` show (their render minus the render without them)."""
    items = scene_items(scene)
    keep = [it for it, o in zip(items, scene.objects) if o.id not in ids]
    full = render_items(items, size)
    rest = render_items(keep, size)
    return np.abs(full.astype(np.int16) - rest.astype(np.int16)).max(-1) > 8


def _components(mask: np.ndarray, bridge: bool = False) -> list[np.ndarray]:
    """Connected pieces of ``mask``; with ``bridge``, pieces a pixel apart are one (a cube's lit
    top and shaded front, split by a blended row)."""
    import cv2

    n, lab = cv2.connectedComponents((grow(mask, 1) if bridge else mask).astype(np.uint8), connectivity=8)
    return [(lab == k) & mask for k in range(1, n)]


def _centroid(mask: np.ndarray, size: int) -> tuple[float, float] | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return (xs.mean() + 0.5) / size, (ys.mean() + 0.5) / size


def infer_state(start: Scene, frame: np.ndarray, action: SubAction | None = None) -> tuple[Scene, set[str]]:
    """The state the last ``frame`` shows, starting from the true ``start``: the objects that
    moved (with what they carry) are placed where their colours are now and snapped to a
    cube's top or a bowl's slot when they landed there (of several copies of an object, the
    one nearest ``action``'s exact result is it). Returns ``(state, moved ids)``."""
    size = frame.shape[0]
    exact = apply(start, action) if action is not None else start
    moved: dict[str, tuple[float, float]] = {}
    items = scene_items(start)
    for o, it in zip(start.objects, items):
        m0 = _colour_masks(render_items([it], size), o.color)  # all of it, as if nothing hid it
        m1 = _colour_masks(frame, o.color)
        if not m0.any() or not m1.any():
            continue  # unseen at the start, or nothing of it now (vanished: judged later)
        if (m1 & grow(m0, 1)).sum() >= STAY_SHARE * m1.sum():
            continue  # what shows of it is where it was (a cube stacked on it hides the rest)
        c0 = _centroid(m0, size)
        parts = [m for m in _components(m1, bridge=True) if m.sum() >= 0.3 * m0.sum()]
        if len(parts) > 1:  # a copy or a torn piece too: follow the one nearest the step's exact result
            ex, ey = _draw_xy(exact, o.id)
            m1 = min(parts, key=lambda m: math.dist(_centroid(m, size), (ex, ey)))
        c1 = _centroid(m1, size)
        d = (c1[0] - c0[0], c1[1] - c0[1])
        if math.hypot(*d) >= MOVED:
            moved[o.id] = d
    # a carried object moves with its carrier: keep the top-most carrier of each group
    leaders = [oid for oid in moved if not any(oid in _moving_with(start, m) and oid != m for m in moved)]
    end = start.copy_deep()
    moved_ids: set[str] = set().union(*(_moving_with(start, m) for m in leaders)) if leaders else set()
    for oid in leaders:
        group = moved_ids  # nothing lands on or in an object that moves itself
        dx, dy = moved[oid]
        x0, y0 = _draw_xy(start, oid)
        x, y = x0 + dx, y0 + dy  # where it is drawn now
        o = end.get(oid)
        o.on, o.in_, o.slot = None, None, None
        gx, gy = x, y
        if o.kind == "cube":  # on a clear cube that stays?
            for b in end.objects:
                if b.kind != "cube" or b.id in group or b.in_ is not None or end.above(b.id) is not None:
                    continue
                bx, by = b.x, b.y - (end.level(b.id) + 1) * STACK_DY
                if math.hypot(x - bx, y - by) < 0.045:
                    o.on, gx, gy = b.id, b.x, b.y
                    break
        if o.on is None and o.kind != "bowl":
            for b in end.objects:
                if b.kind != "bowl" or b.id in group or math.hypot(x - b.x, y - b.y) >= BOWL_INNER_R:
                    continue
                used = {c.slot for c in end.objects if c.in_ == b.id and c.id != oid}
                free = [s for s in range(len(BOWL_SLOTS)) if s not in used] or [0]
                s = min(free, key=lambda k: math.hypot(x - b.x - BOWL_SLOTS[k][0], y - b.y - BOWL_SLOTS[k][1]))
                o.in_, o.slot = b.id, s
                gx, gy = x, y  # where it is drawn (predicates read ``in``)
                break
        ddx, ddy = gx - start.get(oid).x, gy - start.get(oid).y
        carried = _moving_with(start, oid)
        for mid in carried:
            m = end.get(mid)
            if mid != oid:
                m.x, m.y = start.get(mid).x + ddx, start.get(mid).y + ddy
        o.x, o.y = gx, gy
        for mid in carried:
            m = end.get(mid)
            m.x, m.y = round(min(1.0, max(0.0, m.x)), 4), round(min(1.0, max(0.0, m.y)), 4)
    return end, moved_ids


def _gone_midway(start: Scene, frames: np.ndarray, movers: set[str]) -> list[tuple[str, list[int]]]:
    """Objects that are gone from ``GONE_FRAMES`` or more frames in a row between the first and
    the last: fewer than ``GONE_SHARE`` of their exact-colour pixels of the first frame, while
    nothing moving covers where they were last seen (a lifted object passing over them):
    ``(id, those frames)``. The last frame is judged by the end state."""
    T = len(frames)
    mover_colors = {start.get(m).color for m in movers}
    inside = np.asarray(BOWL_INSIDE_RGB, np.int16)
    carries_bowl = any(start.get(m).kind == "bowl" for m in movers)
    drawn: dict[tuple[int, str], np.ndarray] = {}  # (frame, mover colour or "inside"): computed once, when needed

    def cover(t: int, own: str) -> np.ndarray:
        """What the step's movers other than colour ``own`` draw in frame ``t``."""
        m = np.zeros(frames.shape[1:3], bool)
        for c in sorted(mover_colors - {own}) + (["inside"] if carries_bowl else []):
            if (t, c) not in drawn:  # a moving bowl hides what it passes over under its inside
                drawn[t, c] = (np.abs(frames[t].astype(np.int16) - inside).max(-1) <= COLOR_TOL if c == "inside"
                               else _loose_masks(frames[t], c))
            m |= drawn[t, c]
        return m

    out = []
    for o in start.objects:
        seen = _colour_masks(frames[0], o.color)
        n0 = int(seen.sum())
        if n0 < 4:
            continue
        gone = []
        for t in range(1, T - 1):
            now = _colour_masks(frames[t], o.color)
            if now.sum() >= GONE_SHARE * n0:
                if now.sum() >= VANISH_SHARE * n0:
                    seen = now
                continue
            if (cover(t, o.color) & seen).sum() >= 0.5 * seen.sum():
                continue  # hidden for a moment under what the step carries
            gone.append(t)
        longest = max(_runs(gone), key=len, default=[])
        if len(longest) >= GONE_FRAMES:
            out.append((o.id, longest))
    return out


def _runs(ts: list[int]):
    """Consecutive runs of the sorted frame indices ``ts``."""
    run: list[int] = []
    for t in ts:
        if run and t != run[-1] + 1:
            yield run
            run = []
        run.append(t)
    if run:
        yield run


def label_clip(start: Scene, action: SubAction, frames: np.ndarray) -> OracleLabel:
    """Label a generated clip of ``action`` from the true ``start`` state. The clip's first
    frame may differ from the exact render of ``start`` (a chain continued from generated
    frames): pixels already wrong there, away from the objects, are not charged to it."""
    size = frames.shape[1]
    k = size / 64.0
    last = frames[-1]
    exact0 = render_items(scene_items(start), size)
    base0 = frames[0]
    # pixels already wrong in the first frame (a chain's earlier residue) are not this clip's doing; the
    # objects' own edges are (what a moving object leaves of itself is this clip's residue)
    objects0 = grow(_footprint(start, {o.id for o in start.objects}, size), 1)
    inherited = grow(np.abs(base0.astype(np.int16) - exact0.astype(np.int16)).max(-1) > DIFF, 1) & ~objects0
    end, moved_ids = infer_state(start, last, action)
    problems: list[tuple[str, str]] = []
    movers = set()
    for m in action.moving():
        movers |= _moving_with(start, m)
    render_end = render_items(scene_items(end), size)
    diff = (np.abs(last.astype(np.int16) - render_end.astype(np.int16)).max(-1) > DIFF) & ~inherited

    # residue: unexplained pixels where the moved objects stood and no object stands now
    stood = grow(_footprint(start, moved_ids, size), 1) if moved_ids else np.zeros((size, size), bool)
    occupied_ids = {o.id for o in end.objects if o.kind != "bowl" or o.id in moved_ids}
    occupied = grow(_footprint(end, occupied_ids, size), 1)
    faint = (np.abs(last.astype(np.int16) - render_end.astype(np.int16)).max(-1) > RESIDUE_DIFF) & ~inherited
    ghost = faint & stood & ~occupied
    residue_px = int(ghost.sum())
    residue = residue_px >= RESIDUE_PX * k * k

    # objects: vanished, torn / duplicated, new colours
    uncovered = {start.get(m).on for m in movers if start.get(m).on} - movers
    end_items = dict(zip((o.id for o in end.objects), scene_items(end)))
    for o in start.objects:
        want0 = _colour_masks(exact0, o.color)
        if want0.sum() >= 4 and (_colour_masks(base0, o.color) & grow(want0, 2)).sum() < VANISH_SHARE * want0.sum():
            continue  # already gone or another colour in the first frame (a chain's earlier step): not this clip's
        want = _colour_masks(render_end, o.color)
        have = _colour_masks(last, o.color)
        if want.sum() >= 4 and (have & grow(want, 2)).sum() < VANISH_SHARE * want.sum():
            other = diff & grow(want, 1) & ~_colour_masks(last, o.color)
            if o.id in uncovered:  # the step uncovered it and the model painted it over
                problems.append(("physical_violation", f"{o.id} is cut off (painted over where it was uncovered)"))
            elif other.sum() >= 0.5 * want.sum():
                problems.append(("identity_drift", f"{o.id} shows another colour"))
            else:
                problems.append(("vanished", f"{o.id} vanished"))
            continue
        if o.id not in moved_ids and (_loose_masks(last, o.color) & grow(want, 1)).sum() < WHOLE_SHARE * want.sum():
            problems.append(("physical_violation", f"{o.id} is cut off (part of it is painted over)"))
        extra = have & ~grow(want, 2) & ~inherited
        whole = int(_colour_masks(render_items([end_items[o.id]], size), o.color).sum())  # all of it, unhidden
        for comp in _components(extra):
            if comp.sum() >= PIECE_PX * k * k:
                key = "hallucinated_object" if comp.sum() >= 0.5 * max(whole, 1) else "physical_violation"
                what = "second" if key == "hallucinated_object" else "torn piece of"
                problems.append((key, f"{what} {o.id}"))
                break
    used = {o.color for o in start.objects}
    for c in PALETTE:
        if c in used:
            continue
        for comp in _components(_colour_masks(last, c) & ~inherited):
            if comp.sum() >= 3 * PIECE_PX * k * k:
                problems.append(("hallucinated_object", f"new {c} object"))
                break

    # permanence over the whole clip, not only at its end: an object gone for a while
    for oid, ts in _gone_midway(start, frames, movers):
        problems.append(("vanished", f"{oid} not visible in frames {ts[0]}..{ts[-1]}"))

    # stillness: objects the step should not move
    for oid in sorted(moved_ids - movers):
        o0, o1 = start.get(oid), end.get(oid)
        d = math.hypot(o1.x - o0.x, o1.y - o0.y)
        if d > STILL_TOL:
            problems.append(("physical_violation", f"{oid} moved {d:.2f} but should stay still"))

    # continuity: the subject's per-frame path
    subj = start.get(action.subject)
    path = []
    for f in frames:  # the subject's piece nearest where it just was (not a copy elsewhere)
        parts = _components(_colour_masks(f, subj.color), bridge=True)
        prev = path[-1] if path and path[-1] else _draw_xy(start, subj.id)
        path.append(_centroid(min(parts, key=lambda m: math.dist(_centroid(m, size), prev) - 0.002 * m.sum()),
                              size) if parts else None)
    steps = sorted((math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(path) if a and b), reverse=True)
    if steps and steps[0] > JUMP and steps[0] > JUMP_RATIO * max(steps[1] if len(steps) > 1 else 0.0, 0.01):
        problems.append(("sudden_switch", f"{action.subject} jumps {steps[0]:.2f}"))

    # the action: post-conditions on the inferred state
    post = judged_conditions(start, action)
    unmet = [str(c) for c in post if not _holds(c, start, end)]
    if unmet:
        s0, s1 = start.get(action.subject), end.get(action.subject)
        subject_moved = action.subject in moved_ids and math.hypot(s1.x - s0.x, s1.y - s0.y) >= MOVED \
            or (s0.on, s0.in_) != (s1.on, s1.in_)
        problems.append(("incomplete_action" if subject_moved else "missing_action", "unmet: " + ", ".join(unmet)))

    if residue:
        problems.append(("physical_violation", f"residue: {residue_px} px where objects stood"))
    problems.sort(key=lambda p: PRIORITY.index(p[0]))
    label = "pass"
    if problems:
        label = "physical_violation" if problems[0][0] == "vanished" else problems[0][0]
    return OracleLabel(label=label, residue=residue, problems=problems, end_state=end, residue_px=residue_px,
                       unmet=unmet, residue_mask=ghost)


def exact_end(start: Scene, action: SubAction) -> Scene:
    """The simulator's exact result (for tests and comparisons)."""
    return apply(start, action)
