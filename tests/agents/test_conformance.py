"""Every registered backend satisfies the protocols the loop is typed against, and says
which optional capabilities it has (checked once by the loop, never probed inside it):
the built-in generators, the diffusers adapters on tiny components, the symbolic and LLM
planners, the perception and VLM critics (the LLM/VLM on the loopback server)."""

import pytest

from spiral.core.protocols import (
    CostReporting,
    Critic,
    Evaluating,
    Generator,
    Grounding,
    Hinting,
    Locating,
    Observing,
    Planner,
    Prechecking,
    Stepped,
)
from spiral.registry import available, load_class

EXPECTED = {  # name -> the optional capabilities it must have (and no others of this list)
    "sim": {Stepped}, "sim-faulty": {Stepped}, "tiny-ti2v": {Hinting, Stepped},
    "symbolic": {Grounding, Locating}, "llm": {CostReporting},
    "perception": {Observing, Prechecking, Evaluating}, "vlm": {CostReporting, Evaluating},
}
CAPS = (Grounding, Locating, Observing, Prechecking, Evaluating, CostReporting, Hinting, Stepped)


def _caps(obj):
    return {c for c in CAPS if isinstance(obj, c)}


@pytest.mark.parametrize("name", ["sim", "sim-faulty", "tiny-ti2v"])
def test_built_in_generators(name):
    gen = load_class("generator", name)()
    assert isinstance(gen, Generator)
    assert _caps(gen) == EXPECTED[name]


def test_every_diffusers_adapter_is_a_generator_with_steps():
    from spiral.generators.diffusers import ADAPTERS
    from spiral.generators.diffusers.testing import dummy_generator

    assert set(ADAPTERS) <= set(available("generator"))
    for family in ADAPTERS:
        gen = dummy_generator(family)
        assert isinstance(gen, Generator) and isinstance(gen, Stepped), family
        assert not isinstance(gen, Hinting), family  # instructions reach them as words


def test_planners(make_client):
    from spiral.agents.llm_planner import LLMPlanner
    from spiral.agents.symbolic_planner import SymbolicPlanner

    for name, planner in (("symbolic", SymbolicPlanner()), ("llm", LLMPlanner(make_client()))):
        assert isinstance(planner, Planner), name
        assert _caps(planner) == EXPECTED[name], name


def test_critics(make_client):
    from spiral.agents.perception_critic import PerceptionCritic
    from spiral.agents.vlm_critic import VLMCritic

    for name, critic in (("perception", PerceptionCritic()), ("vlm", VLMCritic(make_client()))):
        assert isinstance(critic, Critic), name
        assert _caps(critic) == EXPECTED[name], name


def test_every_registered_name_is_covered():
    from spiral.generators.diffusers import ADAPTERS

    for role in ("generator", "planner", "critic"):
        for name in available(role):
            assert name in EXPECTED or (role == "generator" and name in ADAPTERS), (role, name)
