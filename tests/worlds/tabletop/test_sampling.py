"""sampling.py: random valid sub-actions."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from spiral.worlds.tabletop.actions import ACTION_KINDS, apply
from spiral.worlds.tabletop.predicates import holds
from spiral.worlds.tabletop.sampling import candidate_actions, sample_action
from spiral.worlds.tabletop.scene import random_scene

from .helpers import make_scene, obj


def test_sampled_actions_are_valid_and_not_yet_done():
    kinds = Counter()
    for seed in range(80):
        sc = random_scene(seed)
        act = sample_action(sc, random.Random(seed))
        assert act is not None, f"seed {seed}: no action found"
        kinds[act.kind] += 1
        assert all(holds(c, sc) for c in act.preconditions), f"seed {seed}: {act.prompt}"
        assert not all(holds(c, sc) for c in act.postconditions), f"seed {seed}: {act.prompt} is already done"
        after = apply(sc, act)
        assert all(holds(c, after) for c in act.postconditions), f"seed {seed}: {act.prompt}"
    assert set(kinds) == set(ACTION_KINDS), kinds


@pytest.mark.parametrize("kind", list(ACTION_KINDS))
def test_restricted_kinds(kind):
    found = 0
    for seed in range(25):
        sc = random_scene(seed)
        act = sample_action(sc, random.Random(seed), kinds=(kind,))
        if act is None:
            continue
        found += 1
        assert act.kind == kind
        spec = ACTION_KINDS[kind]
        assert sc.get(act.subject).kind in spec["subject"]
        assert [sc.get(o).kind in allowed for o, allowed in zip(act.objects, spec["objects"])] == \
            [True] * len(spec["objects"])
        assert all(holds(c, sc) for c in act.preconditions)
        assert not all(holds(c, sc) for c in act.postconditions)
    assert found >= 8, f"only {found} scenes allow a {kind}"


def test_same_rng_same_action():
    sc = random_scene(11)
    a = sample_action(sc, random.Random(5))
    b = sample_action(sc, random.Random(5))
    assert a == b
    many = {sample_action(sc, random.Random(s)).prompt for s in range(20)}
    assert len(many) > 5


def test_none_when_nothing_fits():
    sc = make_scene(obj("ball", "red", 0.3, 0.5), obj("ball", "blue", 0.7, 0.5))
    assert candidate_actions(sc, ("stack",)) == []
    assert candidate_actions(sc, ("put_in",)) == []
    assert sample_action(sc, random.Random(0), kinds=("stack", "put_in")) is None


def test_candidates_respect_the_schema(demo_scene):
    cands = candidate_actions(demo_scene)
    assert ("stack", "green_cube", ["blue_cube"], {}) in cands
    assert ("put_in", "red_ball", ["purple_bowl"], {}) in cands
    assert ("push", "purple_bowl", [], {"direction": "left"}) in cands
    assert not any(k == "stack" and s == "purple_bowl" for k, s, _, _ in cands)
    assert not any(k == "put_in" and o == ["green_cube"] for k, _, o, _ in cands)
    assert not any(s in o for _, s, o, _ in cands)
    assert {k for k, _, _, _ in cands} == set(ACTION_KINDS)
    assert sum(k == "pick_place" for k, _, _, _ in cands) == 5 * 9  # every object × every region
