"""The tabletop action schema: six sub-action kinds with typed arguments, pre- and
post-conditions, their exact symbolic effect, and their phrasing.

| kind          | subject            | objects  | params                       |
|---------------|--------------------|----------|------------------------------|
| move_next_to  | cube, ball, bowl   | [ref]    | target_xy (chosen free spot) |
| push          | cube, ball, bowl   | []       | direction, target_xy         |
| put_in        | cube, ball         | [bowl]   | slot                         |
| stack         | cube               | [cube]   |                              |
| swap          | cube, ball         | [other]  |                              |
| pick_place    | cube, ball, bowl   | []       | region, target_xy            |
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import Any

import yaml

from spiral.core.types import C, Condition, SubAction
from spiral.errors import ImpossibleGoalError
from spiral.worlds.tabletop.predicates import holds, in_region
from spiral.worlds.tabletop.scene import (
    BOWL_CAPACITY,
    BOWL_SLOTS,
    MAX_STACK,
    STACK_DY,
    TABLE_MARGIN,
    Scene,
    footprint,
)

ACTION_KINDS: dict[str, dict[str, Any]] = {
    "move_next_to": {"subject": ("cube", "ball", "bowl"), "objects": [("cube", "ball", "bowl")]},
    "push": {"subject": ("cube", "ball", "bowl"), "objects": []},
    "put_in": {"subject": ("cube", "ball"), "objects": [("bowl",)]},
    "stack": {"subject": ("cube",), "objects": [("cube",)]},
    "swap": {"subject": ("cube", "ball"), "objects": [("cube", "ball")]},
    "pick_place": {"subject": ("cube", "ball", "bowl"), "objects": []},
}
DIRECTIONS: dict[str, tuple[float, float]] = {
    "left": (-1.0, 0.0), "right": (1.0, 0.0), "back": (0.0, -1.0), "front": (0.0, 1.0),
}
PUSH_DISTANCE = 0.25
REGION_ANCHORS: dict[str, tuple[float | None, float | None]] = {
    "left": (0.22, None), "right": (0.78, None), "back": (None, 0.27), "front": (None, 0.78),
    "center": (0.5, 0.5), "back-left": (0.2, 0.25), "back-right": (0.8, 0.25),
    "front-left": (0.2, 0.8), "front-right": (0.8, 0.8),
}


@functools.lru_cache(maxsize=1)
def phrases() -> dict[str, Any]:
    """The phrasing data file (``phrases.yaml``)."""
    text = resources.files("spiral.worlds.tabletop").joinpath("phrases.yaml").read_text()
    return yaml.safe_load(text)


def name(oid: str) -> str:
    return oid.replace("_", " ")


def phrase(kind: str, subject: str, objects: list[str], params: dict[str, Any], variant: int = 0) -> str:
    """The sub-action's text; ``variant`` picks a paraphrase (0 = canonical)."""
    p = phrases()
    templates = p["actions"][kind]
    t = templates[variant % len(templates)]
    dirs = p["directions"].get(params.get("direction", ""), [""])
    regs = p["regions"][params["region"]] if params.get("region") else p["no_region"]
    return t.format(a=name(subject), b=name(objects[0]) if objects else "",
                    dir=dirs[variant % len(dirs)], region=regs[variant % len(regs)])


# -- free space ---------------------------------------------------------------------
def _others(scene: Scene, moving: set[str]) -> list[tuple[float, float, float]]:
    out = []
    for o in scene.objects:
        if o.id in moving or o.on is not None or o.in_ is not None:
            continue  # stacked/contained objects share their base's footprint
        out.append((o.x, o.y, footprint(o.kind)))
    return out


def _moving_with(scene: Scene, oid: str) -> set[str]:
    """The object and everything carried with it (contents of a bowl, cubes on top)."""
    out = {oid}
    changed = True
    while changed:
        changed = False
        for o in scene.objects:
            if o.id not in out and (o.on in out or o.in_ in out):
                out.add(o.id)
                changed = True
    return out


