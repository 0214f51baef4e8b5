"""goals.py: parsing goals into clauses and planning them into valid sub-action sequences."""

from __future__ import annotations

import copy

import pytest

from spiral.core.types import C
from spiral.errors import GoalParseError, ImpossibleGoalError, UnknownObjectError
from spiral.worlds.tabletop.actions import make_action, phrase, phrases, preconditions_hold
from spiral.worlds.tabletop.goals import (
    clause_conditions,
    normalize_region,
    parse_goal,
    plan_clauses,
    split_clauses,
)
from spiral.worlds.tabletop.predicates import holds, in_region

from .helpers import in_bowl, make_scene, obj, run_steps

# (scene fixture, goal, expected steps as (kind, subject, objects))
GOALS = [
    ("bowl_scene", "put the red cube in the blue bowl", [("put_in", "red_cube", ["blue_bowl"])]),
    ("demo_scene", "stack all the cubes", [("stack", "blue_cube", ["green_cube"])]),
    ("balls_scene", "swap the red and green balls", [("swap", "red_ball", ["green_ball"])]),
    ("demo_scene", "put every ball in the bowl",
     [("put_in", "red_ball", ["purple_bowl"]), ("put_in", "yellow_ball", ["purple_bowl"])]),
    ("demo_scene", "clear the left half of the table",
     [("pick_place", "red_ball", []), ("pick_place", "green_cube", [])]),
    ("demo_scene", "stack the green cube on the blue one, then put the red ball in the bowl",
     [("stack", "green_cube", ["blue_cube"]), ("put_in", "red_ball", ["purple_bowl"])]),
    ("demo_scene", "push the blue cube left", [("push", "blue_cube", [])]),
    ("demo_scene", "move the red ball next to the blue cube", [("move_next_to", "red_ball", ["blue_cube"])]),
    ("demo_scene", "move the yellow ball to the back left corner", [("pick_place", "yellow_ball", [])]),
    # states that need extra steps first
    ("tower_scene", "stack all the cubes", [("stack", "blue_cube", ["red_cube"])]),
    ("tower_scene", "clear the left half of the table",
     [("pick_place", "red_cube", []), ("pick_place", "green_cube", [])]),
    ("tower_scene", "put the green cube in the white bowl",
     [("pick_place", "red_cube", []), ("put_in", "green_cube", ["white_bowl"])]),
    ("tower_scene", "stack the green cube on the blue cube, then put the red cube in the bowl",
     [("pick_place", "red_cube", []), ("stack", "green_cube", ["blue_cube"]),
      ("put_in", "red_cube", ["white_bowl"])]),
    ("tower_scene", "move the white bowl to the left side",
     [("pick_place", "white_bowl", [])]),
]


@pytest.mark.parametrize("variant", [0, 1])
@pytest.mark.parametrize("fixture, goal, expected", GOALS, ids=[f"{g[0]}:{g[1]}" for g in GOALS])
def test_plan_reaches_the_goal(request, fixture, goal, expected, variant):
    scene = request.getfixturevalue(fixture)
    clauses = parse_goal(goal, scene)
    steps, conds, final = plan_clauses(scene, clauses, variant=variant)
    assert [(s.kind, s.subject, s.objects) for s in steps] == expected
    assert all(s.prompt for s in steps)
    assert [s.clause for s in steps] == sorted(s.clause for s in steps)
    end = run_steps(scene, steps)  # every step's pre-conditions hold when it runs
    assert end == final
    assert conds, "a plan needs success conditions"
    assert not [str(c) for c in conds if not holds(c, end)]
    assert not all(holds(c, scene) for c in conds), "the goal held before the plan"
    # every clause's own conditions hold at the end (none silently dropped)
    for cl in clauses:
        assert all(holds(c, end) for c in clause_conditions(cl, end)), cl
    # planning the same clauses again from the end state has nothing left to do
    again, _, _ = plan_clauses(end, clauses, variant=variant)
    assert again == []


