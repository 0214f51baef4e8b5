"""Judging the world model: chains from its own output and from the true frame."""

import numpy as np

from spiral.bench.world_model import eval_chains, eval_chains_teacher_forced
from spiral.core.types import Clip


class _Still:
    """A generator that never moves anything."""

    def __init__(self):
        self.conds = []

    def generate(self, reqs):
        self.conds += [r.cond_frame for r in reqs]
        return [Clip(frames=np.repeat(r.cond_frame[None], r.num_frames, 0)) for r in reqs]


def test_teacher_forced_chains_start_every_step_from_the_true_frame():
    still = _Still()
    tf = eval_chains_teacher_forced(still, n=2, length=3)
    assert tf["step_success"] == [0.0, 0.0, 0.0] and tf["all_steps_right"] == 0.0
    assert tf["failures"] == {"missing_action": 6}
    # the second step's frame is the simulator's state after the first step, not the
    # (unmoved) first frame the still generator returned
    assert not np.array_equal(still.conds[0], still.conds[1])
    # the own-output chains of the same generator die at the first step
    own = eval_chains(_Still(), n=2, length=3, keyframes=False)
    assert own["all_correct_so_far"] == [0.0, 0.0, 0.0]


def test_the_shipped_model_gets_most_teacher_forced_steps_right():
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator

    tf = eval_chains_teacher_forced(TinyTI2VGenerator(), n=4, length=4)
    # measured: 96-97 % of steps over 200 chains (benchmarks/bench_tiny_ti2v.py --teacher-forced)
    assert np.mean(tf["step_success"]) >= 0.75
