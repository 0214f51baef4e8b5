"""Predicates over object states: the language of pre-, post- and goal conditions.

A predicate is data (``{"pred": "on", "args": ["red_cube", "blue_cube"]}``) so that it
can be written in a plan, a trace or a benchmark task file, and evaluated on any
:class:`~spiral.worlds.tabletop.scene.Scene`, exact or perceived from pixels.
"""

from __future__ import annotations

import math

from spiral.core.types import Condition
from spiral.worlds.tabletop.scene import BOWL_CAPACITY, Scene, footprint

# how many object ids each predicate takes in ``args`` (``condition_problem`` adds the region/point rules)
ARITY = {"exists": 1, "on": 2, "in": 2, "next_to": 2, "at": 1, "in_region": 1, "region_empty": 0,
         "clear": 1, "on_table": 1, "room": 1, "not_in": 2, "not_on": 2, "apart": 1}
PRED_NAMES = tuple(ARITY)

REGIONS = ("left", "right", "back", "front", "center",
           "back-left", "back-right", "front-left", "front-right")

NEXT_TO_GAP = 0.09  # max gap between footprints for "next to"
APART = 0.8  # "apart": centres at least this share of the two footprints' sum away (perception is noisy)
AT_TOL = 0.07


def in_region(x: float, y: float, region: str) -> bool:
    if region == "left":
        return x < 0.5
    if region == "right":
        return x > 0.5
    if region == "back":
        return y < 0.5
    if region == "front":
        return y > 0.5
    if region == "center":
        return abs(x - 0.5) < 0.2 and abs(y - 0.5) < 0.2
    if "-" in region:
        a, b = region.split("-")
        return in_region(x, y, a) and in_region(x, y, b)
    raise ValueError(f"unknown region {region!r}")


def condition_problem(cond: Condition) -> str | None:
    """What makes ``cond`` impossible to evaluate (unknown predicate, wrong number of
    objects, a missing or unknown region, ``at`` without a point), or ``None``."""
    p = cond.pred
    if p not in ARITY:
        return f"unknown predicate {p!r}; use one of {', '.join(PRED_NAMES)}"
    if len(cond.args) != ARITY[p]:
        n = ARITY[p]
        return f"{p} takes {n} object id{'s' if n != 1 else ''} in args, got {len(cond.args)}"
    if p in ("in_region", "region_empty") and cond.region not in REGIONS:
        return f"{p} needs a region, one of {', '.join(REGIONS)} (got {cond.region!r})"
    if p not in ("in_region", "region_empty") and cond.region is not None:
        return f"{p} takes no region"
    if p == "at" and cond.xy is None:
        return "at needs xy, the point [x, y] in table coordinates (0..1)"
    return None


def _name(oid: str) -> str:
    return oid.replace("_", " ")


def holds(cond: Condition, scene: Scene) -> bool:  # a flat dispatch reads best
    """Evaluate one condition on a scene (exact or perceived)."""
    ids = {o.id: o for o in scene.objects}
    a = ids.get(cond.args[0]) if cond.args else None
    b = ids.get(cond.args[1]) if len(cond.args) > 1 else None
    p = cond.pred
    if p == "region_empty":
        return not any(in_region(o.x, o.y, cond.region or "") for o in scene.objects)
    if p == "exists":
        return a is not None
    if p not in PRED_NAMES:
        raise ValueError(f"unknown predicate {p!r}; known: {', '.join(PRED_NAMES)}")
    if a is None:
        return False
    if p == "on":
        return b is not None and a.on == b.id
    if p == "not_on":
        return b is None or a.on != b.id
    if p == "in":
        return b is not None and a.in_ == b.id
    if p == "not_in":
        return b is None or a.in_ != b.id
    if p == "clear":
        return not any(o.on == a.id for o in scene.objects)
    if p == "on_table":
        return a.on is None and a.in_ is None
    if p == "room":
        return len(scene.contents(a.id)) < BOWL_CAPACITY
    if p == "next_to":
        if b is None or a.on or a.in_:
            return False
        d = math.hypot(a.x - b.x, a.y - b.y)
        return d <= footprint(a.kind) + footprint(b.kind) + NEXT_TO_GAP
    if p == "at":
        assert cond.xy is not None
        return math.hypot(a.x - cond.xy[0], a.y - cond.xy[1]) <= (cond.tol or AT_TOL)
    if p == "in_region":
        return a.on is None and a.in_ is None and in_region(a.x, a.y, cond.region or "")
    if p == "apart":  # on the table, clear of every other object on it
        if a.on is not None or a.in_ is not None:
            return False
        return all(math.hypot(a.x - o.x, a.y - o.y) >= APART * (footprint(a.kind) + footprint(o.kind))
                   for o in scene.objects if o.id != a.id and o.on is None and o.in_ is None)
    raise ValueError(p)  # pragma: no cover


def describe(cond: Condition) -> str:
    """Plain-English phrasing of a condition."""
    if cond.text:
        return cond.text
    a = _name(cond.args[0]) if cond.args else ""
    b = _name(cond.args[1]) if len(cond.args) > 1 else ""
    region = (cond.region or "").replace("-", " ")
    return {
        "exists": f"the {a} is on the table",
        "on": f"the {a} is on the {b}",
        "not_on": f"the {a} is not on the {b}",
        "in": f"the {a} is in the {b}",
        "not_in": f"the {a} is not in the {b}",
        "clear": f"nothing is on the {a}",
        "on_table": f"the {a} stands on the table",
        "room": f"the {a} has room",
        "next_to": f"the {a} is next to the {b}",
        "at": f"the {a} is at ({cond.xy[0]:.2f}, {cond.xy[1]:.2f})" if cond.xy else f"the {a} is in place",
        "in_region": f"the {a} is in the {region} part of the table",
        "apart": f"the {a} stands on the table, clear of the others",
        "region_empty": f"the {region} part of the table is empty",
    }.get(cond.pred, str(cond))