def spot_is_free(scene: Scene, oid: str, x: float, y: float, gap: float = 0.03) -> bool:
    return _free_checker(scene, oid, gap)(x, y)


def _free_checker(scene: Scene, oid: str, gap: float = 0.03):
    """``spot_is_free`` for many spots of one object (the obstacles are gathered once)."""
    r = footprint(scene.get(oid).kind)
    lo = r + TABLE_MARGIN
    others = [(ox, oy, r + orr + gap) for ox, oy, orr in _others(scene, _moving_with(scene, oid))]

    def free(x: float, y: float) -> bool:
        if not (lo <= x <= 1 - lo and lo + STACK_DY * 2 <= y <= 1 - lo):
            return False
        return all(math.hypot(x - ox, y - oy) >= d for ox, oy, d in others)

    return free


def _pick(cands: list[tuple[float, float, float]], variant: int) -> tuple[float, float] | None:
    """The ``variant``-th best candidate, each pick at least 0.1 from the previous ones."""
    chosen: list[tuple[float, float]] = []
    for _, x, y in sorted(cands):
        if all(math.hypot(x - cx, y - cy) >= 0.1 for cx, cy in chosen):
            chosen.append((x, y))
            if len(chosen) > variant:
                return chosen[variant]
    return chosen[-1] if chosen else None


def find_spot_in_region(scene: Scene, oid: str, region: str | None, variant: int = 0) -> tuple[float, float] | None:
    o = scene.get(oid)
    ax, ay = REGION_ANCHORS.get(region or "", (None, None))
    ax = o.x if ax is None else ax
    ay = o.y if ay is None else ay
    cands = []
    steps = [i / 40 for i in range(41)]
    free = _free_checker(scene, oid)
    for x in steps:
        for y in steps:
            if region and not in_region(x, y, region):
                continue
            if region in ("left", "right") and abs(x - 0.5) < 0.08:
                continue
            if region in ("back", "front") and abs(y - 0.5) < 0.08:
                continue
            if math.hypot(x - o.x, y - o.y) < 0.05:
                continue
            if free(x, y):
                cands.append((math.hypot(x - ax, y - ay), round(x, 4), round(y, 4)))
    return _pick(cands, variant)


def find_free_spot(scene: Scene, kind: str, near: tuple[float, float] = (0.5, 0.5),
                   variant: int = 0) -> tuple[float, float] | None:
    """A spot for a new object of ``kind`` clear of every object in ``scene``."""
    r = footprint(kind)
    cands = []
    steps = [i / 40 for i in range(41)]
    others = _others(scene, set())
    lo = r + TABLE_MARGIN
    for x in steps:
        for y in steps:
            if not (lo <= x <= 1 - lo and lo + STACK_DY * 2 <= y <= 1 - lo):
                continue
            if all(math.hypot(x - ox, y - oy) >= r + orr + 0.03 for ox, oy, orr in others):
                cands.append((math.hypot(x - near[0], y - near[1]), x, y))
    return _pick(cands, variant)


def find_spot_next_to(scene: Scene, oid: str, ref: str, variant: int = 0) -> tuple[float, float] | None:
    o, r = scene.get(oid), scene.get(ref)
    dist = footprint(o.kind) + footprint(r.kind) + 0.035
    cands = []
    free = _free_checker(scene, oid)
    for k in range(24):
        ang = 2 * math.pi * k / 24
        x, y = r.x + dist * math.cos(ang), r.y + dist * math.sin(ang)
        if free(x, y):
            cands.append((math.hypot(x - o.x, y - o.y), round(x, 4), round(y, 4)))
    return _pick(cands, variant)