def test_goal_specific_outcomes(demo_scene, balls_scene, tower_scene):
    sc = demo_scene
    _, _, end = plan_clauses(sc, parse_goal("push the blue cube left", sc))
    assert (end.get("blue_cube").x, end.get("blue_cube").y) == (0.47, 0.3)
    _, conds, end = plan_clauses(sc, parse_goal("stack all the cubes", sc))
    assert end.get("blue_cube").on == "green_cube" and conds == [C("on", "blue_cube", "green_cube")]
    _, conds, end = plan_clauses(sc, parse_goal("clear the left half of the table", sc))
    assert conds == [C("region_empty", region="left")]
    assert all(o.x > 0.5 for o in end.objects)
    _, _, end = plan_clauses(sc, parse_goal("move the yellow ball to the back left corner", sc))
    y = end.get("yellow_ball")
    assert y.x < 0.5 and y.y < 0.5
    _, _, end = plan_clauses(balls_scene, parse_goal("swap the red and green balls", balls_scene))
    assert (end.get("red_ball").x, end.get("red_ball").y) == (0.75, 0.7)
    assert (end.get("green_ball").x, end.get("green_ball").y) == (0.2, 0.3)
    _, _, end = plan_clauses(tower_scene, parse_goal("stack all the cubes", tower_scene))
    assert sorted(end.level(c) for c in ("green_cube", "red_cube", "blue_cube")) == [0, 1, 2]
    _, _, end = plan_clauses(tower_scene, parse_goal("move the white bowl to the left side", tower_scene))
    assert end.get("yellow_ball").in_ == "white_bowl" and end.get("white_bowl").x < 0.5


def test_a_cube_with_a_cube_on_it_is_cleared_first(tower_scene):
    sc = tower_scene
    direct = make_action(sc, "stack", "green_cube", ["blue_cube"])
    assert C("clear", "green_cube") in preconditions_hold(sc, direct)
    steps, _, end = plan_clauses(sc, parse_goal("stack the green cube on the blue one", sc))
    assert [(s.kind, s.subject) for s in steps] == [("pick_place", "red_cube"), ("stack", "green_cube")]
    assert steps[0].prompt == "move the red cube to the table"  # a clearing step names no region
    run_steps(sc, steps)
    assert end.get("green_cube").on == "blue_cube" and end.get("red_cube").on is None


def test_a_tower_is_cleared_top_first():
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("cube", "green", 0.3, 0.5, on="red_cube"),
                    obj("cube", "blue", 0.3, 0.5, on="green_cube"), obj("bowl", "white", 0.75, 0.5))
    steps, _, _ = plan_clauses(sc, parse_goal("put the red cube in the bowl", sc))
    assert [(s.kind, s.subject) for s in steps] == [
        ("pick_place", "blue_cube"), ("pick_place", "green_cube"), ("put_in", "red_cube")]
    run_steps(sc, steps)


def test_clearing_a_half_takes_objects_out_of_a_bowl_on_the_other_half():
    """Regression: a ball in a bowl standing just right of the middle lies in the left half;
    the planner used to return no step (and drop the unmet goal condition)."""
    bowl = obj("bowl", "purple", 0.52, 0.7)
    sc = make_scene(bowl, in_bowl("ball", "red", bowl, 2), obj("cube", "blue", 0.8, 0.3))
    assert sc.get("red_ball").x < 0.5
    clauses = parse_goal("clear the left half", sc)
    steps, conds, end = plan_clauses(sc, clauses)
    assert [(s.kind, s.subject) for s in steps] == [("pick_place", "red_ball")]
    run_steps(sc, steps)
    assert conds == [C("region_empty", region="left")] and holds(conds[0], end)


def test_relative_clauses_are_pinned_for_replanning(demo_scene, balls_scene):
    sc = demo_scene
    clauses = parse_goal("push the blue cube left", sc)
    plan_clauses(sc, clauses)
    assert clauses[0]["target_xy"] == [0.47, 0.3]
    half = sc.copy_deep()
    half.get("blue_cube").x = 0.6  # half-way there
    steps, conds, end = plan_clauses(half, clauses)
    assert len(steps) == 1 and steps[0].params["target_xy"] == [0.47, 0.3]
    assert (end.get("blue_cube").x, end.get("blue_cube").y) == (0.47, 0.3)
    assert conds == [C("at", "blue_cube", xy=(0.47, 0.3))]

    sc = balls_scene
    clauses = parse_goal("swap the red and green balls", sc)
    plan_clauses(sc, clauses)
    assert (clauses[0]["pos_a"], clauses[0]["pos_b"]) == ([0.2, 0.3], [0.75, 0.7])
    half = sc.copy_deep()
    half.get("red_ball").x, half.get("red_ball").y = 0.75, 0.7  # the red ball is already there
    half.get("green_ball").x, half.get("green_ball").y = 0.75, 0.45
    steps, _, end = plan_clauses(half, clauses)
    assert [(s.kind, s.subject, s.params["target_xy"]) for s in steps] == [("pick_place", "green_ball", [0.2, 0.3])]
    assert (end.get("green_ball").x, end.get("green_ball").y) == (0.2, 0.3)


