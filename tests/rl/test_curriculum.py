"""curriculum.py: the shipped YAML, bad files, pools saved and read back, promotion by validation,
and chain requests conditioned on the model's own frames."""

from __future__ import annotations

import numpy as np
import pytest

from spiral.core.types import GenerationRequest
from spiral.errors import ConfigError
from spiral.rl.curriculum import (
    CurriculumSpec,
    TinyCurriculum,
    load_curriculum,
    load_pool,
    save_pool,
    shipped_curriculum,
)


def test_shipped_curriculum_goes_from_atomic_steps_to_long_chains():
    spec = load_curriculum()
    kinds = [(s.kind, s.goal_steps if s.kind == "chain" else None) for s in spec.stages]
    assert kinds[0] == ("atomic", None) and kinds[1][0] == "chain" and kinds[-1][0] == "chain"
    assert kinds[1][1][1] <= 3 < kinds[-1][1][1]  # short goals, then long ones
    assert all(s.promote_at is not None for s in spec.stages[:-1]) and spec.stages[-1].promote_at is None
    assert load_curriculum(shipped_curriculum()) == spec == load_curriculum("tiny-ti2v")
    atomic = load_curriculum("tiny-ti2v-atomic")  # the shipped variant's, by name
    assert atomic.stages[0].kind == "atomic" and atomic.stages[-1].kind == "chain"


def test_bad_curriculum_files_are_refused_with_the_file_named(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("stages:\n  - {name: a, kind: teleport, pool: 3}\n")
    with pytest.raises(ConfigError, match="c.yaml is not valid") as e:
        load_curriculum(p)
    assert "shipped one" in e.value.hint
    with pytest.raises(ConfigError, match="does not exist"):
        load_curriculum(tmp_path / "missing.yaml")
    p.write_text("stages:\n  - {name: a, kind: atomic, pool: 3}\n  - {name: a, kind: atomic, pool: 3}\n")
    with pytest.raises(ConfigError, match="repeat"):
        load_curriculum(p)


def _requests(n, value):
    from spiral.core.types import SubAction

    act = SubAction(kind="push", subject="red_cube", prompt="push the red cube to the left")
    return [GenerationRequest(prompt=f"p{value}-{i}", cond_frame=np.full((8, 8, 3), value + i, np.uint8), action=act,
                              seed=i, height=8, width=8) for i in range(n)]


def test_pool_round_trip(tmp_path):
    reqs = _requests(3, 10)
    save_pool(tmp_path / "s", reqs)
    back = load_pool(tmp_path / "s")
    assert [r.prompt for r in back] == [r.prompt for r in reqs] and back[0].action == reqs[0].action
    assert all(np.array_equal(a.cond_frame, b.cond_frame) for a, b in zip(reqs, back))


def _curriculum(tmp_path, **kw):
    spec = CurriculumSpec.model_validate({"stages": [
        {"name": "one", "kind": "atomic", "pool": 4, "promote_at": 0.8, "min_steps": 10, "max_steps": 30, **kw},
        {"name": "two", "kind": "chain", "pool": 2, "promote_at": 0.9, "min_steps": 0},
        {"name": "three", "kind": "chain", "pool": 2}]})
    for i, name in enumerate(("one", "two", "three")):  # pools ready: nothing to build
        save_pool(tmp_path / "curriculum" / name, _requests(2, 50 * i))
    return TinyCurriculum(spec, policy=None, reward=None, out_dir=tmp_path, requests_per_step=3)


def test_promotion_by_validation_threshold_after_min_steps_or_by_budget(tmp_path):
    cur = _curriculum(tmp_path)
    assert cur.stage == "one" and cur(1, np.random.default_rng(0))[0].prompt.startswith("p0-")
    assert cur.on_validation(5, {"strict": 0.95}) is None  # before min_steps
    assert cur.on_validation(10, {"strict": 0.79}) is None  # below the threshold
    msg = cur.on_validation(10, {"strict": 0.8})
    assert cur.stage == "two" and "one → two" in msg and "0.800 ≥ 0.8" in msg
    assert cur(11, np.random.default_rng(0))[0].prompt.startswith("p50-")  # the next stage's pool
    assert cur.on_validation(12, {"strict": 0.89}) is None and cur.on_validation(13, {"strict": 0.9})
    assert cur.stage == "three" and cur.on_validation(500, {"strict": 1.0}) is None  # the last stage stays
    again = _curriculum(tmp_path)
    again.load_state_dict(cur.state_dict())
    assert again.stage == "three" and again.start == 13
    late = _curriculum(tmp_path)
    assert "30 updates in the stage" in late.on_validation(30, {"strict": 0.1}) and late.stage == "two"


def test_chain_requests_start_from_the_models_own_frames():
    """A goal run through the loop: its second segment's frame is the model's last frame of the first."""
    pytest.importorskip("torch")
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator
    from spiral.rl.curriculum import Stage, chain_goals, loop_segments
    from spiral.rl.tiny_policy import TinyTI2VPolicy
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import Scene

    goals = chain_goals(Stage(name="s", kind="chain", scenes="lite", pool=1, goal_steps=(2, 2)))
    assert len(goals) == 1 and ", then " in goals[0][1]
    policy = TinyTI2VPolicy(trainable="heads")
    segs = loop_segments(policy, goals)
    assert len(segs) == 2 and all(s.action is not None for s in segs)
    assert np.array_equal(segs[0].cond_frame, render_scene(Scene.model_validate(goals[0][0]), 64))
    first = TinyTI2VGenerator(model=policy.model, tokenizer=policy.tok).generate([segs[0]])[0]
    assert np.array_equal(segs[1].cond_frame, first.frames[-1])  # the model's frame, not the simulator's
    from spiral.worlds.tabletop.actions import apply

    exact = render_scene(apply(Scene.model_validate(goals[0][0]), segs[0].action), 64)
    assert not np.array_equal(segs[1].cond_frame, exact)
