"""cleanliness.py: residue where moved objects stood, from pixels only."""

from __future__ import annotations

import numpy as np

from spiral.worlds.tabletop.actions import make_action
from spiral.worlds.tabletop.cleanliness import residue, unclean
from spiral.worlds.tabletop.perception import classify_pixels
from spiral.worlds.tabletop.scene import BOWL_INSIDE_RGB, TABLE_RGB
from spiral.worlds.tabletop.simulate import simulate

from .helpers import in_bowl, make_scene, obj


def _masks(frames: np.ndarray, color_index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lab0, lab1 = classify_pixels(frames[0]), classify_pixels(frames[-1])
    return lab0 == color_index, lab1 >= 0, lab1


def test_clean_table_and_bowl_inside_are_clean():
    f = np.zeros((4, 4, 3), np.uint8)
    f[:2] = TABLE_RGB
    f[2:] = BOWL_INSIDE_RGB
    assert not unclean(f).any()
    f[0, 0] = (140, 100, 90)
    assert unclean(f).sum() == 1


def test_exact_move_leaves_no_residue_and_a_smudge_is_found_where_it_stood():
    sc = make_scene(obj("cube", "red", 0.3, 0.5), obj("ball", "green", 0.75, 0.3), obj("bowl", "blue", 0.7, 0.75))
    act = make_action(sc, "pick_place", "red_cube", params={"region": "front-right"})
    frames, _ = simulate(sc, act, num_frames=12)
    stood, now, lab = _masks(frames, 0)  # red is the palette's first colour
    assert not residue(frames[-1], stood, now, labels=lab)
    assert not residue(frames[-1], stood, now)
    y, x = int(0.5 * 64), int(0.3 * 64)
    smudged = frames[-1].copy()
    smudged[y - 2:y + 2, x - 2:x + 2] = (140, 98, 88)  # a faint reddish ghost
    found = residue(smudged, stood, now, labels=classify_pixels(smudged))
    assert found.pixels == 16 and abs(found.center[0] - 0.3) < 0.03 and abs(found.center[1] - 0.5) < 0.03
    faint = frames[-1].copy()
    faint[y - 2:y + 2, x - 2:x + 2] = np.asarray(TABLE_RGB) + 8  # below the tolerance
    assert not residue(faint, stood, now, labels=classify_pixels(faint))


def test_an_object_leaving_a_bowl_must_leave_its_inside_clean():
    bowl = obj("bowl", "blue", 0.5, 0.5)
    sc = make_scene(bowl, in_bowl("ball", "yellow", bowl, 0), obj("cube", "red", 0.2, 0.25))
    act = make_action(sc, "pick_place", "yellow_ball", params={"region": "front-left"})
    frames, _ = simulate(sc, act, num_frames=12)
    stood, now, lab = _masks(frames, 2)  # yellow
    assert not residue(frames[-1], stood, now, labels=lab)  # the ring's soft edges are no residue
    ys, xs = np.nonzero(stood)
    smudged = frames[-1].copy()
    smudged[ys, xs] = (110, 100, 70)  # a yellowish grey blot on the bowl's dark inside
    assert residue(smudged, stood, now, labels=classify_pixels(smudged))