def test_later_clauses_may_undo_earlier_ones(demo_scene):
    sc = demo_scene
    steps, conds, _end = plan_clauses(sc, parse_goal(
        "put the red ball in the bowl, then move the red ball to the back right corner", sc))
    assert [s.kind for s in steps] == ["put_in", "pick_place"]
    run_steps(sc, steps)
    assert conds == [C("in_region", "red_ball", region="back-right")]  # in(red, bowl) no longer holds


# -- parsing ----------------------------------------------------------------------------
def test_split_clauses():
    assert split_clauses("Stack the green cube on the blue one, then put the red ball in the bowl.") == [
        "stack the green cube on the blue one", "put the red ball in the bowl"]
    assert split_clauses("put a in b and stack c on d; swap e and f. Finally push g left") == [
        "put a in b", "stack c on d", "swap e and f", "push g left"]
    assert split_clauses("swap the red and green balls") == ["swap the red and green balls"]
    assert split_clauses("pick up the red ball and place it on the left side") == [
        "pick up the red ball and place it on the left side"]


def test_parse_clause_shapes(demo_scene, tower_scene):
    sc = demo_scene
    assert parse_goal("put every ball in the bowl", sc) == [
        {"kind": "put_every", "object_kind": "ball", "bowl": "purple_bowl"}]
    assert parse_goal("clear the left half of the table", sc) == [{"kind": "clear_region", "region": "left"}]
    assert parse_goal("move the green cube to the back left corner", sc) == [
        {"kind": "place_region", "subject": "green_cube", "region": "back-left"}]
    assert parse_goal("push the red ball toward the camera", sc) == [
        {"kind": "push", "subject": "red_ball", "direction": "front"}]
    assert parse_goal("stack the green cube on the blue one", sc) == [
        {"kind": "stack", "subject": "green_cube", "ref": "blue_cube"}]
    assert parse_goal("stack two cubes", sc) == [{"kind": "stack_all", "count": 2}]
    assert parse_goal("build a tower with all the blocks", sc) == [{"kind": "stack_all", "count": None}]
    assert parse_goal("swap the red ball with the yellow one", sc) == [
        {"kind": "swap", "a": "red_ball", "b": "yellow_ball"}]
    assert parse_goal("move the red ball to the back right corner, then push it left", sc)[1] == {
        "kind": "push", "subject": "red_ball", "direction": "left"}
    assert parse_goal("put the blue cube in the white basket", tower_scene) == [
        {"kind": "put_in", "subject": "blue_cube", "bowl": "white_bowl"}]
    # "it" is what the previous clause acted on, not the bowl or the reference it named last
    assert parse_goal("put the red ball in the bowl, then move it next to the green cube", sc)[1] == {
        "kind": "next_to", "subject": "red_ball", "ref": "green_cube"}
    assert parse_goal("stack the green cube on the blue cube, then put the red ball next to it", sc)[1] == {
        "kind": "next_to", "subject": "red_ball", "ref": "green_cube"}  # "it": the previous clause's subject
    assert parse_goal("drop the green cube on the blue cube", sc) == [
        {"kind": "stack", "subject": "green_cube", "ref": "blue_cube"}]
    for goal, says in (("move the red ball next to the red ball", "next to itself"),
                       ("swap the red ball and the red ball", "with itself")):
        with pytest.raises(GoalParseError, match=says):
            parse_goal(goal, sc)
    sc2 = copy.deepcopy(sc)
    _, _, end = plan_clauses(sc2, parse_goal("put the red ball in the bowl", sc2))
    with pytest.raises(ImpossibleGoalError, match="is in the purple bowl: nothing can stand next to it"):
        plan_clauses(end, parse_goal("move the green cube next to the red ball", end))


