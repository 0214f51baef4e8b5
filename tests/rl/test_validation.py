"""validation.py: held-out tasks (seed ranges of their own), plan-only strict success, the divergence rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spiral.core.types import Clip
from spiral.rl.validation import Divergence, Validator, load_or_make_tasks, validation_tasks


def test_divergence_needs_reward_up_and_strict_down_k_times_in_a_row():
    d = Divergence(patience=2)
    assert not d.update(0.5, 0.8)
    assert not d.update(0.6, 0.7)  # 1
    assert not d.update(0.5, 0.6)  # reward down: not hacking, the count restarts
    assert not d.update(0.6, 0.5)  # 1
    assert d.update(0.7, 0.4)  # 2
    assert "0.500 to 0.700" in d.describe() and "0.600 to 0.400" in d.describe()
    d.reset()
    assert not d.diverged and not d.update(0.9, 0.1)
    assert not d.update(0.95, 0.2)  # strict up


@pytest.fixture(scope="module")
def tasks():
    return validation_tasks(hard_per_category=1, lite=3)


def test_validation_tasks_are_held_out_and_deterministic(tasks):
    from spiral.bench.tasks import builtin_suite

    assert tasks == validation_tasks(hard_per_category=1, lite=3)
    assert len(tasks) == 7 + 3 and all(t["id"].startswith("val-") for t in tasks)
    scenes = {json.dumps(t["scene"], sort_keys=True) for t in tasks}
    for suite in ("actwm-bench-hard", "actwm-bench-hard-dev", "actwm-bench-lite"):
        for ln in builtin_suite(suite).read_text().splitlines():
            assert json.dumps(json.loads(ln)["scene"], sort_keys=True) not in scenes


class Still:
    """A generator that moves nothing: every goal fails."""

    def generate(self, requests):
        return [Clip(frames=np.stack([r.cond_frame] * r.num_frames), fps=r.fps) for r in requests]


def test_validator_measures_strict_success_plan_only(tmp_path, tasks):
    pytest.importorskip("torch")
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator

    cached = load_or_make_tasks(tmp_path / "val.jsonl", 0, 3)
    assert [t.id for t in cached] == [t["id"] for t in tasks[-3:]]
    assert [t.id for t in load_or_make_tasks(tmp_path / "val.jsonl", 5, 5)] == [t.id for t in cached]  # the cache
    v = Validator(cached)
    still = v.evaluate(Still())
    assert still["strict"] == 0.0 and still["lenient"] == 0.0 and still["n"] == 3
    model = v.evaluate(TinyTI2VGenerator())
    assert model["strict"] > 0.0 and model["lenient"] >= model["strict"]
    assert set(model["by_category"]) == {"single", "short", "long"}
    assert model == v.evaluate(TinyTI2VGenerator())  # same weights, same result
