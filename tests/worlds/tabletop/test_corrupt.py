"""corrupt.py: labelled failure clips (the negatives of the critic-fidelity suite)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from spiral.core.types import FAILURE_TYPES
from spiral.worlds.tabletop import corrupt as corrupt_mod
from spiral.worlds.tabletop.actions import apply, make_action
from spiral.worlds.tabletop.corrupt import CORRUPTIONS, LABELS, NotApplicable, corrupt
from spiral.worlds.tabletop.perception import perceive
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.sampling import sample_action
from spiral.worlds.tabletop.scene import COLORS, random_scene
from spiral.worlds.tabletop.simulate import simulate

from .helpers import make_scene, obj

T = 12


def _pairs():
    out = []
    for seed in (0, 1, 2, 3, 6):  # stack, move_next_to, put_in, push, pick_place
        sc = random_scene(seed)
        out.append((seed, sc, sample_action(sc, random.Random(seed))))
    sc = random_scene(4)
    out.append((4, sc, sample_action(sc, random.Random(4), kinds=("swap",))))
    # the blue cube leaves the red cube it stands on (the one pair ``cut_off`` applies to)
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("cube", "blue", 0.3, 0.5, on="red_cube"),
                    obj("ball", "green", 0.7, 0.3), obj("bowl", "yellow", 0.7, 0.75))
    out.append((7, sc, make_action(sc, "pick_place", "blue_cube", params={"region": "right"})))
    return out


PAIRS = _pairs()


@pytest.fixture(scope="module")
def clips():
    """name → list of (seed, scene, action, clean frames, corrupt result or None if n/a)."""
    out = {name: [] for name in CORRUPTIONS}
    for seed, sc, act in PAIRS:
        clean, _ = simulate(sc, act, num_frames=T)
        for name in CORRUPTIONS:
            try:
                res = corrupt(name, sc, act, num_frames=T, seed=seed, fallback=False)
            except NotApplicable:
                res = None
            out[name].append((seed, sc, act, clean, res))
    return out


def test_pairs_cover_every_action_kind():
    assert all(a is not None for _, _, a in PAIRS)
    assert {a.kind for _, _, a in PAIRS} == {"stack", "move_next_to", "put_in", "push", "pick_place", "swap"}


def test_labels_cover_the_six_failure_types():
    assert set(LABELS) == set(CORRUPTIONS)
    assert set(LABELS.values()) == set(FAILURE_TYPES)
    assert len(FAILURE_TYPES) == 6


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_every_corruption_makes_a_broken_clip(clips, name):
    made = 0
    for seed, sc, act, clean, res in clips[name]:
        if res is None:
            continue
        frames, _state, applied = res
        made += 1
        assert applied == name
        assert frames.shape == (T, 64, 64, 3) and frames.dtype == np.uint8
        assert np.array_equal(frames[0], clean[0]), f"{name} seed {seed}: must start from the real scene"
        assert not np.array_equal(frames, clean), f"{name} seed {seed}: the clip is not broken"
    need = 1 if name == "cut_off" else len(PAIRS) - 2  # cut_off needs a cube leaving a cube
    assert made >= need, f"{name} applies to only {made} of {len(PAIRS)} pairs"


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_fallback(name):
    seed, sc, act = PAIRS[0]
    try:
        corrupt(name, sc, act, seed=seed, fallback=False)
        applicable = True
    except NotApplicable:
        applicable = False
    frames, _, applied = corrupt(name, sc, act, seed=seed)
    assert applied == (name if applicable else "static")
    assert frames.shape == (T, 64, 64, 3)


def test_not_applicable_falls_back_to_static():
    # every colour is in use: no new object can appear
    sc = make_scene(*[obj("ball" if i % 2 else "cube", c, 0.12 + 0.25 * (i % 4), 0.25 + 0.45 * (i // 4))
                      for i, c in enumerate(COLORS)])
    act = make_action(sc, "push", "red_cube", params={"direction": "front"})
    with pytest.raises(NotApplicable, match="every colour"):
        corrupt("new_object", sc, act, fallback=False)
    frames, state, applied = corrupt("new_object", sc, act)
    assert applied == "static" and state == sc
    assert all(np.array_equal(f, frames[0]) for f in frames)


def test_unknown_corruption(demo_scene):
    act = make_action(demo_scene, "push", "blue_cube", params={"direction": "left"})
    with pytest.raises(ValueError, match="unknown corruption 'melt'"):
        corrupt("melt", demo_scene, act)


def test_static(clips):
    for _, sc, _, _, (frames, state, _) in clips["static"]:
        assert all(np.array_equal(f, frames[0]) for f in frames)
        assert np.array_equal(frames[0], render_scene(sc))
        assert state == sc


def test_teleport_ends_in_the_exact_final_state(clips):
    for _, sc, act, clean, (frames, state, _) in clips["teleport"]:
        end = apply(sc, act)
        assert state == end
        assert np.array_equal(frames[-1], render_scene(end))
        # two still shots: the start, then (suddenly) the end
        switch = [t for t in range(1, T) if not np.array_equal(frames[t], frames[t - 1])]
        assert len(switch) == 1 and 2 <= switch[0] <= T - 3
        assert all(np.array_equal(f, clean[0]) for f in frames[: switch[0]])


def test_stop_short_stops_between_start_and_goal(clips):
    for seed, sc, act, _, res in clips["stop_short"]:
        if res is None:
            continue
        frames, state, _ = res
        assert state is None
        known = {o.color: o.kind for o in sc.objects}
        color = sc.get(act.subject).color
        seen = perceive(frames[-1], known=known).scene.by_color(color)
        start, goal = sc.get(act.subject), apply(sc, act).get(act.subject)
        assert math.hypot(seen.x - goal.x, seen.y - goal.y) > 0.05, f"seed {seed}: reached the goal"
        assert math.hypot(seen.x - start.x, seen.y - start.y) > 0.03, f"seed {seed}: never moved"


def test_vanish_removes_an_object(clips):
    for _, sc, _, _, (frames, state, _) in clips["vanish"]:
        assert state is None
        first, last = perceive(frames[0]).colors, perceive(frames[-1]).colors
        assert first == {o.color for o in sc.objects}
        assert len(first - last) == 1 and last <= first


def test_nontarget_moves_moves_a_bystander(clips):
    for seed, sc, act, clean, res in clips["nontarget_moves"]:
        if res is None:
            continue
        frames, state, _ = res
        assert state is None
        known = {o.color: o.kind for o in sc.objects}
        want = perceive(clean[-1], known=known).scene
        got = perceive(frames[-1], known=known).scene
        movers = {sc.get(m).color for m in act.moving()}
        shift = {o.color: math.hypot(o.x - want.by_color(o.color).x, o.y - want.by_color(o.color).y)
                 for o in got.objects}
        assert max(v for c, v in shift.items() if c not in movers) >= 0.08, f"seed {seed}: {shift}"


def test_color_drift_changes_the_subject_colour(clips):
    for _, sc, act, clean, (frames, state, _) in clips["color_drift"]:
        assert state is None
        color = sc.get(act.subject).color
        assert color in perceive(frames[0]).colors
        assert color not in perceive(frames[-1]).colors
        diffs = [int((frames[t] != clean[t]).any(-1).sum()) for t in range(T)]
        assert diffs[0] == 0 and diffs[-1] > 0


def test_duplicate_adds_a_copy(clips):
    for _, sc, _, _, (frames, state, _) in clips["duplicate"]:
        assert state is None
        assert perceive(frames[0]).duplicates == []
        assert len(perceive(frames[-1]).duplicates) == 1


def test_new_object_appears(clips):
    for _, sc, _, _, (frames, state, _) in clips["new_object"]:
        assert state is None
        extra = perceive(frames[-1]).colors - {o.color for o in sc.objects}
        assert len(extra) == 1
        assert perceive(frames[0]).colors == {o.color for o in sc.objects}


def test_wrong_object_moves_another_object(clips):
    for seed, sc, act, _, res in clips["wrong_object"]:
        if res is None:
            continue
        frames, state, _ = res
        assert state is not None
        assert state.get(act.subject) == sc.get(act.subject), f"seed {seed}: the subject moved"
        changed = [o.id for o in sc.objects if state.get(o.id) != o]
        assert changed and act.subject not in changed
        assert np.array_equal(frames[-1], render_scene(state))


@pytest.mark.parametrize("name", ["teleport", "vanish", "stop_short", "color_drift"])
def test_seeded(name):
    _seed, sc, act = PAIRS[1]
    a = corrupt(name, sc, act, seed=3)[0]
    assert a.tobytes() == corrupt(name, sc, act, seed=3)[0].tobytes()


def test_user_corruptions_can_be_registered(monkeypatch, demo_scene):
    def flash(scene, action, T, size, rng):
        frames = np.zeros((T, size, size, 3), np.uint8)
        return frames, None

    monkeypatch.setitem(corrupt_mod.CORRUPTIONS, "flash", flash)
    act = make_action(demo_scene, "push", "blue_cube", params={"direction": "left"})
    frames, state, applied = corrupt("flash", demo_scene, act, num_frames=4, size=32)
    assert applied == "flash" and state is None and frames.shape == (4, 32, 32, 3) and not frames.any()


def test_cut_off_never_uncovers_the_lower_cube(clips):
    from spiral.worlds.tabletop.perception import expected_area

    made = [(sc, act, clean, res) for _, sc, act, clean, res in clips["cut_off"] if res is not None]
    assert len(made) == 1
    for sc, act, clean, (frames, state, _) in made:
        assert state is None
        lower = sc.get(sc.get(act.subject).on).color
        whole = perceive(clean[-1]).blobs[lower].area
        strip = perceive(frames[-1]).blobs[lower].area
        assert whole >= 0.85 * expected_area("cube", 64)  # uncovered in the exact clip
        assert strip == perceive(frames[0]).blobs[lower].area < 0.65 * expected_area("cube", 64)
        # the subject still moves as in the exact clip
        subject = sc.get(act.subject).color
        assert perceive(frames[-1]).blobs[subject].area == perceive(clean[-1]).blobs[subject].area


def test_a_registered_corruption_joins_the_fidelity_suite(monkeypatch):
    from spiral.bench.critic_fidelity import iter_suite
    from spiral.worlds.tabletop.corrupt import register_corruption

    monkeypatch.setattr(corrupt_mod, "CORRUPTIONS", dict(CORRUPTIONS))
    monkeypatch.setattr(corrupt_mod, "LABELS", dict(LABELS))

    def frozen_end(scene, action, T, size, rng):
        frames, _ = simulate(scene, action, T, size)
        out = np.repeat(frames[-1:], T, axis=0)
        out[0] = frames[0]
        return out, None

    register_corruption("frozen_end", frozen_end, "sudden_switch")
    cases = list(iter_suite(n_scenes=2, corruptions=["frozen_end"]))
    bad = [c for c in cases if c.corruption == "frozen_end"]
    assert bad and all(c.label == "sudden_switch" and c.frames.shape[0] == 12 for c in bad)
    with pytest.raises(ValueError, match="unknown failure type 'jumpy'"):
        register_corruption("other", frozen_end, "jumpy")
    with pytest.raises(ValueError, match="exists; pass replace=True"):
        register_corruption("frozen_end", frozen_end, "sudden_switch")
    register_corruption("frozen_end", frozen_end, "physical_violation", replace=True)
    assert corrupt_mod.LABELS["frozen_end"] == "physical_violation"