def path_is_free(scene: Scene, oid: str, x1: float, y1: float) -> bool:
    o = scene.get(oid)
    r = footprint(o.kind)
    others = _others(scene, _moving_with(scene, oid))
    for i in range(1, 11):
        t = i / 10
        x, y = o.x + (x1 - o.x) * t, o.y + (y1 - o.y) * t
        if any(math.hypot(x - ox, y - oy) < r + orr for ox, oy, orr in others):
            return False
    return True


# -- building sub-actions -----------------------------------------------------------
def _check_kinds(scene: Scene, kind: str, subject: str, objects: list[str]) -> None:
    spec = ACTION_KINDS[kind]
    s = scene.get(subject)
    if s.kind not in spec["subject"]:
        raise ImpossibleGoalError(
            f"cannot {kind.replace('_', ' ')} the {s.name}: that action takes a {' or '.join(spec['subject'])}",
            "rephrase the goal with an object of the right kind")
    for oid, allowed in zip(objects, spec["objects"]):
        o = scene.get(oid)
        if o.kind not in allowed:
            raise ImpossibleGoalError(
                f"cannot {kind.replace('_', ' ')} onto/into the {o.name}: it must be a {' or '.join(allowed)}",
                "rephrase the goal with an object of the right kind")
    if subject in objects:
        raise ImpossibleGoalError(f"the {s.name} cannot act on itself", "name two different objects")


def make_action(scene: Scene, kind: str, subject: str, objects: list[str] | None = None,
                params: dict[str, Any] | None = None, variant: int = 0, clause: int = 0) -> SubAction:
    """Build a fully specified sub-action in ``scene`` (targets chosen, conditions attached).

    Raises :class:`ImpossibleGoalError` when the scene leaves no way to do it.
    """
    if kind not in ACTION_KINDS:
        raise ValueError(f"unknown action kind {kind!r}; known: {', '.join(ACTION_KINDS)}")
    objects = list(objects or [])
    params = dict(params or {})
    _check_kinds(scene, kind, subject, objects)
    s = scene.get(subject)
    pre: list[Condition] = [C("exists", subject)] + [C("exists", o) for o in objects]
    post: list[Condition] = []
    if s.kind != "bowl":
        pre.append(C("clear", subject))
    if kind == "move_next_to":
        ref = objects[0]
        xy = params.get("target_xy") or find_spot_next_to(scene, subject, ref, variant)
        if xy is None:
            raise ImpossibleGoalError(f"no free spot next to the {name(ref)} for the {s.name}",
                                      "move something out of the way first")
        params["target_xy"] = list(xy)
        post += [C("next_to", subject, ref), C("on_table", subject)]
    elif kind == "push":
        d = params.get("direction")
        if d not in DIRECTIONS:
            raise ImpossibleGoalError(f"unknown push direction {d!r}", f"use one of {', '.join(DIRECTIONS)}")
        pre.append(C("on_table", subject))
        if "target_xy" not in params:
            dx, dy = DIRECTIONS[d]
            params["target_xy"] = [round(s.x + dx * PUSH_DISTANCE, 4), round(s.y + dy * PUSH_DISTANCE, 4)]
        tx, ty = params["target_xy"]
        if not spot_is_free(scene, subject, tx, ty, gap=0.0) or not path_is_free(scene, subject, tx, ty):
            raise ImpossibleGoalError(
                f"cannot push the {s.name} {d}: the table edge or another object is in the way",
                "choose another direction or clear the path first")
        post += [C("at", subject, xy=(tx, ty)), C("on_table", subject)]
    elif kind == "put_in":
        bowl = objects[0]
        pre += [C("room", bowl), C("not_in", subject, bowl)]
        post += [C("in", subject, bowl)]
        if len(scene.contents(bowl)) >= BOWL_CAPACITY and s.in_ != bowl:
            raise ImpossibleGoalError(f"the {name(bowl)} is full (it holds {BOWL_CAPACITY} objects)",
                                      "take something out of it first")
    elif kind == "stack":
        ref = objects[0]
        if scene.get(ref).in_:
            raise ImpossibleGoalError(f"cannot stack on the {name(ref)}: it is inside a bowl",
                                      "take it out of the bowl first")
        pre += [C("clear", ref), C("not_on", subject, ref)]
        post += [C("on", subject, ref)]
        height = scene.level(ref) + 1
        if height >= MAX_STACK:
            raise ImpossibleGoalError(f"the tower under the {s.name} would exceed {MAX_STACK} cubes",
                                      "build a lower tower")
    elif kind == "swap":
        other = objects[0]
        o = scene.get(other)
        pre += [C("on_table", subject), C("on_table", other), C("clear", other)]
        post += [C("at", subject, xy=(o.x, o.y)), C("at", other, xy=(s.x, s.y))]
        params["target_xy"] = [o.x, o.y]
    elif kind == "pick_place":
        region = params.get("region")
        xy = params.get("target_xy") or find_spot_in_region(scene, subject, region, variant)
        if xy is None:
            where = f"the {region} part of the table" if region else "the table"
            raise ImpossibleGoalError(f"no free spot on {where} for the {s.name}",
                                      "clear some space first")
        asked = "target_xy" in params and "prompt" in params  # a point, with a prompt that states it
        params["target_xy"] = list(xy)
        post += [C("on_table", subject)]
        # what the prompt states is checked, nothing more: a region; a point only when the
        # step was asked for one (a swap finished one object at a time, a push around an
        # obstacle); a clearing step ("move X to the table") only asks for a free spot
        if region:
            post += [C("in_region", subject, region=region)]
        elif asked:
            post += [C("at", subject, xy=tuple(xy))]
        else:
            post += [C("apart", subject)]
    text = params.pop("prompt", None) or phrase(kind, subject, objects, params, 0)
    return SubAction(kind=kind, subject=subject, objects=objects, params=params, prompt=text,
                     preconditions=pre, postconditions=post, clause=clause)


