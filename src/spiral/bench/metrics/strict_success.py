"""Strict task success, the headline: the goal holds in the final frame **and** the episode
is clean over the whole video, judged from pixels.

Clean means none of these happened (each is also reported on its own, 1 = clean):

``clean_vanished``
    every registered object is visible in every frame (a brief occlusion by a carried
    object excepted), and a cube a step uncovers ends whole (the perception critic's
    permanence check over the whole video);
``clean_duplicated``
    no second copy of an object and no new object appears (its hallucination check);
``clean_colour``
    no object's colour leaves its first-frame appearance (its identity check);
``clean_continuity``
    no object jumps and the scene never cuts (its continuity check);
``clean_residue``
    nothing is left where a moved object stood: every failure of the critic's verdict
    that is a ``physical_violation`` whose detail starts with ``residue`` (none when the
    critic has no such check);
``clean_torn``
    at every rest frame (the end of each segment) no object is in pieces (two pieces of
    its colour each at least a fifth of its expected area) nor has lost a large share of
    its area (its main piece under 60 % of what an object of its kind shows there);
``clean_shape``
    at every rest frame each object still looks like its kind (its main piece read as a
    cube, ball or bowl by perception's shape rule, not stretched: bounding-box sides
    within 1.6 : 1, area at most 1.7× the expected one);
``clean_moved_other``
    nothing moved but the objects the goal needs to move (the task's ``movable``, or the
    symbolic planner's reference plan's subjects with what they carry): every other
    object stays within the critic's stillness tolerance over the whole video. Not
    judged (left out) where it cannot be known (an image task);
``clean_other``
    no other physical violation the critic reports over the video.

``strict_success`` ∈ {0, 1} = ``task_success`` (goal conditions met, no object missing in
the final frame) and ``strict_clean``; ``strict_clean`` ∈ {0, 1} = every check above.
The same criteria hold for every mode: only the stitched video and its segments count.
"""

from __future__ import annotations

from typing import Any

from spiral.bench.metrics._episode import Episode
from spiral.bench.metrics._video_checks import video_verdict

CHECKS = ("vanished", "duplicated", "colour", "continuity", "residue", "torn", "shape", "moved_other", "other")

TORN_PIECE = 0.2  # a second piece this share of the expected area: the object is in pieces
TORN_AREA = 0.6  # the main piece under this share of the expected area: it lost a large share
SHAPE_ASPECT = 1.6  # bounding box sides further apart than this: stretched
SHAPE_AREA = 1.7  # the main piece over this multiple of the expected area: smeared or grown


def _verdict_checks(v: Any, judge_moved: bool) -> dict[str, list[str]]:
    """The critic's video failures, sorted into the cleanliness checks (details kept)."""
    out: dict[str, list[str]] = {k: [] for k in CHECKS}
    if v is None:
        out["vanished"].append("no object could be read in the first frame")
        return out
    for f in v.failures:
        d = f.detail or ""
        if f.type == "hallucinated_object":
            out["duplicated"].append(d)
        elif f.type == "identity_drift":
            out["colour"].append(d)
        elif f.type == "sudden_switch":
            out["continuity"].append(d)
        elif f.type == "physical_violation" and d.startswith("residue"):
            out["residue"].append(d)
        elif f.type == "physical_violation" and ("not visible" in d or "cut off" in d):
            out["vanished"].append(d)
        elif f.type == "physical_violation" and "should stay still" in d:
            if judge_moved:
                out["moved_other"].append(d)
        elif f.type == "physical_violation":
            out["other"].append(d)
    return out


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


def shape_problems(frame, registry: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(torn, shape) problems of the objects in one rest frame (see the module doc)."""
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
        if o.color not in known or o.id in covered or _occluded(o.id, p.scene, boxes):
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


def problems(ep: Episode, movable: list[str] | None) -> dict[str, list[str]]:
    """Every cleanliness problem of the episode, per check (empty lists: clean)."""
    out = _verdict_checks(video_verdict(ep, movable), movable is not None)
    rest = [s[-1] for s in ep.segments] or [ep.first]
    for k, frame in enumerate(rest):
        torn, shape = shape_problems(frame, ep.registry)
        out["torn"] += [f"{x} (end of segment {k})" for x in torn]
        out["shape"] += [f"{x} (end of segment {k})" for x in shape]
    return out


def compute(ep: Episode, task_success: float, movable: list[str] | None) -> dict[str, Any]:
    """``task_success``: the lenient success of the episode (goal conditions met, nothing
    missing in the final frame); ``movable``: see the module doc (``None``: not judged)."""
    found = problems(ep, movable)
    out: dict[str, Any] = {}
    for k in CHECKS:
        if k == "moved_other" and movable is None:
            continue
        out[f"clean_{k}"] = float(not found[k])
    clean = all(not v for v in found.values())
    out["strict_clean"] = float(clean)
    out["strict_success"] = float(clean and task_success == 1.0)
    out["strict_problems"] = [f"{k}: {d}" for k, v in found.items() for d in v][:12]
    return out
