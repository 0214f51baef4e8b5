"""The held-out goal sets (data/paraphrases_heldout*.jsonl): goals written from the user
documentation and the scenes alone, each set committed before the planner first ran on it
(see make_heldout.py). Their first-run scores are in docs/goals.md; these tests keep the
scores reached since from slipping (a small margin below them), and keep the planner from
ever planning a goal that should be refused or planning the wrong steps."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from spiral import errors
from spiral.errors import SpiralError
from spiral.worlds.tabletop.goal_text import fix_typo
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
from spiral.worlds.tabletop.scene import Scene

DATA = Path(__file__).parent / "data"
# share of the goals with a plan that get it: reached, less a margin of about 2 goals
BARS = {"paraphrases_heldout.jsonl": 0.975, "paraphrases_heldout2.jsonl": 0.96, "paraphrases_heldout3.jsonl": 0.97}


def cases(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines()]


def outcome(case: dict) -> str:
    """``ok``, ``refused`` (a goal with a plan refused), ``wrong`` (other steps planned, or
    a plan for a goal to refuse) or ``other_refusal`` (refused, but not as expected)."""
    scene = Scene.model_validate(case["scene"])
    try:
        steps, _, _ = plan_clauses(scene, parse_goal(case["goal"], scene))
    except SpiralError as exc:
        if case["expect"] != "refuse":
            return "refused"
        ok = case["error"] is None or isinstance(exc, getattr(errors, case["error"]))
        return "ok" if ok and (case["question"] is None or case["question"] in exc.message) else "other_refusal"
    if case["expect"] == "refuse":
        return "wrong"
    got = [[s.kind, s.subject, s.objects, {k: s.params.get(k) for k in want[3]}]
           for s, want in zip(steps, case["plan"])]
    return "ok" if len(steps) == len(case["plan"]) and got == case["plan"] else "wrong"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, DATA / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_files_are_what_their_scripts_write():
    assert _script("make_heldout").lines() == cases("paraphrases_heldout.jsonl")
    assert _script("make_heldout2").lines2() == cases("paraphrases_heldout2.jsonl")
    assert _script("make_heldout3").lines3() == cases("paraphrases_heldout3.jsonl")


def test_the_sets_are_big_and_varied_enough():
    first, second = cases("paraphrases_heldout.jsonl"), cases("paraphrases_heldout2.jsonl")
    second += cases("paraphrases_heldout3.jsonl")
    assert len(first) >= 200 and len(second) >= 160
    assert len({json.dumps(c["scene"], sort_keys=True) for c in first}) >= 20
    assert sum(c["expect"] == "refuse" and c["hostile"] for c in first) >= 20
    assert len({c["id"] for c in first + second}) == len(first) + len(second)


@pytest.mark.parametrize("name", sorted(BARS))
def test_heldout_scores_hold(name):
    rows = [(c, outcome(c)) for c in cases(name)]
    plans = [(c, o) for c, o in rows if c["expect"] == "plan"]
    right = sum(o == "ok" for _, o in plans) / len(plans)
    misses = "\n".join(f"{c['id']} {c['goal'][:80]!r}: {o}" for c, o in rows if o != "ok")
    assert right >= BARS[name], misses
    wrong = [f"{c['id']} {c['goal'][:80]!r}" for c, o in rows if o == "wrong"]
    assert not wrong, "planned what the user did not ask:\n" + "\n".join(wrong)
    refusals = [o for c, o in rows if c["expect"] == "refuse"]
    assert sum(o == "ok" for o in refusals) / len(refusals) >= 0.95, misses


# -- the kinds of misses the first held-out run found (one goal of each kind, scene "demo"
#    = the demo scene: red ball, green cube, blue cube, yellow ball, purple bowl) -----------
def _demo() -> Scene:
    return Scene.model_validate(next(c["scene"] for c in cases("paraphrases_heldout.jsonl")
                                     if c["id"].startswith("held-demo-")))


def _plan(goal: str, scene: Scene | None = None) -> list[tuple]:
    scene = scene or _demo()
    steps, _, _ = plan_clauses(scene, parse_goal(goal, scene))
    return [(s.kind, s.subject, *s.objects, s.params.get("region") or s.params.get("direction")) for s in steps]


@pytest.mark.parametrize("goal, plan", [
    # a verbless clause with its own "next to" target keeps it (it was read as "the ball closest to …")
    ("put the red ball in the bowl, then the yellow ball next to the blue cube",
     [("put_in", "red_ball", "purple_bowl", None), ("move_next_to", "yellow_ball", "blue_cube", None)]),
    # "in it" is the bowl when "it" (the previous subject) is not one; a bare "in" too
    ("put the green cube in the bowl, then put the red ball in it too",
     [("put_in", "green_cube", "purple_bowl", None), ("put_in", "red_ball", "purple_bowl", None)]),
    ("put the red ball in the bowl, then take it out and put the yellow ball in",
     [("put_in", "red_ball", "purple_bowl", None), ("pick_place", "red_ball", None),
      ("put_in", "yellow_ball", "purple_bowl", None)]),
    ("put the ball closest to the purple bowl in it", None),  # two balls about as close: a question
    ("move the red ball to the purple bowl", [("put_in", "red_ball", "purple_bowl", None)]),
    ("red ball -> bowl", [("put_in", "red_ball", "purple_bowl", None)]),
    ("put red ball inside of the bowl", [("put_in", "red_ball", "purple_bowl", None)]),
    ("make green cube to go on blue cube", [("stack", "green_cube", "blue_cube", None)]),
    ("put the green cube on the blue cube please and thank you", [("stack", "green_cube", "blue_cube", None)]),
    ("put both balls and the green cube in the bowl",
     [("put_in", "red_ball", "purple_bowl", None), ("put_in", "yellow_ball", "purple_bowl", None),
      ("put_in", "green_cube", "purple_bowl", None)]),
    ("stack both cubes with blue at the bottom and green on top", [("stack", "green_cube", "blue_cube", None)]),
    ("stack the green cube on the blue one, then put the top cube in the bowl",
     [("stack", "green_cube", "blue_cube", None), ("put_in", "green_cube", "purple_bowl", None)]),
    ("put the red bal in the bowl", [("put_in", "red_ball", "purple_bowl", None)]),
    ("stak the green cube on teh blue cube", [("stack", "green_cube", "blue_cube", None)]),
    ("move the green cube to the front", [("pick_place", "green_cube", "front")]),
    ("move the blue cube left", [("push", "blue_cube", "left")]),
])
def test_kinds_of_misses_of_the_first_heldout_run(goal, plan):
    if plan is None:
        with pytest.raises(errors.AmbiguousGoalError):
            _plan(goal)
    else:
        assert _plan(goal) == plan


def test_in_it_and_a_bare_in_with_two_bowls():
    """Two bowls: "in it" is the bowl the subject phrase names; a bare "in" with no bowl
    named before is a question."""
    scene = Scene.model_validate(next(c["scene"] for c in cases("paraphrases_heldout.jsonl")
                                      if c["id"].startswith("held-bowls-")))
    assert _plan("put the ball closest to the yellow bowl in it", scene) == [("put_in", "blue_ball", "yellow_bowl", None)]
    with pytest.raises(errors.AmbiguousGoalError, match="which bowl"):
        _plan("put the red ball in", scene)


def test_a_tower_of_n_cubes_that_places_fewer_is_a_question():
    with pytest.raises(errors.AmbiguousGoalError, match="tower of 3"):
        _plan("build a tower out of the three cubes, red at the bottom, blue on top")


@pytest.mark.parametrize("word, fixed", [("bal", "ball"), ("stak", "stack"), ("blu", "blue"), ("gren", "green"),
                                         ("cyn", "cyan"), ("teh", "the"),
                                         # English words and swapped letters are left alone
                                         ("can", "can"), ("bow", "bow"), ("cub", "cub"), ("bwol", "bwol"),
                                         ("rde", "rde"), ("pot", "pot")])
def test_short_words_get_only_a_dropped_letter_back(word, fixed):
    assert fix_typo(word) == fixed


# -- kinds of misses of the second held-out set's first run ------------------------------
def _row() -> Scene:
    return Scene.model_validate(next(c["scene"] for c in cases("paraphrases_heldout.jsonl")
                                     if c["id"].startswith("held-row-")))


def test_kinds_of_misses_of_the_second_heldout_run():
    assert _plan("would you mind putting the red ball in the bowl?") == [("put_in", "red_ball", "purple_bowl", None)]
    assert _plan("put the red ball in the bowl, then take it out and put the green cube in its place") == [
        ("put_in", "red_ball", "purple_bowl", None), ("pick_place", "red_ball", None),
        ("put_in", "green_cube", "purple_bowl", None)]
    # a tower of the three cubes with its bottom and top said: the middle is the third cube
    assert _plan("stack all three cubes: blue at the bottom, red on top", _row()) == [
        ("stack", "green_cube", "blue_cube", None), ("stack", "red_cube", "green_cube", None)]
    with pytest.raises(errors.GoalParseError):  # "its place" with nothing taken out before
        _plan("put the red ball in its place")


def test_a_side_without_the():
    """Third set: "the ball in front" is "the ball at the front"."""
    scene = Scene.model_validate(next(c["scene"] for c in cases("paraphrases_heldout3.jsonl")
                                      if c["id"].startswith("held3-s50-")))  # yellow ball at the front, green at the back
    assert _plan("put the ball in front next to the white cube", scene) == [
        ("move_next_to", "yellow_ball", "white_cube", None)]
    with pytest.raises(errors.AmbiguousGoalError):  # the demo's balls are 0.04 apart front to back
        _plan("put the ball in front next to the green cube")
