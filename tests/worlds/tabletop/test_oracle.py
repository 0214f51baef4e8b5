"""oracle.py: labels of constructed clips from the true start state (no perception)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from spiral.worlds.tabletop.actions import apply, make_action
from spiral.worlds.tabletop.corrupt import NotApplicable, corrupt
from spiral.worlds.tabletop.oracle import infer_state, judged_conditions, label_clip
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.sampling import sample_action
from spiral.worlds.tabletop.scene import SceneSpec, random_scene
from spiral.worlds.tabletop.simulate import simulate

from .helpers import make_scene, obj

T = 12


def _pairs(n: int = 30):
    out = []
    for seed in range(n):
        sc = random_scene(seed, SceneSpec(min_objects=3, max_objects=8, max_bowls=3))
        act = sample_action(sc, random.Random(seed))
        if act is not None:
            out.append((seed, sc, act))
    sc = random_scene(3)
    out.append((3, sc, sample_action(sc, random.Random(3), kinds=("push",))))
    return out


PAIRS = _pairs()


def test_exact_clips_pass_for_every_kind():
    kinds = set()
    for _, sc, act in PAIRS:
        frames, _ = simulate(sc, act, num_frames=T)
        lab = label_clip(sc, act, frames)
        assert lab.label == "pass" and not lab.residue, (act.prompt, lab.problems)
        kinds.add(act.kind)
    assert kinds == {"stack", "move_next_to", "put_in", "push", "pick_place", "swap"}


def test_inferred_state_is_the_exact_end_state():
    for _, sc, act in PAIRS[:12]:
        frames, _ = simulate(sc, act, num_frames=T)
        end, moved = infer_state(sc, frames[-1])
        exact = apply(sc, act)
        assert set(act.moving()) <= moved
        for o in exact.objects:
            e = end.get(o.id)
            assert (e.on, e.in_) == (o.on, o.in_), act.prompt
            assert abs(e.x - o.x) < 0.03 and abs(e.y - o.y) < 0.03, act.prompt


@pytest.mark.parametrize("name,label", [("residue", "physical_violation"), ("static", "missing_action"),
                                        ("nontarget_moves", "physical_violation"),
                                        ("duplicate", "hallucinated_object"), ("teleport", "sudden_switch")])
def test_corrupted_clips_get_their_label(name, label):
    hits = total = 0
    for seed, sc, act in PAIRS[:15]:
        try:
            frames, _, _ = corrupt(name, sc, act, num_frames=T, seed=seed, fallback=False)
        except NotApplicable:
            continue
        lab = label_clip(sc, act, frames)
        total += 1
        hits += lab.label == label
        if name == "residue":
            assert lab.residue and any(d.startswith("residue") for _, d in lab.problems), act.prompt
    assert total >= 5 and hits >= 0.8 * total, f"{name}: {hits} of {total}"


def test_a_ghost_pasted_where_the_subject_stood_is_residue():
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("ball", "green", 0.75, 0.3), obj("bowl", "blue", 0.7, 0.75))
    act = make_action(sc, "pick_place", "red_cube", params={"region": "front-right"})
    frames, _ = simulate(sc, act, num_frames=T)
    assert label_clip(sc, act, frames).label == "pass"
    ghost = frames.copy()
    y, x = int(0.5 * 64), int(0.3 * 64)
    ghost[-1, y - 2:y + 2, x - 2:x + 2] = (150, 100, 90)  # a reddish smudge on the table
    lab = label_clip(sc, act, ghost)
    assert lab.label == "physical_violation" and lab.residue and lab.residue_px >= 16
    assert lab.residue_mask[y, x]
    faint = frames.copy()
    faint[-1, y - 2:y + 2, x - 2:x + 2] += np.uint8(8)  # below visibility: not residue
    assert not label_clip(sc, act, faint).residue


def test_a_displaced_non_target_is_a_physical_violation():
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("ball", "green", 0.75, 0.3), obj("bowl", "blue", 0.7, 0.75))
    act = make_action(sc, "pick_place", "red_cube", params={"region": "back-left"})
    frames, _ = simulate(sc, act, num_frames=T)
    moved = sc.copy_deep()
    moved.get("green_ball").x = 0.6
    end = apply(moved, act)
    frames[-1] = render_scene(end)
    lab = label_clip(sc, act, frames)
    assert lab.label == "physical_violation"
    assert any("green_ball moved" in d for _, d in lab.problems)


def test_next_to_on_another_free_side_is_correct():
    sc = make_scene(obj("cube", "red", 0.25, 0.5), obj("ball", "green", 0.6, 0.5), obj("cube", "blue", 0.8, 0.8))
    planned = make_action(sc, "move_next_to", "red_cube", ["green_ball"], variant=0)
    other = make_action(sc, "move_next_to", "red_cube", ["green_ball"], variant=2)
    assert planned.params["target_xy"] != other.params["target_xy"]
    frames, _ = simulate(sc, other, num_frames=T)
    assert label_clip(sc, planned, frames).label == "pass"
    short = make_action(sc, "pick_place", "red_cube", params={"target_xy": [0.25, 0.75]})
    frames, _ = simulate(sc, short, num_frames=T)  # it moves, but not next to the ball
    assert label_clip(sc, planned, frames).label == "incomplete_action"
    frames[-1] = frames[0]  # back where it was in the last frame: a jump
    assert label_clip(sc, planned, frames).label == "sudden_switch"


def test_a_clearing_step_needs_the_table_not_the_hidden_spot():
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("cube", "white", 0.3, 0.5, on="red_cube"),
                    obj("ball", "green", 0.75, 0.3))
    planned = make_action(sc, "pick_place", "white_cube", params={"region": None}, variant=0)
    elsewhere = make_action(sc, "pick_place", "white_cube", params={"region": None}, variant=3)
    preds = [c.pred for c in judged_conditions(sc, planned)]
    assert "moved_off" in preds and "at" not in preds
    frames, _ = simulate(sc, elsewhere, num_frames=T)
    assert label_clip(sc, planned, frames).label == "pass"
    static = np.repeat(frames[:1], T, axis=0)
    assert label_clip(sc, planned, static).label == "missing_action"


def test_a_chain_is_not_charged_for_what_its_first_frame_already_showed():
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("ball", "green", 0.75, 0.3), obj("bowl", "blue", 0.7, 0.75))
    act = make_action(sc, "pick_place", "green_ball", params={"region": "front-left"})
    frames, _ = simulate(sc, act, num_frames=T)
    old = frames.copy()
    old[:, 10:14, 20:24] = (150, 100, 90)  # an earlier step's smudge, away from every object
    assert label_clip(sc, act, old).label == "pass"
    new = frames.copy()
    y, x = int(0.3 * 64), int(0.75 * 64)
    new[1:, y - 2:y + 2, x - 2:x + 2] = (150, 100, 90)  # where the ball stood, after it left: this clip's
    assert label_clip(sc, act, new).residue


def _paint_out(frames: np.ndarray, ts, color: str) -> np.ndarray:
    """``frames`` with object ``color``'s pixels painted table colour in frames ``ts``."""
    from spiral.worlds.tabletop.oracle import _colour_masks
    from spiral.worlds.tabletop.scene import TABLE_RGB

    out = frames.copy()
    for t in ts:
        out[t][_colour_masks(out[t], color)] = TABLE_RGB
    return out


