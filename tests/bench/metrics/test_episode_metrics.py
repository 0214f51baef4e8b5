"""The action metrics, each on its own: task success, permanence, identity drift, sudden
switches and cost, on one-step episodes from the exact simulator and its corruptions."""

import numpy as np
import pytest

from spiral.agents.perception_critic import PerceptionCritic
from spiral.bench.metrics import cost, identity_drift, permanence, sudden_switches, task_success
from spiral.bench.metrics._episode import Episode
from spiral.core.types import C
from spiral.worlds.tabletop.actions import make_action
from spiral.worlds.tabletop.corrupt import corrupt
from spiral.worlds.tabletop.scene import Scene, SceneObject
from spiral.worlds.tabletop.simulate import simulate


def _scene():
    return Scene(objects=[SceneObject(kind="bowl", color="purple", x=0.7, y=0.6),
                          SceneObject(kind="ball", color="red", x=0.25, y=0.7),
                          SceneObject(kind="cube", color="green", x=0.3, y=0.3),
                          SceneObject(kind="cube", color="blue", x=0.75, y=0.25)])


ACTION = make_action(_scene(), "put_in", "red_ball", ["purple_bowl"])
GOAL = [C("in", "red_ball", "purple_bowl")]


def _episode(frames, result=None):
    return Episode(first=frames[0], segments=[frames], registry=PerceptionCritic().observe(frames[0]),
                   result=result or {})


def _corrupted(name):
    frames, _, applied = corrupt(name, _scene(), ACTION, 12, 64, fallback=False)
    assert applied == name
    return _episode(frames)


@pytest.fixture(scope="module")
def exact():
    frames, _ = simulate(_scene(), ACTION, 12, 64)
    return _episode(frames)


def test_task_success_needs_every_condition_and_every_object(exact):
    assert task_success.compute(exact, GOAL) == {"task_success": 1.0, "goal_conditions_met": 1.0}
    half = task_success.compute(exact, GOAL + [C("on", "green_cube", "blue_cube")])
    assert half == {"task_success": 0.0, "goal_conditions_met": 0.5}
    # the goal holds but an object is gone from the final frame: no success
    gone = exact.segments[0].copy()
    green = (np.abs(gone[-1].astype(int) - [40, 170, 60]).max(-1) < 60)
    gone[-1][green] = (112, 102, 92)
    r = task_success.compute(_episode(gone), GOAL)
    assert r["goal_conditions_met"] == 1.0 and r["task_success"] == 0.0


def test_permanence_drops_when_an_object_vanishes(exact):
    assert permanence.compute(exact) == {"permanence": 1.0, "no_hallucination": 1.0}
    assert permanence.compute(_corrupted("vanish"))["permanence"] < 1.0
    assert permanence.compute(_corrupted("duplicate"))["no_hallucination"] == 0.0


def test_identity_drift_counts_the_objects_that_change_colour(exact):
    assert identity_drift.compute(exact) == {"identity_kept": 1.0, "drifted_objects": 0.0}
    assert identity_drift.compute(_corrupted("color_drift")) == {"identity_kept": 0.0, "drifted_objects": 1.0}


def test_sudden_switches_see_a_teleport(exact):
    assert sudden_switches.compute(exact) == {"no_sudden_switch": 1.0}
    assert sudden_switches.compute(_corrupted("teleport")) == {"no_sudden_switch": 0.0}


def test_cost_reads_the_result_and_the_overhead_share():
    frames, _ = simulate(_scene(), ACTION, 4, 64)
    ep = _episode(frames, {"generator_calls": 5, "nfe": 10, "retries": 2, "replans": 1, "wall_s": 2.0,
                           "timing": {"plan_s": 0.2, "critic_s": 0.5, "memory_io_s": 0.3, "generate_s": 1.0,
                                      "overlap_s": 0.4},
                           "cost": {"prompt_tokens": 30, "completion_tokens": 12, "speculative_calls_wasted": 1}})
    r = cost.compute(ep)
    assert r["loop_overhead_share"] == pytest.approx((0.2 + 0.5 + 0.3 - 0.4) / 2.0)
    assert (r["generator_calls"], r["nfe"], r["retries"], r["replans"]) == (5.0, 10.0, 2.0, 1.0)
    assert r["tokens"] == 42.0 and r["speculative_calls_wasted"] == 1.0 and r["wall_s"] == 2.0
    assert cost.compute(_episode(frames, {}))["loop_overhead_share"] == 0.0
