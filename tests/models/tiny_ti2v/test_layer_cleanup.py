"""The sampler's layer clean-up from the conditioning frame's colour components."""

import numpy as np

from spiral.generators.tiny_ti2v import tabletop_palette
from spiral.models.tiny_ti2v.sampling import _dilate, clean_fill, colour_parts, palette_labels, prune_mask
from spiral.worlds.tabletop.actions import make_action
from spiral.worlds.tabletop.perception import expected_area, perceive
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import PALETTE, TABLE_RGB, Scene, SceneObject
from spiral.worlds.tabletop.targets import step_targets

BLUE, RED, GREEN = (list(PALETTE).index(c) for c in ("blue", "red", "green"))
PAL = tabletop_palette()  # the world's colours, handed to the model as data


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
    parts, _ = colour_parts(frame, PAL)
    lab = palette_labels(frame, PAL)
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
    parts, colours = colour_parts(frame, PAL)
    t = step_targets(sc, make_action(sc, "pick_place", "red_cube", params={"region": "right"}))
    mask = t.mask_a > 0
    ys, xs = np.nonzero(mask)
    fill = t.fill.copy()
    fill[ys.min():ys.min() + 3, xs.min():xs.max() + 1] = PALETTE["red"]  # a ghost of the cube that left
    fill[ys.max() - 2:ys.max() + 1, xs.min():xs.min() + 3] = PALETTE["blue"]  # ring copied into the bowl
    out = clean_fill(frame, fill, mask, parts, colours, 0.65, PAL)
    lab = palette_labels(_composite(frame, out, mask), PAL)
    assert not (_dilate(mask) & np.isin(lab, [RED, BLUE]) & ~(palette_labels(frame, PAL) == BLUE)).any()
    # the exact fill has nothing to clean (the background is painted in again, a few grey levels apart)
    out = clean_fill(frame, t.fill, mask, parts, colours, 0.65, PAL)
    assert np.abs(out.astype(int) - t.fill).max() <= 8

    # a lifted cube uncovers the cube under it: a fill that stops two rows short is completed
    t = step_targets(sc, make_action(sc, "pick_place", "yellow_cube", params={"region": "right"}))
    mask = t.mask_a > 0
    gy = np.nonzero(palette_labels(t.fill, PAL) == GREEN)[0]
    short = t.fill.copy()
    short[gy.min():gy.min() + 2] = TABLE_RGB
    assert perceive(_composite(frame, short, mask)).blobs["green"].area < 0.75 * expected_area("cube", 64)
    out = clean_fill(frame, short, mask, parts, colours, 0.65, PAL)
    assert perceive(_composite(frame, out, mask)).blobs["green"].area >= 0.75 * expected_area("cube", 64)


def test_a_smudge_where_the_object_stood_is_painted_as_the_table():
    """The network's fill is a blend of the object that left and the table (a grey-green
    smudge on every demo run): the revealed background shows the table instead."""
    sc = _scene()
    frame = render_scene(sc)
    parts, colours = colour_parts(frame, PAL)
    t = step_targets(sc, make_action(sc, "pick_place", "green_cube", params={"region": "right"}))
    mask = t.mask_a > 0
    smudge = t.fill.copy()
    green = np.array(PALETTE["green"], np.float32)
    smudge[mask] = np.round(0.6 * np.asarray(TABLE_RGB, np.float32) + 0.4 * green).astype(np.uint8)
    out = clean_fill(frame, smudge, mask, parts, colours, 0.65, PAL)
    assert np.abs(out[mask].astype(int) - np.asarray(TABLE_RGB)).max() <= 12  # what counts as clean table


def test_a_ball_dropped_into_a_bowl_sheds_the_table_coloured_rim():
    """A layer is composited with its rim's opacity: a ball moved onto a bowl's dark inside
    has no rim of table colour around it (it looked square)."""
    from spiral.models.tiny_ti2v.sampling import render_layers
    from spiral.worlds.tabletop.scene import BOWL_INSIDE_RGB

    sc = Scene(objects=[SceneObject(kind="bowl", color="blue", x=0.5, y=0.5),
                        SceneObject(kind="ball", color="red", x=0.2, y=0.5)])
    frame = render_scene(sc)
    t = step_targets(sc, make_action(sc, "put_in", "red_ball", ["blue_bowl"]))
    mask = t.mask_a > 0
    clip = render_layers(frame, t.fill, [{"mask": mask, "end": t.target_a, "scale": 1.0, "lift": True}], 6, 5.0, 0.1)
    last = clip[-1].astype(float)
    ys, xs = np.nonzero(palette_labels(clip[-1], PAL) == RED)
    box = last[ys.min() - 2:ys.max() + 3, xs.min() - 2:xs.max() + 3].reshape(-1, 3)
    red = np.asarray(PALETTE["red"], float)

    def off_blend(bg):  # distance of each pixel from the blends of red with ``bg``
        d = red - np.asarray(bg, float)
        a = np.clip(((box - bg) @ d) / (d @ d), 0, 1)
        return np.linalg.norm(box - (bg + a[:, None] * d), axis=1)

    # every pixel around the ball is a blend of red with the bowl's inside; none is a blend
    # of red with the table (the rim it had on the table)
    halo = (off_blend(TABLE_RGB) < 6) & (off_blend(BOWL_INSIDE_RGB) > 20)
    assert not halo.any()
    # on the table it left, the layer keeps its pixels (to a rounding)
    still = render_layers(frame, t.fill, [{"mask": mask, "end": _centre(mask), "scale": 1.0, "lift": False}], 3, 0, 0)
    assert np.abs(still[-1][mask].astype(int) - frame[mask]).max() <= 2