@pytest.mark.parametrize("text, region", [
    ("left half", "left"), ("far right corner", "back-right"), ("near left corner", "front-left"),
    ("right back", "back-right"), ("middle", "center"), ("centre", "center"), ("top side", "back"),
    ("bottom", "front"),
])
def test_normalize_region(text, region):
    assert normalize_region(text) == region


def test_normalize_region_rejects_nonsense():
    with pytest.raises(GoalParseError, match="unknown part of the table"):
        normalize_region("upside")


def test_paraphrase_from_the_brief(bowl_scene):
    sc = bowl_scene
    canon = parse_goal("put the red cube in the blue bowl", sc)
    para = parse_goal("place the red block into the blue container", sc)
    assert para == canon
    assert plan_clauses(sc, para)[0] == plan_clauses(sc, canon)[0]


def _paraphrase_cases():
    p = phrases()
    cases = [("move_next_to", "red_ball", ["blue_cube"], {}), ("put_in", "red_ball", ["purple_bowl"], {}),
             ("stack", "green_cube", ["blue_cube"], {}), ("swap", "red_ball", ["yellow_ball"], {}),
             ("swap", "green_cube", ["blue_cube"], {})]
    cases += [("push", "blue_cube", [], {"direction": d}) for d in p["directions"]]
    # a subject that is not in the region yet (yellow ball at (0.8, 0.75), green cube at (0.3, 0.3))
    cases += [("pick_place", "green_cube" if in_region(0.8, 0.75, r) else "yellow_ball", [], {"region": r})
              for r in p["regions"]]
    out = []
    for kind, subject, objects, params in cases:
        extra = max(len(p["directions"].get(params.get("direction"), [0])),
                    len(p["regions"].get(params.get("region"), [0])))
        n = len(p["actions"][kind]) * extra
        texts = sorted({phrase(kind, subject, objects, params, v) for v in range(n)})
        canon = phrase(kind, subject, objects, params, 0)
        out += [pytest.param(canon, t, id=t) for t in texts if t != canon]
    return out


@pytest.mark.parametrize("canonical, text", _paraphrase_cases())
def test_phrasebook_paraphrases_give_the_same_plan(open_scene, canonical, text):
    """Every phrasing in phrases.yaml is accepted by the parser and means the same."""
    a, b = parse_goal(canonical, open_scene), parse_goal(text, open_scene)
    assert b == a
    sa, ca, _ = plan_clauses(open_scene, copy.deepcopy(a))
    sb, cb, _ = plan_clauses(open_scene, copy.deepcopy(b))
    assert sa and ca
    assert [(s.kind, s.subject, s.objects, s.params) for s in sb] == \
        [(s.kind, s.subject, s.objects, s.params) for s in sa]
    assert cb == ca


# -- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("goal", ["", "   ", "\n\t"])
def test_empty_goal(demo_scene, goal):
    with pytest.raises(GoalParseError, match="empty") as e:
        parse_goal(goal, demo_scene)
    assert e.value.hint


@pytest.mark.parametrize("goal", ["asdf qwerty", "flibber the red ball", "make the ball happy", "?!", "then"])
def test_gibberish_goal(demo_scene, goal):
    with pytest.raises(GoalParseError) as e:
        parse_goal(goal, demo_scene)
    assert e.value.hint


def test_gibberish_hint_lists_supported_goals(demo_scene):
    with pytest.raises(GoalParseError, match="can't parse") as e:
        parse_goal("asdf qwerty", demo_scene)
    assert "put X in Y" in e.value.hint and "stack all the cubes" in e.value.hint


def test_too_long_goal(demo_scene):
    with pytest.raises(GoalParseError, match="2000"):
        parse_goal("put the red ball in the bowl " * 100, demo_scene)


def test_unknown_word_in_object_name(demo_scene):
    with pytest.raises(GoalParseError, match="'shiny'") as e:
        parse_goal("put the shiny ball in the bowl", demo_scene)
    assert "colours: red" in e.value.hint