def test_an_object_gone_for_frames_in_the_middle_vanished():
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("ball", "green", 0.75, 0.3), obj("bowl", "blue", 0.7, 0.75))
    act = make_action(sc, "pick_place", "red_cube", params={"region": "front-right"})
    frames, _ = simulate(sc, act, num_frames=T)
    gone = label_clip(sc, act, _paint_out(frames, range(3, 7), "green"))  # back at the end
    assert gone.label == "physical_violation"
    assert "vanished: green_ball not visible in frames 3..6" in gone.to_json()["problems"]
    moving = label_clip(sc, act, _paint_out(frames, range(3, 6), "red"))  # the subject itself
    assert any(p.startswith("vanished: red_cube") for p in moving.to_json()["problems"])
    flicker = label_clip(sc, act, _paint_out(frames, [4], "green"))  # one frame: flicker, not a vanishing
    assert flicker.label == "pass", flicker.problems


def test_an_object_hidden_under_what_the_step_carries_is_not_gone():
    sc = make_scene(obj("cube", "red", 0.2, 0.5), obj("ball", "green", 0.5, 0.5), obj("bowl", "blue", 0.7, 0.8))
    act = make_action(sc, "pick_place", "red_cube", params={"region": "right"})
    frames, _ = simulate(sc, act, num_frames=T)
    from spiral.worlds.tabletop.oracle import _colour_masks
    from spiral.worlds.tabletop.scene import PALETTE

    hidden = frames.copy()
    for t in (5, 6, 7):  # the carried cube drawn over the ball (a lifted object passing over it)
        hidden[t][_colour_masks(hidden[t], "green")] = PALETTE["red"]
    assert not any(p.startswith("vanished") for p in label_clip(sc, act, hidden).to_json()["problems"])
    from spiral.worlds.tabletop.scene import BOWL_INSIDE_RGB

    bowl = make_action(sc, "pick_place", "blue_bowl", params={"region": "left"})
    frames, _ = simulate(sc, bowl, num_frames=T)
    under = frames.copy()
    for t in (5, 6, 7):  # a moving bowl passing over the ball hides it under its inside
        under[t][_colour_masks(under[t], "green")] = BOWL_INSIDE_RGB
    assert not any(p.startswith("vanished") for p in label_clip(sc, bowl, under).to_json()["problems"])
    assert any(p.startswith("vanished: green_ball") for p in label_clip(sc, act, under).to_json()["problems"])


def test_an_object_already_off_colour_in_the_first_frame_is_not_charged():
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("ball", "green", 0.75, 0.3), obj("bowl", "blue", 0.7, 0.75))
    act = make_action(sc, "pick_place", "red_cube", params={"region": "front-right"})
    frames, _ = simulate(sc, act, num_frames=T)
    from spiral.worlds.tabletop.oracle import _colour_masks

    tinted = frames.copy()
    for t in range(T):  # an earlier step of a chain tinted the ball, and it stays so
        tinted[t][_colour_masks(tinted[t], "green")] = (120, 200, 60)
    assert label_clip(sc, act, tinted).label == "pass"
    late = frames.copy()
    late[-1][_colour_masks(late[-1], "green")] = (200, 60, 200)  # this clip recolours it: charged
    assert label_clip(sc, act, late).label == "identity_drift"
