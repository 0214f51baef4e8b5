"""Sub-action completion: each expectation is judged on the segment of its own step."""

from __future__ import annotations

import numpy as np

from spiral.bench.metrics import subaction_completion
from spiral.bench.metrics._episode import Episode
from spiral.bench.tasks import Expectation
from spiral.core.types import Condition
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import Scene, SceneObject


def _frame(x: float) -> np.ndarray:
    scene = Scene(objects=[SceneObject(kind="ball", color="red", x=x, y=0.5),
                           SceneObject(kind="cube", color="blue", x=0.5, y=0.85)])
    return render_scene(scene)


def _episode() -> Episode:
    left, right = _frame(0.25), _frame(0.75)
    # segment 0 ends with the ball on the left, segment 1 with it on the right
    return Episode(first=left, segments=[np.stack([left, left]), np.stack([left, right])],
                   registry=[{"id": "red_ball", "color": "red", "kind": "ball"},
                             {"id": "blue_cube", "color": "blue", "kind": "cube"}], result={})


def _on(region: str) -> list[Condition]:
    return [Condition(pred="in_region", args=["red_ball"], region=region)]


def test_an_expectation_is_judged_on_its_own_steps_segment():
    ep = _episode()
    # only step 1 is expected: it is judged on segment 1, not on the first segment
    assert subaction_completion.compute(ep, [Expectation(step=1, postconditions=_on("right"))]) == {
        "subaction_completion": 1.0, "first_failure_step": 2.0, "first_failure_frac": 1.0}
    res = subaction_completion.compute(ep, [Expectation(step=1, postconditions=_on("right")),
                                            Expectation(step=0, postconditions=_on("right"))])
    assert res == {"subaction_completion": 0.5, "first_failure_step": 0.0, "first_failure_frac": 0.0}


def test_a_step_without_a_segment_is_incomplete():
    ep = _episode()
    res = subaction_completion.compute(ep, [Expectation(step=0, postconditions=_on("left")),
                                            Expectation(step=2, postconditions=_on("right"))])
    assert res == {"subaction_completion": 0.5, "first_failure_step": 2.0, "first_failure_frac": 0.5}
    assert subaction_completion.compute(ep, [])["subaction_completion"] == 1.0
