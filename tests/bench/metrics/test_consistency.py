import numpy as np
import pytest

from spiral.bench.metrics import consistency


def test_constant_clip_is_fully_consistent(static_clip):
    r = consistency.compute(static_clip)
    for k in ("subject", "background", "overall", "min_to_first", "min_to_prev"):
        assert r[k] == pytest.approx(1.0, abs=1e-9), k


def _other_scene(clip, seed=5):
    rng = np.random.default_rng(seed)
    import cv2

    small = rng.integers(0, 255, (8, 8, 3)).astype(np.uint8)
    return cv2.resize(small, clip.shape[2:0:-1], interpolation=cv2.INTER_CUBIC)


def test_abrupt_scene_change_lowers_consistency(static_clip):
    cut = static_clip.copy()
    cut[6:] = _other_scene(static_clip)
    base, r = consistency.compute(static_clip), consistency.compute(cut)
    for k in ("subject", "background", "overall"):
        assert r[k] < base[k] - 0.05, k
    assert r["min_to_prev"] < 0.9


def test_border_change_hits_background_not_subject(static_clip):
    changed = static_clip.copy()
    changed[6:, :8] = (255, 255, 0)  # the top border turns yellow half way
    r = consistency.compute(changed)
    assert r["subject"] == pytest.approx(1.0)
    assert r["background"] < 0.99


def test_masks_select_the_subject(moving_clip):
    masks = np.all(moving_clip == (230, 30, 30), axis=-1)
    r = consistency.compute(moving_clip, masks=masks)
    assert r["subject"] == pytest.approx(1.0, abs=1e-6)  # the square itself never changes
    recoloured = moving_clip.copy()
    recoloured[6:][masks[6:]] = (30, 30, 230)  # ... unless it turns blue
    assert consistency.compute(recoloured, masks=masks)["subject"] < 0.9


def test_custom_extractor_is_used(static_clip):
    calls = []

    def mean_colour(img):
        calls.append(img.shape)
        return img.reshape(-1, 3).mean(axis=0) + 1.0

    r = consistency.compute(static_clip, extractor=mean_colour)
    assert len(calls) == 3 * len(static_clip)  # whole frame, subject, background
    assert (32, 32, 3) in calls  # the centre crop
    assert r["overall"] == pytest.approx(1.0)
    # a colour-only extractor cannot see a pure spatial rearrangement; the default one can
    flipped = static_clip.copy()
    flipped[6:] = static_clip[6:, ::-1, ::-1]
    assert consistency.compute(flipped, extractor=mean_colour)["overall"] == pytest.approx(1.0)
    assert consistency.compute(flipped)["overall"] < 0.99


def test_bad_mask_shape_raises(static_clip):
    with pytest.raises(ValueError):
        consistency.compute(static_clip, masks=np.ones((3, 4, 4), bool))
