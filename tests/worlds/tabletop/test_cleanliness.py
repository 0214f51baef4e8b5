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


def test_a_bowl_is_fitted_to_its_exact_render_from_its_pixels():
    from spiral.worlds.tabletop.cleanliness import bowl_patch, fit_bowl
    from spiral.worlds.tabletop.perception import perceive
    from spiral.worlds.tabletop.render import Item, render_items
    from spiral.worlds.tabletop.scene import PALETTE

    for x, y in ((0.5137, 0.4421), (0.2246, 0.7099)):
        f = render_items([Item("bowl", "green", x, y)], 64)
        b = perceive(f).blobs["green"]
        (fx, fy), patch, (y0, y1, x0, x1) = fit_bowl(f, (b.x0, b.y0, b.x1, b.y1), PALETTE["green"])
        assert abs(fx - x) < 0.001 and abs(fy - y) < 0.001
        assert np.abs(patch - f[y0:y1, x0:x1]).max() <= 12  # a sub-sample at a rim edge at most
        exact = bowl_patch(np.array([[x, y]]), PALETTE["green"], 64, 0, 64, 0, 64)[0]
        assert np.array_equal(exact, f)  # at the true centre it is the renderer's bowl, byte for byte


def test_a_notch_in_a_still_bowl_where_an_object_stood_is_residue():
    """A moved object that overlapped a bowl's rim: the model must repaint the rim, not the table
    (a notch in the ring was invisible to the clean-colour test: table colour is clean)."""
    from spiral.worlds.tabletop.cleanliness import fit_bowl
    from spiral.worlds.tabletop.perception import perceive
    from spiral.worlds.tabletop.scene import PALETTE

    bowl = obj("bowl", "blue", 0.5, 0.5)
    sc = make_scene(bowl, in_bowl("cube", "yellow", bowl, 0), obj("ball", "red", 0.2, 0.25))
    act = make_action(sc, "pick_place", "yellow_cube", params={"region": "front-left"})
    frames, _ = simulate(sc, act, num_frames=12)
    stood, now, lab = _masks(frames, 2)  # yellow
    last = frames[-1]
    b = perceive(last).blobs["blue"]
    _, patch, (y0, y1, x0, x1) = fit_bowl(last, (b.x0, b.y0, b.x1, b.y1), PALETTE["blue"])
    expected = np.zeros(last.shape)
    expected[y0:y1, x0:x1] = patch
    known = np.zeros(last.shape[:2], bool)
    known[y0:y1, x0:x1] = True
    ring = lab == 5  # blue
    assert not residue(last, stood, now & ~ring, labels=lab, expected=expected, known=known)
    notched = last.copy()
    near = ring & np.roll(stood, 2, axis=0) | ring & np.roll(stood, -2, axis=0)  # rim pixels beside it
    ys, xs = np.nonzero(near)
    assert len(ys) >= 6
    notched[ys, xs] = TABLE_RGB  # a gap in the ring, table-coloured: "clean" to the old test
    assert not residue(notched, stood, now & ~ring, labels=lab)  # what the old test saw
    found = residue(notched, stood, now & ~ring, labels=lab, expected=expected, known=known)
    assert found.pixels >= len(ys) - 2


def test_restore_bowls_completes_a_ring_where_an_object_left_it():
    """A cube stood over a bowl's rim; a fill that paints the table where it stood leaves a
    notch. ``restore_bowls`` repaints the ring (and the inside) from the bowl's fitted render,
    and leaves an object that stays in the bowl as it is."""
    from spiral.worlds.tabletop.cleanliness import grow, restore_bowls
    from spiral.worlds.tabletop.perception import classify_pixels
    from spiral.worlds.tabletop.render import render_scene

    with_cube = make_scene(obj("bowl", "blue", 0.5, 0.5), obj("cube", "red", 0.5, 0.37), obj("ball", "green", 0.2, 0.8))
    without = make_scene(obj("bowl", "blue", 0.5, 0.5), obj("ball", "green", 0.2, 0.8))
    frame, exact = render_scene(with_cube, 64), render_scene(without, 64)
    union = classify_pixels(frame) == 0  # the red cube's pixels
    hole = grow(union, 1)
    fill = exact.copy()
    fill[hole] = TABLE_RGB  # a naive fill: table everywhere the cube was
    ring = hole & (np.abs(exact.astype(int) - TABLE_RGB).max(-1) > 0)
    assert ring.sum() >= 10  # the cube did stand over the ring
    fixed = restore_bowls(frame, fill, hole, union)
    err = np.abs(fixed.astype(int) - exact.astype(int)).max(-1)
    assert (err[hole] > 16).sum() <= 1 and (err[~hole] == 0).all()
    keep = fill.copy()
    keep[hole & ring] = (220, 40, 40)  # something red stays there: not the bowl's to repaint
    assert (restore_bowls(frame, keep, hole, union)[hole & ring] == (220, 40, 40)).all()