def test_object_the_scene_lacks(demo_scene):
    with pytest.raises(UnknownObjectError) as e:
        parse_goal("put the orange ball in the bowl", demo_scene)
    msg = e.value.message
    assert "orange" in msg
    for name in ("red ball", "green cube", "blue cube", "yellow ball", "purple bowl"):
        assert name in msg


def test_colour_of_the_wrong_kind(demo_scene):
    with pytest.raises(UnknownObjectError, match="the red object is a ball") as e:
        parse_goal("put the red cube in the bowl", demo_scene)
    assert "the red ball" in e.value.hint


def test_kind_the_scene_lacks(balls_scene):
    sc = make_scene(obj("ball", "red", 0.2, 0.3), obj("cube", "blue", 0.6, 0.6))
    with pytest.raises(UnknownObjectError, match=r"no bowl \(it has: red ball, blue cube\)"):
        parse_goal("put the red ball in the bowl", sc)


def test_ambiguous_object(demo_scene):
    with pytest.raises(GoalParseError, match="ambiguous") as e:
        parse_goal("put the cube in the bowl", demo_scene)
    assert "green cube" in e.value.message and "blue cube" in e.value.message
    assert "colour" in e.value.hint


def test_unresolved_it(demo_scene):
    with pytest.raises(GoalParseError, match="'it'"):
        parse_goal("push it left", demo_scene)


def test_too_many_balls_for_the_bowl():
    sc = make_scene(*[obj("ball", c, 0.15 + 0.2 * i, 0.3) for i, c in enumerate(["red", "green", "blue", "yellow"])],
                    obj("bowl", "purple", 0.5, 0.75))
    clauses = parse_goal("put every ball in the bowl", sc)
    with pytest.raises(ImpossibleGoalError, match="room for 3 more") as e:
        plan_clauses(sc, clauses)
    assert "at most 3" in e.value.hint


def test_too_many_cubes_for_a_tower():
    sc = make_scene(*[obj("cube", c, 0.1 + 0.16 * i, 0.4)
                      for i, c in enumerate(["red", "green", "blue", "yellow", "white", "cyan"])])
    with pytest.raises(ImpossibleGoalError, match="at most 5 cubes"):
        plan_clauses(sc, parse_goal("stack all the cubes", sc))
    with pytest.raises(ImpossibleGoalError, match="names 3 cubes but the scene has 6"):
        plan_clauses(sc, parse_goal("stack three cubes", sc))


@pytest.mark.parametrize("goal, match", [
    ("put the red ball on the blue cube", "cannot stack the red ball"),
    ("put the purple bowl in the purple bowl", "cannot put in the purple bowl"),
    ("push the yellow ball left", "in the way"),  # the bowl blocks it
    ("put every bowl in the bowl", None),
])
def test_impossible_or_unparseable_requests(demo_scene, goal, match):
    with pytest.raises((ImpossibleGoalError, GoalParseError), match=match):
        plan_clauses(demo_scene, parse_goal(goal, demo_scene))


def test_push_a_stacked_cube_is_impossible(tower_scene):
    with pytest.raises(ImpossibleGoalError, match="not standing on the table"):
        plan_clauses(tower_scene, parse_goal("push the red cube right", tower_scene))


def test_swap_an_object_in_a_bowl_is_impossible(tower_scene):
    with pytest.raises(ImpossibleGoalError, match="in a bowl"):
        plan_clauses(tower_scene, parse_goal("swap the yellow ball and the blue cube", tower_scene))


def test_clear_only_a_half(demo_scene):
    with pytest.raises(GoalParseError, match="half"):
        parse_goal("clear the center of the table", demo_scene)


def test_too_many_steps(demo_scene):
    with pytest.raises(ImpossibleGoalError, match="more than 1 sub-actions"):
        plan_clauses(demo_scene, parse_goal("put every ball in the bowl", demo_scene), max_steps=1)


