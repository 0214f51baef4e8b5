"""simulate.py: the exact simulator's clips and per-frame ground-truth states."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from spiral.worlds.tabletop.actions import apply, make_action
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import BALL_R
from spiral.worlds.tabletop.simulate import intermediate_state, simulate, trajectory_items

from .helpers import in_bowl, make_scene, obj

ACTIONS = [
    ("move_next_to", "red_ball", ["blue_cube"], {}),
    ("push", "blue_cube", [], {"direction": "left"}),
    ("put_in", "red_ball", ["purple_bowl"], {}),
    ("stack", "green_cube", ["blue_cube"], {}),
    ("swap", "red_ball", ["yellow_ball"], {}),
    ("pick_place", "yellow_ball", [], {"region": "back-left"}),
]
IDS = [a[0] for a in ACTIONS]


@pytest.mark.parametrize("kind, subject, objects, params", ACTIONS, ids=IDS)
def test_clip_starts_and_ends_exactly(demo_scene, kind, subject, objects, params):
    act = make_action(demo_scene, kind, subject, objects, params)
    frames, states = simulate(demo_scene, act)
    end = apply(demo_scene, act)
    assert frames.shape == (12, 64, 64, 3) and frames.dtype == np.uint8
    assert len(states) == 12
    assert np.array_equal(frames[0], render_scene(demo_scene))
    assert np.array_equal(frames[-1], render_scene(end))
    assert states[0] == demo_scene and states[-1] == end
    mid = frames[6]
    assert not np.array_equal(mid, frames[0]) and not np.array_equal(mid, frames[-1])
    # objects the step does not touch stay where they are in every state
    for o in demo_scene.objects:
        if o.id not in act.moving():
            assert all(s.get(o.id) == o for s in states), o.id


@pytest.mark.parametrize("T, size", [(2, 64), (5, 48), (20, 96)])
def test_frame_count_and_size(demo_scene, T, size):
    act = make_action(demo_scene, "pick_place", "red_ball", params={"region": "back-right"})
    frames, states = simulate(demo_scene, act, num_frames=T, size=size)
    assert frames.shape == (T, size, size, 3) and len(states) == T
    assert np.array_equal(frames[0], render_scene(demo_scene, size))
    assert np.array_equal(frames[-1], render_scene(apply(demo_scene, act), size))


def test_needs_two_frames(demo_scene):
    act = make_action(demo_scene, "push", "blue_cube", params={"direction": "left"})
    with pytest.raises(ValueError, match="at least 2 frames"):
        simulate(demo_scene, act, num_frames=1)


def test_deterministic(demo_scene):
    act = make_action(demo_scene, "swap", "red_ball", ["yellow_ball"])
    a, sa = simulate(demo_scene, act)
    b, sb = simulate(demo_scene, act)
    assert a.tobytes() == b.tobytes() and sa == sb


def test_states_move_smoothly_towards_the_end(demo_scene):
    act = make_action(demo_scene, "pick_place", "yellow_ball", params={"region": "back-left"})
    _, states = simulate(demo_scene, act, num_frames=10)
    end = states[-1].get("yellow_ball")
    dist = [math.hypot(s.get("yellow_ball").x - end.x, s.get("yellow_ball").y - end.y) for s in states]
    assert all(a > b for a, b in itertools.pairwise(dist))
    steps = [a - b for a, b in itertools.pairwise(dist)]
    assert max(steps) < 0.5 * dist[0]  # no jump


def test_push_slides_and_other_moves_lift(demo_scene):
    push = make_action(demo_scene, "push", "blue_cube", params={"direction": "left"})
    per = trajectory_items(demo_scene, apply(demo_scene, push), push, 9)
    assert all(it.z == 0 and not it.carried for items in per for it in items)
    lift = make_action(demo_scene, "pick_place", "blue_cube", params={"region": "front-right"})
    per = trajectory_items(demo_scene, apply(demo_scene, lift), lift, 9)
    blue = [next(it for it in items if it.color == "blue") for items in per]
    assert blue[0].z == 0 and blue[-1].z == pytest.approx(0, abs=1e-9) and not blue[0].carried and not blue[-1].carried
    assert blue[4].z > 1.0 and blue[4].carried


def test_gripper_drawn_only_while_carrying(demo_scene):
    lift = make_action(demo_scene, "pick_place", "blue_cube", params={"region": "front-right"})
    plain, _ = simulate(demo_scene, lift)
    grip, _ = simulate(demo_scene, lift, gripper=True)
    assert np.array_equal(plain[0], grip[0]) and np.array_equal(plain[-1], grip[-1])
    assert all(not np.array_equal(plain[t], grip[t]) for t in range(1, 11))
    push = make_action(demo_scene, "push", "blue_cube", params={"direction": "left"})
    assert simulate(demo_scene, push)[0].tobytes() == simulate(demo_scene, push, gripper=True)[0].tobytes()


def test_swapped_objects_never_overlap():
    sc = make_scene(obj("ball", "red", 0.3, 0.5), obj("ball", "green", 0.7, 0.5), obj("cube", "blue", 0.5, 0.85))
    act = make_action(sc, "swap", "red_ball", ["green_ball"])
    per = trajectory_items(sc, apply(sc, act), act, 15)
    for items in per:
        r = next(it for it in items if it.color == "red")
        g = next(it for it in items if it.color == "green")
        assert math.hypot(r.x - g.x, r.y - g.y) >= 2 * BALL_R
        assert 0 <= r.x <= 1 and 0 <= r.y <= 1 and 0 <= g.x <= 1 and 0 <= g.y <= 1


def test_bowl_contents_travel_with_the_bowl():
    bowl = obj("bowl", "blue", 0.35, 0.5)
    sc = make_scene(bowl, in_bowl("ball", "red", bowl, 0), in_bowl("cube", "green", bowl, 1),
                    obj("ball", "yellow", 0.85, 0.2))
    act = make_action(sc, "push", "blue_bowl", params={"direction": "right"})
    frames, states = simulate(sc, act)
    for s in states:
        b = s.get("blue_bowl")
        for oid in ("red_ball", "green_cube"):
            o, o0 = s.get(oid), sc.get(oid)
            assert o.in_ == "blue_bowl"
            assert o.x - b.x == pytest.approx(o0.x - 0.35, abs=2e-4)
            assert o.y - b.y == pytest.approx(o0.y - 0.5, abs=2e-4)
    assert np.array_equal(frames[-1], render_scene(apply(sc, act)))


def test_intermediate_state_ends_and_lifted_relations():
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("cube", "green", 0.3, 0.5, on="red_cube"),
                    obj("cube", "blue", 0.7, 0.5))
    act = make_action(sc, "stack", "green_cube", ["blue_cube"])
    end = apply(sc, act)
    assert intermediate_state(sc, end, act, 0.0) == sc
    assert intermediate_state(sc, end, act, 1.0) == end
    mid = intermediate_state(sc, end, act, 0.5)
    g = mid.get("green_cube")
    assert g.on is None and 0.3 < g.x < 0.7  # in the air, on neither cube
    assert mid.get("red_cube") == sc.get("red_cube")