def _centre(mask):
    ys, xs = np.nonzero(mask)
    return float(xs.mean() + 0.5), float(ys.mean() + 0.5)


def test_an_instruction_naming_the_subject_makes_the_layer_hold_all_of_it():
    """hints['subject'] (where the instruction says the subject is drawn): a mask that caught
    only part of that object grows to its whole colour component; a mask that holds it, or a
    point with no object near, is left as it is."""
    from spiral.models.tiny_ti2v.sampling import hinted_mask

    sc = Scene(objects=[SceneObject(kind="cube", color="green", x=0.3, y=0.6),
                        SceneObject(kind="ball", color="red", x=0.7, y=0.4)])
    frame = render_scene(sc)
    parts, _ = colour_parts(frame, PAL)
    cube = step_targets(sc, make_action(sc, "pick_place", "green_cube", params={"region": "right"})).mask_a > 0
    green = palette_labels(frame, PAL) == GREEN
    half = cube.copy()
    half[:, : int(np.nonzero(cube)[1].mean())] = False  # the network caught its right half only
    uv = [0.3, 0.6]
    grown = hinted_mask(half, parts, uv, 0.65)
    assert (grown & green).sum() == green.sum() and (half & green).sum() < green.sum()
    assert not (grown & (palette_labels(frame, PAL) == RED)).any()
    assert np.array_equal(hinted_mask(cube, parts, uv, 0.65), cube)
    assert np.array_equal(hinted_mask(half, parts, [0.9, 0.1], 0.65), half)  # nothing drawn there


def test_an_instruction_to_keep_an_object_still_takes_it_out_of_the_layer():
    from spiral.models.tiny_ti2v.sampling import still_mask

    sc = Scene(objects=[SceneObject(kind="cube", color="green", x=0.3, y=0.6),
                        SceneObject(kind="ball", color="red", x=0.42, y=0.6)])
    frame = render_scene(sc)
    parts, _ = colour_parts(frame, PAL)
    lab = palette_labels(frame, PAL)
    both = (lab == GREEN) | (lab == RED)  # a layer that grabbed the ball beside the cube
    kept = still_mask(both, parts, [0.42, 0.6], keep_uv=[0.3, 0.6])
    assert not (kept & (lab == RED)).any() and (kept & (lab == GREEN)).sum() == (lab == GREEN).sum()
    # never the subject itself
    assert np.array_equal(still_mask(both, parts, [0.3, 0.6], keep_uv=[0.3, 0.6]), both)


def test_the_world_restores_what_it_knows_the_shape_of_after_the_fill():
    """``RenderPalette.restore`` (the tabletop's: complete the bowls a mover passes) runs on the
    revealed background after the sampler's own fill, and only there; without one the fill is
    the sampler's alone."""
    import dataclasses

    sc = _scene()
    frame = render_scene(sc)
    parts, colours = colour_parts(frame, PAL)
    t = step_targets(sc, make_action(sc, "pick_place", "red_cube", params={"region": "right"}))
    mask = t.mask_a > 0
    seen = {}

    def restore(f, fill, hole, union):
        seen["hole"] = hole.copy()
        out = fill.copy()
        out[hole & union] = (1, 2, 3)
        return out

    out = clean_fill(frame, t.fill, mask, parts, colours, 0.65, dataclasses.replace(PAL, restore=restore))
    assert (seen["hole"] == _dilate(mask)).all()
    assert (out[mask] == (1, 2, 3)).all(-1).mean() > 0.9
    plain = clean_fill(frame, t.fill, mask, parts, colours, 0.65, dataclasses.replace(PAL, restore=None))
    assert not (plain[mask] == (1, 2, 3)).all(-1).any()