# -- provisional pins -------------------------------------------------------------------
def test_pins_taken_on_an_assumed_state_are_provisional(balls_scene):
    from spiral.worlds.tabletop.goals import provisional_conditions

    alone = parse_goal("swap the red and green balls", balls_scene)
    plan_clauses(balls_scene, alone)
    assert alone[0]["provisional"] == [] and provisional_conditions(alone) == []

    push = parse_goal("push the blue cube left", balls_scene)
    plan_clauses(balls_scene, push)
    assert push[0]["provisional"] == []  # its own step moves it: the start is still observed

    cl = parse_goal("move the red ball next to the blue cube, then swap the red and green balls, "
                    "then push the red ball back", balls_scene)
    plan_clauses(balls_scene, cl)
    assert cl[1]["provisional"] == ["pos_a"]  # red moved first: where it stands is assumed
    assert cl[2]["provisional"] == ["target_xy"]
    loose = provisional_conditions(cl)
    # green must end where red was assumed to land; the green ball's own old spot is observed
    assert C("at", "green_ball", xy=tuple(cl[1]["pos_a"])) in loose
    assert C("at", "red_ball", xy=tuple(cl[1]["pos_b"])) not in loose
    assert C("at", "red_ball", xy=tuple(cl[2]["target_xy"])) in loose


def test_unpin_provisional_drops_only_provisional_pins_from_the_given_clause_on(balls_scene):
    from spiral.worlds.tabletop.goals import unpin_provisional

    cl = parse_goal("move the red ball next to the blue cube, then swap the red and green balls", balls_scene)
    plan_clauses(balls_scene, cl)
    out, had = unpin_provisional(cl, 1)
    assert had and "pos_a" not in out[1] and "provisional" not in out[1]
    assert "pos_a" in cl[1]  # the input is left alone
    assert unpin_provisional(cl, 0)[1] is False  # clause 0 has no pins
    plan_clauses(balls_scene, out[1:])
    assert out[1]["provisional"] == [] and out[1]["pos_b"] == [0.75, 0.7]  # pinned on what it was given


def test_next_to_an_object_in_a_bowl_that_already_holds_needs_no_step():
    sc = make_scene(obj("bowl", "purple", 0.5, 0.5), in_bowl("ball", "red", obj("bowl", "purple", 0.5, 0.5), 0),
                    obj("cube", "green", 0.7, 0.455))
    steps, _, _ = plan_clauses(sc, parse_goal("move the green cube next to the red ball", sc))
    assert steps == []


# -- goals as people write them (issue 19) ------------------------------------------------
def _plan(scene, goal):
    steps, conds, end = plan_clauses(scene, parse_goal(goal, scene))
    run_steps(scene, steps)
    return [(s.kind, s.subject, s.objects) for s in steps], conds, end


def test_an_ambiguous_object_is_a_question(demo_scene):
    from spiral.errors import AmbiguousGoalError

    with pytest.raises(AmbiguousGoalError, match=r"^which ball: the red one or the yellow one\?"):
        parse_goal("put the ball in the bowl", demo_scene)
    with pytest.raises(AmbiguousGoalError, match=r"^which ball: the red one or the yellow one\?"):
        parse_goal("move the ball closest to the bowl to the left side", demo_scene)  # 0.30 and 0.31 away


