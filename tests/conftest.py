import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def pytest_configure(config):
    config.addinivalue_line("markers", "real_default: run with the project's real default generator")


@pytest.fixture(autouse=True, scope="session")
def _mechanics_generator():
    """Loop-mechanics tests use ``sim-faulty`` (exact simulator + known fault rate) as the
    default generator; tests marked ``real_default`` see the shipped default."""
    import spiral.config

    real = spiral.config.DEFAULT_GENERATOR
    spiral.config.DEFAULT_GENERATOR = "sim-faulty"
    yield real
    spiral.config.DEFAULT_GENERATOR = real


@pytest.fixture(autouse=True)
def _real_default(request, monkeypatch, _mechanics_generator):
    if request.node.get_closest_marker("real_default") is not None:
        import spiral.config

        monkeypatch.setattr(spiral.config, "DEFAULT_GENERATOR", _mechanics_generator)


@pytest.fixture
def cfg_factory():
    from spiral.config import build_config

    def make(goal: str = "stack all the cubes", scene_seed: int | None = 5, sets=(), **overrides):
        ov = {"goal": goal, **overrides}
        if scene_seed is not None:
            ov["scene"] = {"seed": scene_seed}
        return build_config(overrides=ov, sets=list(sets))

    return make
