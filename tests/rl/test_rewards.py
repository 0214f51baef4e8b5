"""rewards.py: TRL-style reward callables read from any critic's verdicts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from spiral.core.types import Clip, Failure, GenerationRequest, SubAction, Verdict
from spiral.rl.rewards import (
    RewardWeights,
    cleanliness_reward,
    combine_rewards,
    critique_all,
    has_residue,
    make_reward,
    passed_reward,
    postconditions_reward,
    verdict_reward,
)

ACTION = SubAction(kind="push", subject="red_cube", prompt="push the red cube to the left")
CLEAN = {"action": 1.0, "permanence": 1.0, "stillness": 1.0, "continuity": 1.0, "identity": 1.0,
         "no_hallucination": 1.0}


def _verdict(passed=True, failures=(), **scores):
    return Verdict(passed=passed, scores={**CLEAN, **scores}, failures=list(failures),
                   failure_type=failures[0].type if failures else None)


class ScriptedCritic:
    """Returns the verdicts it was given, in order, and counts its calls."""

    def __init__(self, verdicts):
        self.verdicts = list(verdicts)
        self.calls = 0

    def critique(self, clip, sub_action, memory=None):
        self.calls += 1
        return self.verdicts.pop(0)


def _clips(n):
    return [Clip(frames=np.zeros((2, 8, 8, 3), np.uint8)) for _ in range(n)]


def _req(action=ACTION):
    return GenerationRequest(prompt="p", cond_frame=np.zeros((8, 8, 3), np.uint8), action=action)


def test_weighted_reward_of_a_clean_pass_is_one_and_terms_lower_it():
    assert verdict_reward(_verdict()) == pytest.approx(1.0)
    half = verdict_reward(_verdict(passed=False, action=0.5))
    w = RewardWeights()
    assert half == pytest.approx(1.0 - 0.5 * w.postconditions / w.positive_total())
    assert verdict_reward(_verdict(permanence=0.0)) < 1.0
    unnorm = verdict_reward(_verdict(), RewardWeights(normalize=False))
    assert unnorm == pytest.approx(RewardWeights().positive_total())


def test_residue_failure_is_a_cleanliness_penalty():
    res = Failure(type="physical_violation", detail="residue of red_cube left at its start")
    other = Failure(type="physical_violation", detail="blue_cube moved 0.10 but should stay still")
    assert has_residue(_verdict(False, [res])) and not has_residue(_verdict(False, [other]))
    w = RewardWeights(residue=0.5)
    assert verdict_reward(_verdict(False, [res]), w) == pytest.approx(1.0 - 0.5)
    assert verdict_reward(_verdict(False, [other]), w) == pytest.approx(1.0)
    assert cleanliness_reward(residue=1.0)(_clips(1), [_req()], verdicts=[_verdict(False, [res])]) == [0.0]


def test_none_where_no_sub_action_and_critic_called_once_per_applicable_clip():
    critic = ScriptedCritic([_verdict(), _verdict(False, action=0.0)])
    r = make_reward(critic)
    out = r(_clips(3), [_req(), _req(None), _req()])
    assert out[1] is None and out[0] == pytest.approx(1.0) and out[2] < out[0]
    assert critic.calls == 2
    assert r.__name__ == "critic_reward"


def test_shared_verdicts_are_not_recomputed_and_rewards_combine():
    vs = critique_all(ScriptedCritic([_verdict(False, action=0.5), _verdict()]), _clips(2), [_req(), _req()])
    critic = ScriptedCritic([])  # would fail if called
    combined = combine_rewards([postconditions_reward(critic), passed_reward(critic)], [1.0, 2.0])
    assert combined(_clips(2), [_req(), _req()], verdicts=vs) == [pytest.approx(0.5), pytest.approx(3.0)]
    assert combine_rewards([postconditions_reward()])(_clips(1), [_req(None)], verdicts=[None]) == [None]


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="positive reward weight"):
        RewardWeights(postconditions=0, permanence=0, no_hallucination=0, stillness=0, identity=0)
    with pytest.raises(ValueError, match="one request per clip"):
        make_reward(ScriptedCritic([]))(_clips(2), [_req()])
    with pytest.raises(ValueError, match="verdicts"):
        make_reward()(_clips(1), [_req()])


def test_perception_critic_rewards_a_done_step_above_a_static_one():
    """The real critic: the rendered correct motion earns more than a clip where nothing moves."""
    from spiral.agents.perception_critic import PerceptionCritic
    from spiral.worlds.tabletop.corrupt import _items, _render, corrupt
    from spiral.worlds.tabletop.sampling import sample_action
    from spiral.worlds.tabletop.scene import random_scene

    scene = random_scene(3)
    action = sample_action(scene, random.Random(3), kinds=("push",)) or sample_action(scene, random.Random(3))
    good = _render(_items(scene, action, 12)[0], 64)
    static, _, _ = corrupt("static", scene, action, seed=0)
    req = _req(action)
    out = make_reward(PerceptionCritic())([Clip(frames=good), Clip(frames=static)], [req, req])
    assert out[0] > out[1]
    post = postconditions_reward(PerceptionCritic())([Clip(frames=static), Clip(frames=good)], [req, req])
    assert post[0] < 1.0 and post[1] == 1.0