@pytest.mark.parametrize("goal, steps", [
    ("put both balls in the bowl", [("put_in", "red_ball", ["purple_bowl"]), ("put_in", "yellow_ball", ["purple_bowl"])]),
    ("put the yellow and the red ball in the bowl",
     [("put_in", "yellow_ball", ["purple_bowl"]), ("put_in", "red_ball", ["purple_bowl"])]),
    ("put the red ball in the bowl and the yellow one too",
     [("put_in", "red_ball", ["purple_bowl"]), ("put_in", "yellow_ball", ["purple_bowl"])]),
    ("put the red ball in the bowl and the green cube on the blue one",
     [("put_in", "red_ball", ["purple_bowl"]), ("stack", "green_cube", ["blue_cube"])]),
    ("swap the two balls", [("swap", "red_ball", ["yellow_ball"])]),
    ("stack both cubes", [("stack", "blue_cube", ["green_cube"])]),
    ("put the ball on the left in the bowl", [("put_in", "red_ball", ["purple_bowl"])]),
    ("stack the leftmost cube on the rightmost one", [("stack", "green_cube", ["blue_cube"])]),
    ("put the cube on the left on the cube on the right", [("stack", "green_cube", ["blue_cube"])]),
    ("put the red ball in the bowl, then take it out", [("put_in", "red_ball", ["purple_bowl"]),
                                                        ("pick_place", "red_ball", [])]),
    ("red ball in the bowl, then the yellow one", [("put_in", "red_ball", ["purple_bowl"]),
                                                   ("put_in", "yellow_ball", ["purple_bowl"])]),
    ("the red ball, put it in the bowl", [("put_in", "red_ball", ["purple_bowl"])]),
    ("i want the green cube stacked on the blue one", [("stack", "green_cube", ["blue_cube"])]),
    ("push the yellow ball away from the camera", [("push", "yellow_ball", [])]),
    ("stack the cube on the left on the other cube", [("stack", "green_cube", ["blue_cube"])]),  # other than its subject
    ("put the red ball in the bowl, then the other ball too", [("put_in", "red_ball", ["purple_bowl"]),
                                                              ("put_in", "yellow_ball", ["purple_bowl"])]),
])
def test_goals_as_people_write_them(demo_scene, goal, steps):
    assert _plan(demo_scene, goal)[0] == steps


def test_relational_and_tower_references(tower_scene):
    sc = tower_scene  # red on green, blue alone, yellow ball in the white bowl
    assert _plan(sc, "put the cube on top of the green one in the bowl")[0] == [("put_in", "red_cube", ["white_bowl"])]
    assert _plan(sc, "put the cube under the red one in the bowl")[0] == [
        ("pick_place", "red_cube", []), ("put_in", "green_cube", ["white_bowl"])]
    assert _plan(sc, "put the blue cube on the tower")[0] == [("stack", "blue_cube", ["red_cube"])]
    assert _plan(sc, "put the top cube of the tower in the bowl")[0] == [("put_in", "red_cube", ["white_bowl"])]
    assert _plan(sc, "take the cube on top of the green one and put it in the bowl")[0] == [
        ("put_in", "red_cube", ["white_bowl"])]
    steps, conds, _ = _plan(sc, "take the ball out of the bowl")  # the one in it
    assert steps == [("pick_place", "yellow_ball", [])] and conds == [C("on_table", "yellow_ball")]
    assert _plan(sc, "put the red cube back on the table")[0] == [("pick_place", "red_cube", [])]
    assert _plan(sc, "move the red cube to the table")[0] == [("pick_place", "red_cube", [])]  # a clearing step's text
    assert _plan(sc, "take the red cube off the green one and take the yellow ball out of the bowl")[0] == [
        ("pick_place", "red_cube", []), ("pick_place", "yellow_ball", [])]
    with pytest.raises(ImpossibleGoalError, match="already on the table"):
        parse_goal("put the blue cube on the table", sc)
    with pytest.raises(ImpossibleGoalError, match="one cube at a time"):
        parse_goal("move the tower to the left", sc)
    sc2 = make_scene(obj("cube", "red", 0.2, 0.3), obj("cube", "green", 0.5, 0.3), obj("ball", "white", 0.25, 0.75))
    assert _plan(sc2, "stack the red cube on the green one, then move the ball next to the tower")[0] == [
        ("stack", "red_cube", ["green_cube"]), ("move_next_to", "white_ball", ["green_cube"])]


def test_counts_must_match_the_scene(demo_scene):
    from spiral.errors import AmbiguousGoalError

    sc = make_scene(*[obj("cube", c, 0.2 + 0.3 * i, 0.3) for i, c in enumerate(["red", "green", "blue"])],
                    obj("bowl", "white", 0.5, 0.75))
    with pytest.raises(AmbiguousGoalError, match="which 2 cubes: the red one, the green one, the blue one"):
        parse_goal("put both cubes in the bowl", sc)
    with pytest.raises(UnknownObjectError, match="names 3 balls but the scene has 2"):
        parse_goal("put the three balls in the bowl", demo_scene)


def test_next_to_two_objects_is_not_split(demo_scene):
    """"next to the green cube and the blue cube" could mean next to both: not read as two moves."""
    with pytest.raises(GoalParseError):
        parse_goal("move the red ball next to the green cube and the blue cube", demo_scene)
