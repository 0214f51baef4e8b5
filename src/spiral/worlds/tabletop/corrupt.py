"""Corrupted clips with known labels: the failure modes of learned video generators.

Each corruption takes a start scene and a sub-action, builds the exact per-frame draw
lists, breaks them in one known way and renders. ``sim-faulty`` injects them at a
configurable rate; the critic-fidelity suite uses them as labelled negatives. Users can
add their own with :func:`register_corruption`.

Every corruption returns ``(frames, final_state_or_None)``; the state is ``None`` when
the result has no exact scene (an object vanished, changed colour, duplicated …).
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable

import numpy as np

from spiral.core.types import SubAction
from spiral.worlds.tabletop.actions import apply, find_free_spot, make_action
from spiral.worlds.tabletop.predicates import holds
from spiral.worlds.tabletop.render import Item, render_items, scene_items
from spiral.worlds.tabletop.scene import PALETTE, Scene
from spiral.worlds.tabletop.simulate import intermediate_state, trajectory_items


class NotApplicable(Exception):
    """This corruption cannot be made for this scene and action."""


Corruption = Callable[[Scene, SubAction, int, int, random.Random], tuple[np.ndarray, Scene | None]]

#: corruption name → the failure type a critic should report
LABELS: dict[str, str] = {
    "static": "missing_action",
    "wrong_object": "missing_action",
    "stop_short": "incomplete_action",
    "vanish": "physical_violation",
    "nontarget_moves": "physical_violation",
    "teleport": "sudden_switch",
    "color_drift": "identity_drift",
    "duplicate": "hallucinated_object",
    "new_object": "hallucinated_object",
    "cut_off": "physical_violation",
    "residue": "physical_violation",
}


def cut_off(scene, action, T, size, rng):
    """The subject leaves the cube it stood on, but the lower cube is never uncovered: table
    is painted where its hidden top was (a learned fill's failure; the visible strip stays)."""
    from spiral.worlds.tabletop.perception import _COLOR_NAMES, classify_pixels
    from spiral.worlds.tabletop.scene import TABLE_RGB

    lower = scene.get(action.subject).on
    if lower is None:
        raise NotApplicable("the subject does not stand on a cube")
    per, _end = _items(scene, action, T)
    frames = _render(per, size)
    ci = _COLOR_NAMES.index(scene.get(lower).color)
    seen = classify_pixels(frames[0]) == ci
    for t in range(1, T):
        hidden = (classify_pixels(frames[t]) == ci) & ~seen
        frames[t][hidden] = TABLE_RGB
    return frames, None


def residue(scene, action, T, size, rng):
    """The step is done, but a smudge of the moved objects stays where they stood (a learned
    fill's failure, as ``tiny-ti2v`` leaves it): wherever the objects have left, their start
    pixels are blended into the revealed table, 25-40 levels off clean table at the most, and
    faint enough that no pixel of it reads as an object's colour (a ghost, not a copy)."""
    from spiral.worlds.tabletop.actions import _moving_with
    from spiral.worlds.tabletop.perception import classify_pixels

    movers: set[str] = set()
    for m in action.moving():
        movers |= _moving_with(scene, m)
    items = scene_items(scene)
    first = render_items(items, size).astype(np.float64)
    rest = render_items([it for it, o in zip(items, scene.objects) if o.id not in movers], size).astype(np.float64)
    stood = np.abs(first - rest).max(-1) > 24
    per, end = _items(scene, action, T)
    frames = _render(per, size)
    left = stood & (np.abs(frames[-1] - rest).max(-1) <= 2)
    end_items = scene_items(end)
    there = np.abs(render_items(end_items, size).astype(np.int16) - render_items(
        [it for it, o in zip(end_items, end.objects) if o.id not in movers], size).astype(np.int16)).max(-1) > 8
    grown = there.copy()  # where the movers are now, and their soft edges
    grown[1:] |= there[:-1]
    grown[:-1] |= there[1:]
    grown[:, 1:] |= there[:, :-1]
    grown[:, :-1] |= there[:, 1:]
    if (left & ~grown).sum() < 8 * (size / 64) ** 2:
        raise NotApplicable("the moved objects leave too little of their place uncovered")
    alpha = rng.uniform(25, 40) / max(float(np.abs(first - rest)[left].max()), 1.0)
    while True:
        ghost = np.round(rest * (1 - alpha) + first * alpha).astype(np.uint8)
        if alpha <= 0.05 or not (classify_pixels(ghost)[stood] >= 0).any():
            break
        alpha -= 0.02
    visible = left & ~grown & (np.abs(ghost.astype(np.float64) - rest).max(-1) >= 20)
    if visible.sum() < 8 * (size / 64) ** 2:
        raise NotApplicable("the objects' colours read as objects before a smudge is visible")
    for t in range(1, T):
        now = stood & (np.abs(frames[t] - rest).max(-1) <= 2)
        frames[t][now] = ghost[now]
    return frames, None


def _render(per_frame: list[list[Item]], size: int) -> np.ndarray:
    return np.stack([render_items(items, size) for items in per_frame])


def _items(scene: Scene, action: SubAction, T: int) -> tuple[list[list[Item]], Scene]:
    end = apply(scene, action)
    return trajectory_items(scene, end, action, T), end


def static(scene, action, T, size, rng):
    """Nothing happens."""
    frame = render_items(scene_items(scene), size)
    return np.repeat(frame[None], T, axis=0), scene.copy_deep()


def stop_short(scene, action, T, size, rng):
    """The motion stops 30–60 % of the way and the object is set down there."""
    end = apply(scene, action)
    frac = rng.uniform(0.3, 0.6)
    for _ in range(4):  # stop early enough that the post-conditions really fail
        mid = intermediate_state(scene, end, action, frac)
        for o in mid.objects:
            if o.id in action.moving():
                o.on, o.in_ = None, None
        if not all(holds(c, mid) for c in action.postconditions):
            break
        frac *= 0.6
    else:
        raise NotApplicable("the step is too short to stop short of it")
    s0, s1 = scene.get(action.subject), mid.get(action.subject)
    if math.hypot(s1.x - s0.x, s1.y - s0.y) < 0.05:
        raise NotApplicable("stopping short would look like not moving at all")
    n = T * 4
    per_full = trajectory_items(scene, end, action, n)
    cut = max(1, int(frac * (n - 1)))
    settle = min(3, T - 2)
    idx = np.linspace(0, cut, T - settle).round().astype(int)
    per = [copy.deepcopy(per_full[i]) for i in idx]
    last = per[-1]
    for k in range(1, settle + 1):
        frame = copy.deepcopy(last)
        for it in frame:
            if it.carried:
                it.z = it.z * (1 - k / settle)
                it.carried = k < settle
        per.append(frame)
    return _render(per, size), None


def vanish(scene, action, T, size, rng):
    per, _ = _items(scene, action, T)
    t0 = rng.randint(T // 3, T - 2)
    victim = rng.choice([action.subject] + [o.id for o in scene.objects if o.kind != "bowl"])
    color = scene.get(victim).color
    for t in range(t0, T):
        per[t] = [it for it in per[t] if it.color != color]
    return _render(per, size), None


def nontarget_moves(scene, action, T, size, rng):
    """An object the step should not touch slides to another free spot."""
    per, end = _items(scene, action, T)
    movers = set(action.moving()) | set(action.objects)
    cands = [o for o in scene.objects if o.id not in movers and o.on is None and o.in_ is None
             and scene.above(o.id) is None]
    rng.shuffle(cands)
    for victim in cands:
        rest = end.copy_deep()
        rest.objects = [o for o in rest.objects if o.id != victim.id and o.in_ != victim.id]
        ang = rng.uniform(0, 2 * math.pi)
        near = (victim.x + 0.2 * math.cos(ang), victim.y + 0.2 * math.sin(ang))
        spot = find_free_spot(rest, victim.kind, near, variant=rng.randint(0, 1))
        if spot is None or not 0.08 <= math.hypot(spot[0] - victim.x, spot[1] - victim.y) <= 0.35:
            continue
        dx, dy = spot[0] - victim.x, spot[1] - victim.y
        carried = {victim.color} | {o.color for o in scene.objects if o.in_ == victim.id}
        for t in range(T):
            s = (t / (T - 1)) ** 1.0
            for it in per[t]:
                if it.color in carried:
                    it.x += dx * s
                    it.y += dy * s
        return _render(per, size), None
    raise NotApplicable("no object can be moved aside")


def teleport(scene, action, T, size, rng):
    per, end = _items(scene, action, T)
    t0 = rng.randint(2, T - 3)
    out = [copy.deepcopy(per[0]) for _ in range(t0)] + [copy.deepcopy(per[-1]) for _ in range(T - t0)]
    return _render(out, size), end


def color_drift(scene, action, T, size, rng):
    per, _ = _items(scene, action, T)
    victim = scene.get(action.subject)
    others = [c for c in PALETTE if c != victim.color and c != "white"]
    target = np.asarray(PALETTE[rng.choice(others)], np.float64)
    src = np.asarray(PALETTE[victim.color], np.float64)
    amount = rng.uniform(0.55, 0.85)
    for t in range(T):
        a = amount * t / (T - 1)
        rgb = tuple(int(round(v)) for v in src * (1 - a) + target * a)
        for it in per[t]:
            if it.color == victim.color:
                it.rgb = rgb
    return _render(per, size), None


def duplicate(scene, action, T, size, rng):
    per, end = _items(scene, action, T)
    victim = end.get(action.subject)
    spot = find_free_spot(end, victim.kind, (victim.x, victim.y), variant=rng.randint(0, 2))
    if spot is None:
        raise NotApplicable("no free spot for a duplicate")
    t0 = rng.randint(T // 3, T - 2)
    for t in range(t0, T):
        per[t].append(Item(victim.kind, victim.color, spot[0], spot[1]))
    return _render(per, size), None


def new_object(scene, action, T, size, rng):
    per, end = _items(scene, action, T)
    used = {o.color for o in scene.objects}
    free = [c for c in PALETTE if c not in used]
    if not free:
        raise NotApplicable("every colour is in use")
    color = rng.choice(free)
    kind = rng.choice(["cube", "ball"])
    spot = find_free_spot(end, kind, (rng.random(), rng.random()), variant=rng.randint(0, 2))
    if spot is None:
        raise NotApplicable("no free spot for a new object")
    t0 = rng.randint(T // 3, T - 2)
    for t in range(t0, T):
        per[t].append(Item(kind, color, spot[0], spot[1]))
    return _render(per, size), None


def wrong_object(scene, action, T, size, rng):
    movers = set(action.moving()) | set(action.objects)
    cands = [o for o in scene.objects if o.id not in movers and scene.above(o.id) is None
             and o.on is None and o.in_ is None and o.kind != "bowl"]
    rng.shuffle(cands)
    for o in cands:
        try:
            act = make_action(scene, "pick_place", o.id, params={"region": None}, variant=rng.randint(0, 2))
        except Exception:  # noqa: BLE001, S112 - no spot for this one, try another
            continue
        per, end = _items(scene, act, T)
        return _render(per, size), end
    raise NotApplicable("no other object can be moved")


CORRUPTIONS: dict[str, Corruption] = {
    "static": static,
    "wrong_object": wrong_object,
    "stop_short": stop_short,
    "vanish": vanish,
    "nontarget_moves": nontarget_moves,
    "teleport": teleport,
    "color_drift": color_drift,
    "duplicate": duplicate,
    "new_object": new_object,
    "cut_off": cut_off,
    "residue": residue,
}


def register_corruption(name: str, fn: Corruption, label: str, replace: bool = False) -> None:
    """Add a failure mode: ``fn(scene, sub_action, num_frames, size, rng)`` returns
    ``(frames, final state or None)`` (frames ``num_frames × size × size × 3`` uint8) or
    raises :class:`NotApplicable`; ``label`` is the failure type a critic should report.
    The critic-fidelity suite, :func:`corrupt` and ``sim-faulty`` then use it (in this
    process)."""
    from spiral.core.types import FAILURE_TYPES

    if label not in FAILURE_TYPES:
        raise ValueError(f"unknown failure type {label!r}; use one of {', '.join(FAILURE_TYPES)}")
    if not callable(fn):
        raise TypeError(f"corruption {name!r} must be a function, got {type(fn).__name__}")
    if name in CORRUPTIONS and not replace:
        raise ValueError(f"a corruption named {name!r} exists; pass replace=True to replace it")
    CORRUPTIONS[name] = fn
    LABELS[name] = label


def corrupt(name: str, scene: Scene, action: SubAction, num_frames: int = 12, size: int = 64,
            seed: int = 0, fallback: bool = True) -> tuple[np.ndarray, Scene | None, str]:
    """Render ``action`` from ``scene`` broken in the way ``name`` says (see :data:`LABELS`).

    Returns ``(frames, final state or None, the corruption applied)``. When ``name`` cannot
    be made here (no free spot for a duplicate, say) it falls back to ``static`` unless
    ``fallback`` is false, in which case :class:`NotApplicable` is raised.
    """
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; known: {', '.join(CORRUPTIONS)}")
    try:
        frames, state = CORRUPTIONS[name](scene, action, num_frames, size, random.Random(f"{name}:{seed}"))
        return frames, state, name
    except NotApplicable:
        if not fallback:
            raise
        frames, state = static(scene, action, num_frames, size, random.Random(seed))
        return frames, state, "static"
