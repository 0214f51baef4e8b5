import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture
def cfg_factory():
    from spiral.config import build_config

    def make(goal: str = "stack all the cubes", scene_seed: int | None = 5, sets=(), **overrides):
        ov = {"goal": goal, **overrides}
        if scene_seed is not None:
            ov["scene"] = {"seed": scene_seed}
        return build_config(overrides=ov, sets=list(sets))

    return make