def preconditions_hold(scene: Scene, action: SubAction) -> list[Condition]:
    """The pre-conditions of ``action`` that do not hold in ``scene``."""
    return [c for c in action.preconditions if not holds(c, scene)]


# -- exact effect ---------------------------------------------------------------------
def _move(scene: Scene, oid: str, x: float, y: float) -> None:
    """Move ``oid`` (and what it carries) so that its anchor lands on ``x, y``."""
    o = scene.get(oid)
    dx, dy = x - o.x, y - o.y
    for mid in _moving_with(scene, oid):
        m = scene.get(mid)
        m.x = round(min(1.0, max(0.0, m.x + dx)), 4)
        m.y = round(min(1.0, max(0.0, m.y + dy)), 4)


def apply(scene: Scene, action: SubAction) -> Scene:
    """The state after ``action`` is carried out exactly (the simulator's ground truth)."""
    out = scene.copy_deep()
    s = out.get(action.subject)
    k = action.kind
    if k in ("move_next_to", "push", "pick_place"):
        s.on = None
        s.in_ = None
        s.slot = None
        _move(out, s.id, *action.params["target_xy"])
    elif k == "put_in":
        bowl = out.get(action.objects[0])
        used = {o.slot for o in out.contents(bowl.id) if o.id != s.id}
        slot = next(i for i in range(BOWL_CAPACITY) if i not in used)
        dx, dy = BOWL_SLOTS[slot]
        s.on, s.in_, s.slot = None, bowl.id, slot
        s.x, s.y = round(bowl.x + dx, 4), round(bowl.y + dy, 4)
    elif k == "stack":
        ref = out.get(action.objects[0])
        s.on, s.in_, s.slot = ref.id, None, None
        s.x, s.y = ref.x, ref.y
    elif k == "swap":
        o = out.get(action.objects[0])
        (sx, sy), (ox, oy) = (s.x, s.y), (o.x, o.y)
        s.x, s.y, o.x, o.y = ox, oy, sx, sy
    else:  # pragma: no cover - make_action validates kinds
        raise ValueError(k)
    return out
