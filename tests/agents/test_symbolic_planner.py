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
