"""ActWM-Bench Hard: out of the training distribution by construction, checked from the
tasks themselves (not from their labels)."""

from __future__ import annotations

import json
import random

import jsonschema
import pytest

from spiral.bench.suites import make_hard
from spiral.bench.tasks import HARD_CATEGORIES, builtin_suite, load_tasks, plan_movable, task_schema
from spiral.data.actwm_lite import DatasetSpec
from spiral.worlds.tabletop.actions import apply
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses, provisional_conditions
from spiral.worlds.tabletop.predicates import holds
from spiral.worlds.tabletop.scene import MAX_STACK, RANDOM_MAX_STACK, Scene, SceneSpec


@pytest.fixture(scope="module")
def hard():
    """Each task with its scene and its reference plan, computed here."""
    out = []
    for t in load_tasks(builtin_suite("hard")):
        scene = Scene.model_validate(t.scene)
        clauses = parse_goal(t.goal, scene)
        steps, _, _ = plan_clauses(scene, clauses)
        out.append((t, scene, clauses, steps))
    return out


def _towers(scene, steps) -> int:
    tallest, state = make_hard.max_tower(scene), scene
    for s in steps:
        state = apply(state, s)
        tallest = max(tallest, make_hard.max_tower(state))
    return tallest


def test_hard_is_a_valid_suite_of_at_least_200_tasks_in_every_category(hard):
    assert len(hard) >= 200
    assert {t.category for t, *_ in hard} == set(HARD_CATEGORIES)
    assert builtin_suite("hard") == builtin_suite("actwm-bench-hard")
    schema = task_schema()
    for line in builtin_suite("hard").read_text().splitlines()[::10]:
        jsonschema.validate(json.loads(line), schema)


def test_every_hard_task_is_solved_by_its_own_plan_and_lists_what_it_moves(hard):
    for t, scene, clauses, steps in hard:
        assert len(steps) == t.horizon == len(t.expectations), t.id
        assert t.movable == plan_movable(scene, steps), t.id
        loose = provisional_conditions(clauses)
        assert not [c for c in t.success if c in loose], t.id
        state = scene
        for s in steps:
            state = apply(state, s)
        assert t.success and all(holds(c, state) for c in t.success), t.id
        assert make_hard.in_frame(scene, steps), t.id
        assert make_hard.plans_as_seen(scene, t.goal, steps), t.id  # the run's planner plans what it sees


def test_every_hard_scene_is_larger_than_any_the_dataset_generator_makes(hard):
    spec = DatasetSpec()
    assert min(len(scene.objects) for _, scene, _, _ in hard) >= 7 > spec.max_objects
    assert max(len(scene.objects) for _, scene, _, _ in hard) == 8  # the palette's 8 colours


def test_the_features_each_task_lists_are_what_it_holds(hard):
    """Each listed feature is recomputed from the task: scene, goal text and plan."""
    vocab = make_hard.model_vocab()
    for t, scene, clauses, steps in hard:
        assert t.features == make_hard.features(scene, t.goal, clauses, steps, vocab), t.id
        assert t.category in t.features or t.category == "crowded" and len(scene.objects) == 8, t.id


def test_per_feature_claims_are_outside_the_dataset_support(hard):
    spec, scene_spec = DatasetSpec(), SceneSpec()
    vocab = make_hard.model_vocab()
    by_cat: dict[str, list] = {}
    for item in hard:
        by_cat.setdefault(item[0].category, []).append(item)
    # the dataset's scenes hold one bowl at most; every 'bowls' task has two or three, and uses two
    assert scene_spec.max_bowls == 1
    for t, scene, _, steps in by_cat["bowls"]:
        assert 2 <= sum(o.kind == "bowl" for o in scene.objects) <= 3, t.id
        assert len({s.objects[0] for s in steps if s.kind == "put_in"}) >= 2, t.id
    # stacked starts: a goal's subject is under another cube, so the plan clears it first
    for t, scene, clauses, steps in by_cat["under"] + by_cat["clearing"]:
        subjects = {c.get("subject") for c in clauses}
        assert any(s and scene.above(s) is not None for s in subjects), t.id
        assert any(make_hard.is_clearing(s) for s in steps), t.id
    assert all(sum(make_hard.is_clearing(s) for s in steps) >= 2 for _, _, _, steps in by_cat["clearing"])
    # towers of 4-5 (the random scenes' own bound is 4, the dataset's goals never build higher)
    heights = [_towers(scene, steps) for _, scene, _, steps in by_cat["tower"]]
    assert min(heights) >= 4 and max(heights) == MAX_STACK == RANDOM_MAX_STACK + 1
    # chains longer than any dataset episode
    assert all(8 <= len(steps) <= 12 and len(steps) > spec.max_steps for _, _, _, steps in by_cat["chain"])
    # words the model's vocabulary (every word of the dataset's prompts) does not hold
    for t, *_ in by_cat["wording"]:
        assert make_hard.unseen_words(t.goal, vocab), t.id


def test_the_dataset_generator_never_plans_a_clearing_step():
    """Its goals are chains of sampled actions whose pre-conditions hold, kept only when the
    plan has exactly that many steps: no goal of it needs a cube cleared first, which is
    what the under and clearing categories need."""
    from spiral.worlds.tabletop.goal_gen import random_goal
    from spiral.worlds.tabletop.scene import random_scene

    seen = 0
    for seed in range(40):
        scene = random_scene(seed, SceneSpec(min_objects=3, max_objects=6, p_stacked=0.6))
        goal = random_goal(scene, random.Random(seed), 3)
        if goal is None:
            continue
        steps, _, _ = plan_clauses(scene, parse_goal(goal, scene))
        assert not any(make_hard.is_clearing(s) for s in steps), goal
        seen += 1
    assert seen >= 20


def test_regenerating_gives_the_shipped_tasks():
    """Each category has its own seed stream, so the first task of each regenerates alone."""
    first = json.loads(json.dumps(make_hard.make(per_category=1)))  # as written to the file
    shipped = {t["id"]: t for t in map(json.loads, builtin_suite("hard").read_text().splitlines())}
    assert [t["id"] for t in first] == [f"hard-{c}-000" for c in HARD_CATEGORIES]
    for t in first:
        assert shipped[t["id"]] == t


def test_hard_categories_load_and_old_files_without_the_new_fields_still_load(tmp_path):
    line = json.loads(builtin_suite("lite").read_text().splitlines()[0])
    line.pop("movable")
    p = tmp_path / "old.jsonl"
    p.write_text(json.dumps(line) + "\n")
    (t,) = load_tasks(p)
    assert t.movable is None and t.features == []
