"""The symbolic planner's grounding: a relative step pinned on an assumed state is pinned
again from the perceived frame when it is about to run."""

from __future__ import annotations

import pytest

from spiral.agents.symbolic_planner import SymbolicPlanner
from spiral.worlds.tabletop.actions import apply, make_action
from spiral.worlds.tabletop.predicates import holds
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import Scene, SceneObject

GOAL = "move the red ball next to the blue cube, then swap the red ball and the green ball"


@pytest.fixture
def scene() -> Scene:
    return Scene(objects=[SceneObject(kind="ball", color="red", x=0.2, y=0.3),
                          SceneObject(kind="ball", color="green", x=0.75, y=0.75),
                          SceneObject(kind="cube", color="blue", x=0.5, y=0.5),
                          SceneObject(kind="bowl", color="orange", x=0.25, y=0.78)])


def _landed_elsewhere(scene: Scene, step) -> Scene:
    """Step 0 done right, but on another free side of the blue cube than the plan assumed."""
    for variant in range(1, 8):
        alt = make_action(scene, step.kind, step.subject, step.objects, {}, variant=variant)
        if alt.params["target_xy"] != step.params["target_xy"]:
            return apply(scene, alt)
    raise AssertionError("no other free spot")  # pragma: no cover


def test_ground_repins_the_swap_where_the_ball_really_is(scene):
    planner = SymbolicPlanner()
    plan = planner.plan(GOAL, render_scene(scene))
    assert [s.kind for s in plan.steps] == ["move_next_to", "swap"]
    assert planner.ground(plan, 0, render_scene(scene)) is None  # nothing provisional at step 0
    after = _landed_elsewhere(scene, plan.steps[0])
    red = after.get("red_ball")
    stale = plan.steps[1].postconditions
    assert not any(c.pred == "at" and c.args == ["green_ball"] and abs(c.xy[0] - red.x) < 0.03 for c in stale)

    new = planner.ground(plan, 1, render_scene(after))
    assert new is not None and new.version == plan.version + 1 and "grounded" in new.notes
    assert new.steps[0] == plan.steps[0]  # what was done stays
    swap = new.steps[1]
    target = next(c for c in swap.postconditions if c.pred == "at" and c.args == ["green_ball"])
    assert abs(target.xy[0] - red.x) < 0.03 and abs(target.xy[1] - red.y) < 0.03
    # the goal follows the new pin, and the exact swap from where the balls are meets it
    goal_green = next(c for c in new.goal_conditions if c.pred == "at" and c.args == ["green_ball"])
    assert goal_green == target
    done = apply(after, swap)
    assert all(holds(c, done) for c in new.goal_conditions if c.pred == "at")
    assert new.clauses[1]["provisional"] == []
    # once pinned from what was seen (or once the clause is under way) it stays
    assert planner.ground(new, 1, render_scene(after)) is None


def test_ground_keeps_the_plan_when_an_object_is_not_seen(scene):
    planner = SymbolicPlanner()
    plan = planner.plan(GOAL, render_scene(scene))
    after = _landed_elsewhere(scene, plan.steps[0])
    hidden = Scene(objects=[o for o in after.objects if o.id != "green_ball"])
    assert planner.ground(plan, 1, render_scene(hidden)) is None


def test_locate_gives_where_the_subject_is_and_must_end():
    import numpy as np

    sc = Scene(objects=[SceneObject(kind="bowl", color="blue", x=0.25, y=0.4),
                        SceneObject(kind="cube", color="green", x=0.7, y=0.7),
                        SceneObject(kind="cube", color="red", x=0.7, y=0.7, on="green_cube")])
    p = SymbolicPlanner()
    where = p.locate(make_action(sc, "pick_place", "red_cube", params={"target_xy": [0.3, 0.8]}), render_scene(sc))
    # the red cube is drawn one stack level up; it must end on the table at (0.3, 0.8)
    assert abs(where["subject"][0] - 0.7) < 0.03 and abs(where["subject"][1] - 0.65) < 0.03
    assert abs(where["target"][0] - 0.3) < 0.01 and abs(where["target"][1] - 0.8) < 0.01
    bowl = p.locate(make_action(sc, "put_in", "red_cube", ["blue_bowl"]), render_scene(sc))
    assert np.hypot(bowl["target"][0] - 0.25, bowl["target"][1] - 0.4) < 0.07  # into the bowl, at a slot
    assert p.locate(make_action(sc, "push", "blue_bowl", params={"direction": "right"}),
                    np.full((64, 64, 3), 112, np.uint8)) is None  # nothing seen: nothing to say
