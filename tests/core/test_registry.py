import pytest

from spiral.config import ComponentConfig
from spiral.errors import ConfigError
from spiral.registry import available, build, register


def test_builtins_are_registered():
    assert {"sim", "sim-faulty"} <= set(available("generator"))
    assert "symbolic" in available("planner") and "perception" in available("critic")


def test_build_validates_backend_options():
    g = build("generator", ComponentConfig(name="sim-faulty", fault_rate=0.5))
    assert g.fault_rate == 0.5
    with pytest.raises(ConfigError, match="unknown option generator.bogus"):
        build("generator", {"name": "sim", "bogus": 1})
    with pytest.raises(ConfigError, match="available generators"):
        build("generator", "no-such-model")


def test_register_a_custom_backend(monkeypatch):
    from spiral import registry

    monkeypatch.setattr(registry, "_EXTRA", {role: dict(t) for role, t in registry._EXTRA.items()})  # undone after
    register("generator", "custom-sim", "spiral.generators.sim:SimGenerator")
    assert build("generator", "custom-sim").name == "sim"
    from spiral.generators.sim import SimGenerator

    register("generator", "custom-class", SimGenerator)  # the class itself
    assert build("generator", "custom-class").name == "sim"
