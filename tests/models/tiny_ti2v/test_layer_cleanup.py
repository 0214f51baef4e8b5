"""The sampler's layer clean-up from the conditioning frame's colour components."""

import numpy as np

from spiral.models.tiny_ti2v.sampling import _dilate, clean_fill, colour_parts, palette_labels, prune_mask
from spiral.worlds.tabletop.actions import make_action
from spiral.worlds.tabletop.perception import expected_area, perceive
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import PALETTE, TABLE_RGB, Scene, SceneObject
from spiral.worlds.tabletop.targets import step_targets

BLUE, RED, GREEN = (list(PALETTE).index(c) for c in ("blue", "red", "green"))


def _scene():
    return Scene(objects=[SceneObject(kind="bowl", color="blue", x=0.5, y=0.35),
                          SceneObject(kind="cube", color="red", x=0.5, y=0.35, slot=0, **{"in": "blue_bowl"}),
                          SceneObject(kind="cube", color="green", x=0.2, y=0.75),
                          SceneObject(kind="cube", color="yellow", x=0.2, y=0.75, on="green_cube")])


def _composite(frame, fill, mask):
    out = frame.copy()
    hole = _dilate(mask)
    out[hole] = fill[hole]
    return out


def test_a_layer_drops_the_ring_pixels_it_grabbed_but_keeps_what_it_carries():
    sc = _scene()
    frame = render_scene(sc)
    parts, _ = colour_parts(frame)
    lab = palette_labels(frame)
    cube = step_targets(sc, make_action(sc, "pick_place", "red_cube", params={"region": "right"})).mask_a > 0
    grown = cube
    for _ in range(3):
        grown = _dilate(grown)
    ring = grown & (lab == BLUE)  # a strip of ring pixels next to the cube
    assert 3 < ring.sum() < cube.sum()
    assert np.array_equal(prune_mask(cube | ring, parts, 0.65), cube)
    # a bowl moves with its contents, a cube with the cube on top of it
    bowl = step_targets(sc, make_action(sc, "pick_place", "blue_bowl", params={"region": "right"})).mask_a > 0
    assert (bowl & (lab == RED)).any()
    assert np.array_equal(prune_mask(bowl, parts, 0.65), bowl)
    tower = step_targets(sc, make_action(sc, "pick_place", "green_cube", params={"region": "right"})).mask_a > 0
    assert np.array_equal(prune_mask(tower, parts, 0.65), tower)


def test_the_revealed_background_loses_copy_ghosts_and_completes_the_cube_below():
    sc = _scene()
    frame = render_scene(sc)
    parts, colours = colour_parts(frame)
    t = step_targets(sc, make_action(sc, "pick_place", "red_cube", params={"region": "right"}))
    mask = t.mask_a > 0
    ys, xs = np.nonzero(mask)
    fill = t.fill.copy()
    fill[ys.min():ys.min() + 3, xs.min():xs.max() + 1] = PALETTE["red"]  # a ghost of the cube that left
    fill[ys.max() - 2:ys.max() + 1, xs.min():xs.min() + 3] = PALETTE["blue"]  # ring copied into the bowl
    out = clean_fill(frame, fill, mask, parts, colours, 0.65)
    lab = palette_labels(_composite(frame, out, mask))
    assert not (_dilate(mask) & np.isin(lab, [RED, BLUE]) & ~(palette_labels(frame) == BLUE)).any()
    # the exact fill has nothing to clean
    assert np.array_equal(clean_fill(frame, t.fill, mask, parts, colours, 0.65), t.fill)

    # a lifted cube uncovers the cube under it: a fill that stops two rows short is completed
    t = step_targets(sc, make_action(sc, "pick_place", "yellow_cube", params={"region": "right"}))
    mask = t.mask_a > 0
    gy = np.nonzero(palette_labels(t.fill) == GREEN)[0]
    short = t.fill.copy()
    short[gy.min():gy.min() + 2] = TABLE_RGB
    assert perceive(_composite(frame, short, mask)).blobs["green"].area < 0.75 * expected_area("cube", 64)
    out = clean_fill(frame, short, mask, parts, colours, 0.65)
    assert perceive(_composite(frame, out, mask)).blobs["green"].area >= 0.75 * expected_area("cube", 64)
