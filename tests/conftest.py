import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


FAST_GENERATOR = "sim-faulty"  # exact simulator + a known fault rate: fast, and failures on demand


def pytest_configure(config):
    config.addinivalue_line("markers", "real_default: a test of the shipped default generator (tiny-ti2v); "
                                       "every test sees it unless it asks for fast_default_generator")


@pytest.fixture
def fast_default_generator(monkeypatch):
    """The default generator swapped for ``sim-faulty``, for loop-mechanics tests that build
    configs or run ``spiral run`` without naming a generator. Opt in explicitly: per module
    ``pytestmark = pytest.mark.usefixtures("fast_default_generator")``, or per test. Every
    other test sees the shipped default (``tiny-ti2v``)."""
    import spiral.config

    monkeypatch.setattr(spiral.config, "DEFAULT_GENERATOR", FAST_GENERATOR)
    return FAST_GENERATOR


@pytest.fixture(scope="module")
def fast_default_generator_module():
    """:func:`fast_default_generator` for a module-scoped fixture that runs episodes."""
    import spiral.config

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(spiral.config, "DEFAULT_GENERATOR", FAST_GENERATOR)
        yield FAST_GENERATOR


@pytest.fixture
def cfg_factory():
    from spiral.config import build_config

    def make(goal: str = "stack all the cubes", scene_seed: int | None = 5, sets=(), **overrides):
        ov = {"goal": goal, **overrides}
        if scene_seed is not None:
            ov["scene"] = {"seed": scene_seed}
        return build_config(overrides=ov, sets=list(sets))

    return make
