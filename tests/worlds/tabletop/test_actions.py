"""actions.py: the six sub-action kinds, their conditions, exact effects and errors."""

from __future__ import annotations

import math

import pytest

from spiral.core.types import C
from spiral.errors import ImpossibleGoalError
from spiral.worlds.tabletop.actions import (
    ACTION_KINDS,
    PUSH_DISTANCE,
    apply,
    find_free_spot,
    make_action,
    phrase,
    preconditions_hold,
    spot_is_free,
)
from spiral.worlds.tabletop.predicates import holds
from spiral.worlds.tabletop.scene import BOWL_CAPACITY, BOWL_SLOTS, MAX_STACK

from .helpers import in_bowl, make_scene, moved, obj

# (kind, subject, objects, params, canonical prompt) in the demo scene:
# red ball (0.22, 0.74), green cube (0.3, 0.34), blue cube (0.72, 0.3),
# yellow ball (0.82, 0.78), purple bowl (0.52, 0.7)
CASES = [
    ("move_next_to", "red_ball", ["blue_cube"], {}, "move the red ball next to the blue cube"),
    ("push", "blue_cube", [], {"direction": "left"}, "push the blue cube to the left"),
    ("put_in", "red_ball", ["purple_bowl"], {}, "put the red ball in the purple bowl"),
    ("stack", "green_cube", ["blue_cube"], {}, "stack the green cube on the blue cube"),
    ("swap", "red_ball", ["yellow_ball"], {}, "swap the red ball and the yellow ball"),
    ("pick_place", "yellow_ball", [], {"region": "back-left"}, "move the yellow ball to the back left corner"),
]


def test_schema_lists_six_kinds():
    assert set(ACTION_KINDS) == {c[0] for c in CASES}


@pytest.mark.parametrize("kind, subject, objects, params, prompt", CASES, ids=[c[0] for c in CASES])
def test_conditions_hold_before_and_after(demo_scene, kind, subject, objects, params, prompt):
    before = demo_scene.to_json()
    act = make_action(demo_scene, kind, subject, objects, params)
    assert (act.kind, act.subject, act.objects, act.prompt) == (kind, subject, objects, prompt)
    assert act.preconditions and act.postconditions
    assert preconditions_hold(demo_scene, act) == []
    assert all(holds(c, demo_scene) for c in act.preconditions)
    assert not all(holds(c, demo_scene) for c in act.postconditions), "the step would do nothing"
    after = apply(demo_scene, act)
    assert demo_scene.to_json() == before, "apply must not mutate its input"
    unmet = [str(c) for c in act.postconditions if not holds(c, after)]
    assert not unmet
    # only the movers (and what they carry) change
    for o in demo_scene.objects:
        if o.id not in act.moving():
            assert after.get(o.id) == o, f"{o.id} changed"
        else:
            assert after.get(o.id) != o, f"{o.id} did not change"


def test_effects_are_exact(demo_scene):
    sc = demo_scene
    push = make_action(sc, "push", "blue_cube", params={"direction": "left"})
    assert push.params["target_xy"] == [round(0.72 - PUSH_DISTANCE, 4), 0.3]
    out = apply(sc, push)
    assert (out.get("blue_cube").x, out.get("blue_cube").y) == (0.47, 0.3)

    swap = apply(sc, make_action(sc, "swap", "red_ball", ["yellow_ball"]))
    assert (swap.get("red_ball").x, swap.get("red_ball").y) == (0.82, 0.78)
    assert (swap.get("yellow_ball").x, swap.get("yellow_ball").y) == (0.22, 0.74)

    stack = apply(sc, make_action(sc, "stack", "green_cube", ["blue_cube"]))
    g = stack.get("green_cube")
    assert (g.on, g.x, g.y) == ("blue_cube", 0.72, 0.3)
    assert stack.level("green_cube") == 1

    nxt = make_action(sc, "move_next_to", "red_ball", ["blue_cube"])
    tx, ty = nxt.params["target_xy"]
    assert spot_is_free(sc, "red_ball", tx, ty)
    out = apply(sc, nxt)
    assert (out.get("red_ball").x, out.get("red_ball").y) == (tx, ty)

    place = make_action(sc, "pick_place", "red_ball", params={"target_xy": [0.5, 0.3], "prompt": "move it there"})
    assert C("at", "red_ball", xy=(0.5, 0.3)) in place.postconditions  # a point the prompt asks for is checked
    # a step that only asks for the table (a clearing step) is checked for that, not for a hidden point
    free = make_action(sc, "pick_place", "red_ball", params={"target_xy": [0.5, 0.3]})
    assert free.prompt == "move the red ball to the table"
    assert C("apart", "red_ball") in free.postconditions and not any(c.pred == "at" for c in free.postconditions)
    out = apply(sc, place)
    assert (out.get("red_ball").x, out.get("red_ball").y) == (0.5, 0.3)


