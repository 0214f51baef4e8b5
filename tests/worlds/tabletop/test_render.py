"""render.py: frame size, determinism, colours where objects are, stacking and the gripper."""

from __future__ import annotations

import numpy as np
import pytest

from spiral.worlds.tabletop.render import (
    GRIPPER_RGB,
    MIN_SIZE,
    Item,
    render_items,
    render_scene,
    scene_items,
)
from spiral.worlds.tabletop.scene import BOWL_INSIDE_RGB, PALETTE, STACK_DY, TABLE_RGB, random_scene

from .helpers import make_scene, obj


def px(frame: np.ndarray, x: float, y: float) -> tuple[int, ...]:
    """The pixel at table point ``x, y``."""
    n = frame.shape[0]
    return tuple(int(v) for v in frame[int(y * n), int(x * n)])


def test_default_frame(demo_scene):
    f = render_scene(demo_scene)
    assert f.shape == (64, 64, 3) and f.dtype == np.uint8


@pytest.mark.parametrize("size", [32, 48, 64, 96, 128])
def test_sizes(demo_scene, size):
    f = render_scene(demo_scene, size)
    assert f.shape == (size, size, 3) and f.dtype == np.uint8
    assert px(f, 0.02, 0.02) == TABLE_RGB
    assert px(f, 0.22, 0.74) == PALETTE["red"]  # the red ball's centre
    assert px(f, 0.52, 0.7) == BOWL_INSIDE_RGB  # inside the purple bowl
    rim = np.array(px(f, 0.52 + 0.11, 0.7))  # the rim is ~1 px wide at 32 px: allow blending
    assert np.abs(rim - PALETTE["purple"]).max() <= (0 if size >= 64 else 40)


@pytest.mark.parametrize("size", [0, 16, MIN_SIZE - 1])
def test_too_small(demo_scene, size):
    with pytest.raises(ValueError, match="at least 32"):
        render_scene(demo_scene, size)


def test_deterministic_bytes(demo_scene):
    for sc in [demo_scene] + [random_scene(s) for s in range(10)]:
        assert render_scene(sc).tobytes() == render_scene(sc.copy_deep()).tobytes()
        assert render_scene(sc, 96).tobytes() == render_scene(sc, 96).tobytes()


def test_empty_table_and_objects_change_pixels():
    empty = render_items([], 64)
    assert (empty == np.array(TABLE_RGB, np.uint8)).all()
    f = render_scene(make_scene(obj("ball", "green", 0.5, 0.5)))
    changed = (f != empty).any(-1)
    # a ball of radius 0.045 covers about pi * (0.045 * 64)^2 ~ 26 px
    assert 18 <= changed.sum() <= 36
    ys, xs = np.nonzero(changed)
    assert abs(xs.mean() + 0.5 - 32) < 1 and abs(ys.mean() + 0.5 - 32) < 1


def test_cube_has_a_lit_top_and_a_darker_front():
    f = render_scene(make_scene(obj("cube", "blue", 0.5, 0.5)), 128)
    top, front = px(f, 0.5, 0.47), px(f, 0.5, 0.545)
    assert top == PALETTE["blue"]
    assert all(a < b for a, b in zip(front, top))


def test_stacked_cube_is_drawn_higher():
    base = make_scene(obj("cube", "red", 0.5, 0.6))
    tower = make_scene(obj("cube", "red", 0.5, 0.6), obj("cube", "yellow", 0.5, 0.6, on="red_cube"))
    f = render_scene(tower, 128)
    assert px(f, 0.5, 0.6 - STACK_DY - 0.02) == PALETTE["yellow"]
    # the base's front face stays visible under the top cube
    assert px(f, 0.5, 0.65) == px(render_scene(base, 128), 0.5, 0.65)
    assert [it.z for it in scene_items(tower)] == [0.0, 1.0]


def test_object_in_a_bowl_is_drawn_smaller():
    sc = make_scene(obj("bowl", "white", 0.5, 0.5), obj("ball", "red", 0.5, 0.455, **{"in": "white_bowl"}, slot=0))
    loose = make_scene(obj("bowl", "white", 0.2, 0.2), obj("ball", "red", 0.6, 0.6))
    red = np.array(PALETTE["red"])
    in_px = (render_scene(sc, 128) == red).all(-1).sum()
    out_px = (render_scene(loose, 128) == red).all(-1).sum()
    assert 0.5 < in_px / out_px < 0.8  # scale 0.8 → area ~0.64
    assert [it.scale for it in scene_items(sc)] == [1.0, 0.8]


def test_colour_override():
    a = render_items([Item("ball", "red", 0.5, 0.5)], 64)
    b = render_items([Item("ball", "red", 0.5, 0.5, rgb=(10, 200, 10))], 64)
    assert px(a, 0.5, 0.5) == PALETTE["red"] and px(b, 0.5, 0.5) == (10, 200, 10)


def test_gripper_only_when_something_is_carried():
    still = [Item("ball", "red", 0.3, 0.5), Item("cube", "blue", 0.7, 0.5, z=1.0), Item("bowl", "green", 0.5, 0.2)]
    assert render_items(still, 64, gripper=True).tobytes() == render_items(still, 64, gripper=False).tobytes()
    carried = still[:2] + [Item("ball", "yellow", 0.5, 0.75, z=1.2, carried=True)]
    on, off = render_items(carried, 64, gripper=True), render_items(carried, 64, gripper=False)
    diff = (on != off).any(-1)
    assert diff.any()
    _ys, xs = np.nonzero(diff)
    assert abs(xs.mean() / 64 - 0.5) < 0.06  # around the carried object only
    assert (on == np.array(GRIPPER_RGB)).all(-1).sum() > 0
    assert (off == np.array(GRIPPER_RGB)).all(-1).sum() == 0


def test_carried_objects_cast_a_shadow():
    lifted = render_items([Item("ball", "red", 0.5, 0.5, z=1.5, carried=True)], 64)
    assert px(lifted, 0.5, 0.5) != TABLE_RGB  # the shadow under it
    assert px(lifted, 0.5, 0.5 - 1.5 * STACK_DY) == PALETTE["red"]
