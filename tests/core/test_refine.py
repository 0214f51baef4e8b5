"""The refinement policy (spiral/core/refine.py): every retry differs from the attempt before."""

import numpy as np

from spiral.agents.symbolic_planner import SymbolicPlanner
from spiral.core.refine import STRATEGIES, RefinePolicy, clip_change, refine_rules, where_words
from spiral.core.types import GenerationRequest, Verdict
from spiral.worlds.tabletop.actions import make_action
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import Scene, SceneObject
from spiral.worlds.tabletop.simulate import simulate


def _scene():
    return Scene(objects=[SceneObject(kind="bowl", color="blue", x=0.25, y=0.35),
                          SceneObject(kind="bowl", color="cyan", x=0.75, y=0.35),
                          SceneObject(kind="cube", color="yellow", x=0.5, y=0.8)])


def _fail(ftype="incomplete_action"):
    return Verdict(passed=False, scores={"action": 0.0}, failure_type=ftype, feedback="The yellow cube stopped short.")


def _setup(hinting=True, locate=True):
    sc = _scene()
    act = make_action(sc, "put_in", "yellow_cube", ["cyan_bowl"])
    frame = render_scene(sc)
    req = GenerationRequest(prompt=act.prompt, cond_frame=frame, seed=3, action=act)
    # the failed attempt put the cube into the *blue* bowl
    wrong = make_action(sc, "put_in", "yellow_cube", ["blue_bowl"])
    failed, _ = simulate(sc, wrong, 6)
    pol = RefinePolicy(list(STRATEGIES), seed=0, locate=SymbolicPlanner().locate if locate else None,
                       hinting=hinting)
    return pol, req, act, failed


def test_every_strategy_changes_the_request_and_widens_exploration():
    pol, req, act, failed = _setup()
    for s in STRATEGIES:
        new = pol.refine(req, s, _fail(), act, 1, 0, 0, failed=failed)
        assert new.seed != req.seed, s  # never a copy: a new seed at least
        assert new.hints["explore"] >= 1.0, s
    # exploration widens with every retry, and the explore strategy widens it once more
    a2 = pol.refine(req, "reseed", _fail(), act, 2, 0, 0, failed=failed)
    e1 = pol.refine(req, "explore", _fail(), act, 1, 0, 0, failed=failed)
    assert a2.hints["explore"] == 2.0 and e1.hints["explore"] == 2.0
    assert RefinePolicy(list(STRATEGIES), 0, explore=0).refine(req, "reseed", _fail(), act, 1, 0, 0).hints == {}


def test_instruct_says_where_the_subject_must_end_and_where_it_went_wrong():
    pol, req, act, failed = _setup()
    new = pol.refine(req, "instruct", _fail(), act, 1, 0, 0, failed=failed)
    h = new.hints
    # the cyan bowl is on the right (x 0.75), the failed attempt ended in the blue one on the left
    assert abs(h["target"][0] - 0.75) < 0.06 and abs(h["avoid"][-1][0] - 0.25) < 0.06
    assert abs(h["subject"][0] - 0.5) < 0.03
    assert new.prompt == req.prompt  # a generator that takes hints keeps the prompt it knows
    # a generator without hints gets the instruction in words
    words = _setup(hinting=False)[0].refine(req, "instruct", _fail(), act, 1, 0, 0, failed=failed)
    assert words.prompt.startswith(act.prompt) and "right" in words.prompt and "left" in words.prompt
    # no planner that locates: the critic's feedback is the instruction
    fb = _setup(locate=False)[0].refine(req, "instruct", _fail(), act, 1, 0, 0, failed=failed)
    assert "stopped short" in fb.prompt and "target" not in fb.hints


def test_strategy_order_comes_from_the_rules_and_skips_what_was_tried():
    pol = RefinePolicy(list(STRATEGIES), seed=0)
    order = refine_rules()["order"]["incomplete_action"]
    assert pol.choose("incomplete_action", []) == order[0]
    assert pol.choose("incomplete_action", [order[0]]) == order[1]
    only = RefinePolicy(["reseed"], seed=0)
    assert only.choose("incomplete_action", ["reseed"]) == "reseed"


def test_clip_change_and_words():
    a = np.zeros((3, 64, 64, 3), np.uint8)
    b = a.copy()
    assert clip_change(a, b) == 0.0
    b[-1, :4, :4] = 200
    assert clip_change(a, b) == 16 / 4096
    assert where_words([0.1, 0.1]) == "at the back left" and where_words([0.5, 0.5]) == "at the centre"


def test_instruct_keeps_still_what_the_verdict_says_moved_and_should_not():
    pol, req, act, failed = _setup()
    v = Verdict(passed=False, scores={"stillness": 0.2}, failure_type="physical_violation",
                failures=[{"type": "physical_violation", "detail": "blue_bowl moved 0.12 but should stay still",
                           "objects": ["blue_bowl"]}], feedback="The blue bowl moved although it should stay still.")
    h = pol.refine(req, "instruct", v, act, 1, 0, 0, failed=failed).hints
    assert len(h["still"]) == 1 and abs(h["still"][0][0] - 0.25) < 0.05  # where the blue bowl is drawn
    again = pol.refine(req.model_copy(update={"hints": h}), "instruct", v, act, 2, 0, 0, failed=failed).hints
    assert again["still"] == h["still"]  # kept, not repeated