def test_put_in_fills_slots_in_order(demo_scene):
    sc = demo_scene
    bowl = sc.get("purple_bowl")
    for i, oid in enumerate(["red_ball", "green_cube", "yellow_ball"]):
        act = make_action(sc, "put_in", oid, ["purple_bowl"])
        assert preconditions_hold(sc, act) == []
        sc = apply(sc, act)
        o = sc.get(oid)
        dx, dy = BOWL_SLOTS[i]
        assert (o.in_, o.slot) == ("purple_bowl", i)
        assert (o.x, o.y) == (round(bowl.x + dx, 4), round(bowl.y + dy, 4))
    assert len(sc.contents("purple_bowl")) == BOWL_CAPACITY
    assert not holds(C("room", "purple_bowl"), sc)
    # taking one out frees its slot, the next one goes there
    sc = apply(sc, make_action(sc, "pick_place", "green_cube", params={"region": "back"}))
    assert sc.get("green_cube").in_ is None
    sc = apply(sc, make_action(sc, "put_in", "blue_cube", ["purple_bowl"]))
    assert sc.get("blue_cube").slot == 1


@pytest.mark.parametrize("kind", ["pick_place", "push", "move_next_to"])
def test_moving_a_bowl_carries_its_contents(kind):
    bowl = obj("bowl", "blue", 0.5, 0.5)
    sc = make_scene(bowl, in_bowl("ball", "red", bowl, 0), in_bowl("cube", "green", bowl, 2),
                    obj("ball", "yellow", 0.15, 0.85))
    objects = ["yellow_ball"] if kind == "move_next_to" else []
    params = {"push": {"direction": "right"}, "pick_place": {"region": "back-left"}}.get(kind, {})
    act = make_action(sc, kind, "blue_bowl", objects, params)
    assert preconditions_hold(sc, act) == []
    out = apply(sc, act)
    b0, b1 = sc.get("blue_bowl"), out.get("blue_bowl")
    dx, dy = b1.x - b0.x, b1.y - b0.y
    assert math.hypot(dx, dy) > 0.1
    for oid in ("red_ball", "green_cube"):
        o0, o1 = sc.get(oid), out.get(oid)
        assert (o1.in_, o1.slot) == ("blue_bowl", o0.slot)
        assert o1.x == pytest.approx(o0.x + dx, abs=2e-4)
        assert o1.y == pytest.approx(o0.y + dy, abs=2e-4)
    assert not moved(sc, out, "yellow_ball")
    assert all(holds(c, out) for c in act.postconditions)


def test_taking_an_object_off_a_stack_or_out_of_a_bowl(tower_scene):
    sc = tower_scene
    out = apply(sc, make_action(sc, "pick_place", "red_cube", params={"region": "front-left"}))
    red = out.get("red_cube")
    assert red.on is None and holds(C("in_region", "red_cube", region="front-left"), out)
    assert not moved(sc, out, "green_cube")
    out = apply(sc, make_action(sc, "move_next_to", "yellow_ball", ["blue_cube"]))
    y = out.get("yellow_ball")
    assert (y.in_, y.slot) == (None, None) and holds(C("next_to", "yellow_ball", "blue_cube"), out)
    assert out.contents("white_bowl") == []


def test_preconditions_report_what_is_missing(tower_scene):
    sc = tower_scene
    act = make_action(sc, "stack", "green_cube", ["blue_cube"])  # the red cube is on the green one
    assert [str(c) for c in preconditions_hold(sc, act)] == ["clear(green_cube)"]
    act = make_action(sc, "stack", "blue_cube", ["green_cube"])
    assert [str(c) for c in preconditions_hold(sc, act)] == ["clear(green_cube)"]
    put = make_action(sc, "put_in", "blue_cube", ["white_bowl"])
    assert preconditions_hold(sc, put) == []
    assert [str(c) for c in preconditions_hold(apply(sc, put), put)] == ["not_in(blue_cube, white_bowl)"]
    with pytest.raises(ImpossibleGoalError, match="cannot push the red cube"):  # the cube under it is in the way
        make_action(sc, "push", "red_cube", params={"direction": "back"})


# -- errors -----------------------------------------------------------------------------
def test_stacking_a_bowl_is_impossible(demo_scene):
    with pytest.raises(ImpossibleGoalError, match="cannot stack the purple bowl"):
        make_action(demo_scene, "stack", "purple_bowl", ["blue_cube"])


def test_stacking_on_a_ball_is_impossible(demo_scene):
    with pytest.raises(ImpossibleGoalError, match="it must be a cube"):
        make_action(demo_scene, "stack", "green_cube", ["red_ball"])


def test_put_in_a_cube_is_impossible(demo_scene):
    with pytest.raises(ImpossibleGoalError, match="must be a bowl"):
        make_action(demo_scene, "put_in", "red_ball", ["green_cube"])
    with pytest.raises(ImpossibleGoalError, match="cannot put in the purple bowl"):
        make_action(demo_scene, "put_in", "purple_bowl", ["purple_bowl"])


