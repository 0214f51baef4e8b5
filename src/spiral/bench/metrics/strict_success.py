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
from spiral.worlds.tabletop.cleanliness import shape_problems  # the critic judges each clip by the same rule

CHECKS = ("vanished", "duplicated", "colour", "continuity", "residue", "torn", "shape", "moved_other", "other")



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
