"""domain.py: is a first frame a tabletop render the built-in perception can read?

Measured on the full sets by benchmarks/bench_ood_images.py (500 renders: none flagged;
photo-like set: all but a few flagged); here a sample of each, at the working size 64 and
a few larger sizes, and the single checks one by one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spiral.bench.ood_images import benign_variants, photo_like, real_renders
from spiral.worlds.tabletop.domain import REFUSE_BELOW, WARN_BELOW, assess
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import TABLE_RGB, random_scene

from .helpers import make_scene, obj


def test_real_renders_are_in_domain():
    # every scene kind (crowded, bowls, towers, mid-action) at sizes 64..256
    for cat, img in itertools.islice(real_renders(60, seed0=7000), 60):
        r = assess(img)
        assert r.verdict == "ok" and r.confidence == 1.0, (cat, img.shape, r.reasons)


def test_benign_variants_pass():
    for cat, img in benign_variants(12):
        r = assess(img)
        assert r.verdict == "ok", (cat, r.reasons)


def test_photo_like_images_are_flagged():
    items = list(photo_like(n_per_category=3, sizes=(64,)))
    flagged = {}
    for cat, img in items:
        flagged.setdefault(cat, []).append(assess(img).confidence < REFUSE_BELOW)
    assert len(flagged) == 12  # eleven procedural kinds and the packages' sample photos
    rate = np.mean([f for fs in flagged.values() for f in fs])
    assert rate >= 0.95, {c: np.mean(f) for c, f in flagged.items()}


def test_a_flat_gradient_names_its_reasons():
    g = np.linspace(0, 255, 64, dtype=np.float32)
    img = np.stack([np.tile(g, (64, 1)), np.tile(g[:, None], (1, 64)), np.full((64, 64), 128.0)], -1).astype(np.uint8)
    r = assess(img)
    assert r.verdict == "out-of-domain" and r.confidence < REFUSE_BELOW
    assert any("pixels have a colour" in x for x in r.reasons) and any("table colour" in x for x in r.reasons)


def _render():
    return render_scene(make_scene(obj("cube", "red", 0.3, 0.4), obj("ball", "green", 0.7, 0.7),
                                   obj("bowl", "blue", 0.7, 0.3)), 128)


def test_one_off_palette_object_on_a_render_is_flagged():
    img = _render()
    img[80:96, 20:36] = (255, 105, 180)  # a pink block: no palette colour
    r = assess(img)
    assert r.confidence < REFUSE_BELOW and any("regions of other colours" in x for x in r.reasons)


def test_an_implausible_palette_object_is_flagged():
    img = _render()
    img[70:120, 10:60] = (220, 40, 40)  # a red slab far larger than a cube
    img2 = _render()
    img2[100:104, 10:70] = (40, 170, 60)  # a long green bar (no object is that shape)
    for im in (img, img2):
        r = assess(im)
        assert r.confidence < REFUSE_BELOW and any("implausible objects" in x for x in r.reasons), r.reasons


def test_grain_on_the_table_is_flagged():
    rng = np.random.default_rng(0)
    img = np.clip(_render() + rng.normal(0, 9, (128, 128, 3)), 0, 255).astype(np.uint8)
    r = assess(img)
    assert r.confidence < WARN_BELOW and any("grainy" in x for x in r.reasons)


def test_a_shrunk_render_is_flagged():
    big = render_scene(random_scene(3), 128)
    img = np.empty_like(big)
    img[:] = TABLE_RGB
    import cv2

    img[32:80, 40:88] = cv2.resize(big, (48, 48), interpolation=cv2.INTER_AREA)
    r = assess(img)
    assert r.confidence < REFUSE_BELOW and any("size the world draws" in x for x in r.reasons), r.reasons


def test_large_frames_are_assessed_quickly():
    import time

    img = render_scene(random_scene(5), 512)
    t0 = time.perf_counter()
    assert assess(img).verdict == "ok"
    assert time.perf_counter() - t0 < 2.0


def test_bad_shape():
    with pytest.raises(ValueError, match="H×W×3"):
        assess(np.zeros((8, 8), np.uint8))


@pytest.mark.parametrize("kind", ["ball", "cube", "bowl"])
def test_objects_at_the_table_edge_are_not_cut(kind):
    """A scene file may put an object as close to the edge as its footprint allows: it
    grazes the image's edge and must not read as an object cut by it."""
    from spiral.worlds.tabletop.scene import Scene, SceneObject, footprint

    r = footprint(kind) - 0.002  # what Scene.layout_problems still accepts
    for x, y in ((r, 0.5), (1 - r, 0.5), (0.5, r), (0.5, 1 - r), (r, r), (1 - r, 1 - r)):
        sc = Scene(objects=[SceneObject(kind=kind, color="red", x=x, y=y),
                            SceneObject(kind="ball", color="blue", x=0.5, y=0.5)])
        assert not sc.layout_problems()
        for size in (64, 96, 256):
            rep = assess(render_scene(sc, size))
            assert rep.confidence == 1.0, (x, y, size, rep.reasons)


def test_an_object_cut_by_the_edge_is_flagged():
    img = _render()  # the red cube at (0.3, 0.4) of a 128 px frame: crop through its middle
    crop = np.ascontiguousarray(img[:, 38:])
    import cv2

    r = assess(cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA))
    assert r.confidence < REFUSE_BELOW and any("cut by the image's edge" in x for x in r.reasons), r.reasons