def test_acting_on_itself_is_impossible(demo_scene):
    with pytest.raises(ImpossibleGoalError, match="itself"):
        make_action(demo_scene, "swap", "red_ball", ["red_ball"])


@pytest.mark.parametrize("x, y, direction", [(0.1, 0.5, "left"), (0.9, 0.5, "right"),
                                             (0.5, 0.2, "back"), (0.5, 0.9, "front")])
def test_push_into_the_table_edge_is_impossible(x, y, direction):
    sc = make_scene(obj("cube", "red", x, y), obj("ball", "blue", 0.5 if x != 0.5 else 0.2, 0.5))
    with pytest.raises(ImpossibleGoalError, match="table edge or another object"):
        make_action(sc, "push", "red_cube", params={"direction": direction})


def test_push_into_another_object_is_impossible():
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("ball", "blue", 0.45, 0.5))
    with pytest.raises(ImpossibleGoalError, match="in the way"):
        make_action(sc, "push", "red_cube", params={"direction": "right"})
    make_action(sc, "push", "red_cube", params={"direction": "front"})  # the other way is free


def test_push_needs_a_known_direction(demo_scene):
    with pytest.raises(ImpossibleGoalError, match="unknown push direction"):
        make_action(demo_scene, "push", "red_ball", params={"direction": "up"})


def _tower(n: int):
    colors = ["red", "green", "blue", "yellow", "white"]
    objs = [obj("cube", colors[0], 0.3, 0.5)]
    for i in range(1, n):
        objs.append(obj("cube", colors[i], 0.3, 0.5, on=f"{colors[i - 1]}_cube"))
    objs.append(obj("cube", "purple", 0.7, 0.5))
    return make_scene(*objs)


def test_stacking_on_a_full_tower_is_impossible():
    sc = _tower(MAX_STACK - 1)
    top = sc.objects[MAX_STACK - 2].id
    out = apply(sc, make_action(sc, "stack", "purple_cube", [top]))  # the fourth cube still fits
    assert out.level("purple_cube") == MAX_STACK - 1
    sc = _tower(MAX_STACK)
    top = sc.objects[MAX_STACK - 1].id
    assert sc.level(top) == MAX_STACK - 1
    with pytest.raises(ImpossibleGoalError, match=f"exceed {MAX_STACK} cubes"):
        make_action(sc, "stack", "purple_cube", [top])


def test_put_in_a_full_bowl_is_impossible():
    bowl = obj("bowl", "blue", 0.5, 0.5)
    sc = make_scene(bowl, *[in_bowl("ball", c, bowl, i) for i, c in enumerate(["red", "green", "yellow"])],
                    obj("cube", "white", 0.15, 0.2))
    with pytest.raises(ImpossibleGoalError, match="full"):
        make_action(sc, "put_in", "white_cube", ["blue_bowl"])


def test_stacking_on_a_cube_in_a_bowl_is_impossible():
    bowl = obj("bowl", "blue", 0.5, 0.5)
    sc = make_scene(bowl, in_bowl("cube", "red", bowl, 0), obj("cube", "white", 0.15, 0.2))
    with pytest.raises(ImpossibleGoalError, match="inside a bowl"):
        make_action(sc, "stack", "white_cube", ["red_cube"])


def test_no_free_spot_is_impossible():
    # three bowls fill the back-right corner: a ball has nowhere to go there
    sc = make_scene(obj("ball", "red", 0.2, 0.8), obj("bowl", "blue", 0.62, 0.3),
                    obj("bowl", "green", 0.88, 0.3), obj("bowl", "yellow", 0.75, 0.5))
    with pytest.raises(ImpossibleGoalError, match="no free spot on the back-right part of the table"):
        make_action(sc, "pick_place", "red_ball", params={"region": "back-right"})
    make_action(sc, "pick_place", "red_ball", params={"region": "back-left"})  # that corner is free


def test_unknown_kind_is_a_value_error(demo_scene):
    with pytest.raises(ValueError, match="unknown action kind"):
        make_action(demo_scene, "throw", "red_ball")


# -- phrasing and free space -----------------------------------------------------------
def test_phrase_variants():
    assert phrase("put_in", "red_ball", ["blue_bowl"], {}) == "put the red ball in the blue bowl"
    assert phrase("put_in", "red_ball", ["blue_bowl"], {}, 1) == "place the red ball into the blue bowl"
    assert phrase("push", "red_ball", [], {"direction": "front"}, 2) == "shove the red ball toward the camera"
    assert phrase("pick_place", "red_ball", [], {"region": "back-left"}) == \
        "move the red ball to the back left corner"


def test_find_free_spot_is_clear(demo_scene):
    for kind in ("cube", "ball", "bowl"):
        for variant in range(3):
            x, y = find_free_spot(demo_scene, kind, variant=variant)
            probe = make_scene(*[o.model_dump(by_alias=True) for o in demo_scene.objects],
                               obj(kind, "white", x, y))
            assert spot_is_free(probe, f"white_{kind}", x, y, gap=0.0)
