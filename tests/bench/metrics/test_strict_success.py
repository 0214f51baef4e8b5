"""Strict success: goal met and a clean episode, each cleanliness check on its own."""

from __future__ import annotations

import random
from itertools import pairwise

import numpy as np
import pytest

from spiral.agents.perception_critic import PerceptionCritic
from spiral.bench.metrics import strict_success
from spiral.bench.metrics._episode import Episode
from spiral.core.types import Failure, Verdict
from spiral.worlds.tabletop.corrupt import CORRUPTIONS
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import PALETTE, TABLE_RGB, Scene, SceneObject
from spiral.worlds.tabletop.simulate import simulate

GOAL = "put the red cube in the blue bowl, then push the green ball to the right"
MOVABLE = ["green_ball", "red_cube"]


def _scene() -> Scene:
    return Scene(objects=[SceneObject(kind="cube", color="red", x=0.25, y=0.45),
                          SceneObject(kind="ball", color="green", x=0.6, y=0.85),
                          SceneObject(kind="bowl", color="blue", x=0.7, y=0.45),
                          SceneObject(kind="cube", color="yellow", x=0.25, y=0.8),
                          SceneObject(kind="ball", color="purple", x=0.85, y=0.15)])


def _episode(corrupt: dict[int, str] | None = None, size: int = 64) -> Episode:
    """The exact simulation of GOAL, segment ``k`` replaced by corruption ``corrupt[k]``."""
    sc = _scene()
    steps, _, _ = plan_clauses(sc, parse_goal(GOAL, sc))
    first = render_scene(sc, size)
    segs, st = [], sc
    for k, act in enumerate(steps):
        frames, states = simulate(st, act, 12, size)
        if corrupt and k in corrupt:
            frames, _ = CORRUPTIONS[corrupt[k]](st, act, 12, size, random.Random(0))
        segs.append(frames)
        st = states[-1]
    return Episode(first=first, segments=segs, registry=PerceptionCritic().observe(first), result={})


def _box(frame: np.ndarray, color: str) -> tuple[int, int, int, int]:
    """The bounding box (y0, y1, x0, x1, inclusive) of the component of ``color``."""
    from spiral.worlds.tabletop.perception import perceive

    b = perceive(frame).blobs[color]
    return b.y0, b.y1, b.x0, b.x1


def test_an_exact_episode_is_strictly_successful():
    r = strict_success.compute(_episode(), 1.0, MOVABLE)
    assert r["strict_success"] == 1.0 and r["strict_clean"] == 1.0, r["strict_problems"]
    assert {k: r[f"clean_{k}"] for k in strict_success.CHECKS} == {k: 1.0 for k in strict_success.CHECKS}
    # lenient failure means strict failure, however clean
    assert strict_success.compute(_episode(), 0.0, MOVABLE)["strict_success"] == 0.0


def test_moved_other_is_judged_only_when_the_movable_objects_are_known():
    r = strict_success.compute(_episode(), 1.0, None)
    assert "clean_moved_other" not in r and r["strict_success"] == 1.0
    # the same exact episode, with the green ball not allowed to move: it moved
    r = strict_success.compute(_episode(), 1.0, ["red_cube"])
    assert r["clean_moved_other"] == 0.0 and r["strict_success"] == 0.0


@pytest.mark.parametrize("corruption, check", [("nontarget_moves", "moved_other"), ("duplicate", "duplicated"),
                                               ("vanish", "vanished"), ("color_drift", "colour"),
                                               ("teleport", "continuity")])
def test_each_critic_failure_over_the_video_fails_its_own_check(corruption, check):
    r = strict_success.compute(_episode({1: corruption}), 1.0, MOVABLE)
    assert r[f"clean_{check}"] == 0.0, r["strict_problems"]
    assert r["strict_clean"] == 0.0 and r["strict_success"] == 0.0


def test_a_torn_object_fails_torn():
    ep = _episode()
    last = ep.segments[-1][-1]
    y0, y1, x0, x1 = _box(last, "yellow")  # a still cube, cut in two by a band of table
    mid = (y0 + y1) // 2
    last[mid:mid + 2, x0 - 1:x1 + 2] = TABLE_RGB
    r = strict_success.compute(ep, 1.0, MOVABLE)
    assert r["clean_torn"] == 0.0 and r["strict_success"] == 0.0
    assert any("yellow_cube is in 2 pieces" in p for p in r["strict_problems"])


def test_an_object_that_lost_most_of_its_area_fails_torn():
    ep = _episode()
    last = ep.segments[-1][-1]
    y0, y1, x0, x1 = _box(last, "yellow")
    last[y0 - 1:y1 - 2, x0 - 1:x1 + 2] = TABLE_RGB  # only a strip is left
    r = strict_success.compute(ep, 1.0, MOVABLE)
    assert r["clean_torn"] == 0.0
    assert any("yellow_cube shows" in p for p in r["strict_problems"])


def test_a_stretched_object_fails_shape():
    ep = _episode()
    last = ep.segments[-1][-1]
    y0, y1, x0, x1 = _box(last, "purple")  # the still ball, smeared into a bar
    last[y0:y1 + 1, x0:x1 + 10] = PALETTE["purple"]
    r = strict_success.compute(ep, 1.0, MOVABLE)
    assert r["clean_shape"] == 0.0 and r["strict_success"] == 0.0


def test_residue_counts_every_residue_failure_of_the_critic():
    v = Verdict(passed=False, scores={}, failure_type="physical_violation", feedback="",
                failures=[Failure(type="physical_violation", detail="residue where red_cube stood", objects=[]),
                          Failure(type="physical_violation", detail="green_ball moved 0.20 but should stay still",
                                  objects=[])])
    out = strict_success._verdict_checks(v, judge_moved=True)
    assert out["residue"] == ["residue where red_cube stood"] and len(out["moved_other"]) == 1
    assert strict_success._verdict_checks(v, judge_moved=False)["moved_other"] == []


def test_objects_partly_hidden_where_they_stand_are_not_torn():
    """Objects partly hidden where they stand (the lower cubes of a tower, a ball behind a
    tower, objects side by side in a bowl) are not judged torn, nor is a tower of 5."""
    cols = ["red", "green", "blue", "yellow"]
    objs = [SceneObject(kind="cube", color="red", x=0.4, y=0.6)]
    objs += [SceneObject(kind="cube", color=c, x=0.4, y=0.6, on=f"{p}_cube") for p, c in pairwise(cols)]
    objs += [SceneObject(kind="ball", color="orange", x=0.42, y=0.40),  # 58 % of it shows above the tower
             SceneObject(kind="bowl", color="cyan", x=0.75, y=0.7),
             SceneObject(kind="ball", color="purple", x=0.75, y=0.655, **{"in": "cyan_bowl"}, slot=0),
             SceneObject(kind="cube", color="white", x=0.789, y=0.7225, **{"in": "cyan_bowl"}, slot=1)]
    frame = render_scene(Scene(objects=objs), 64)
    assert strict_success.shape_problems(frame, PerceptionCritic().observe(frame)) == ([], [])
    five = [*objs[:4], SceneObject(kind="cube", color="white", x=0.4, y=0.6, on="yellow_cube"),
            SceneObject(kind="ball", color="purple", x=0.8, y=0.8)]
    frame = render_scene(Scene(objects=five), 64)
    assert strict_success.shape_problems(frame, PerceptionCritic().observe(frame)) == ([], [])
