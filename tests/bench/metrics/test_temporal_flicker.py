import numpy as np

from spiral.bench.metrics import temporal_flicker


def test_static_clip_has_no_flicker(static_clip):
    r = temporal_flicker.compute(static_clip)
    assert r["score"] == 1.0 and r["score_overall"] == 1.0 and r["mae"] == 0.0
    assert r["static_fraction"] == 1.0


def test_noise_flicker_scores_low(static_clip):
    rng = np.random.default_rng(0)
    noisy = np.clip(static_clip.astype(np.int16) + rng.normal(0, 30, static_clip.shape), 0, 255).astype(np.uint8)
    r = temporal_flicker.compute(noisy)
    assert r["score"] < 0.9
    assert r["mae"] > 25


def test_global_brightness_flicker_falls_back_to_whole_frame(static_clip):
    f = static_clip.astype(np.int16)
    f[1::2] += 50  # every other frame much brighter: no static pixels left
    r = temporal_flicker.compute(np.clip(f, 0, 255).astype(np.uint8))
    assert r["static_fraction"] < 0.1
    assert r["mae"] == r["mae_overall"] > 40
    assert r["score"] < 0.85


def test_motion_is_excluded_from_static_region(moving_clip):
    r = temporal_flicker.compute(moving_clip)
    assert 0.1 < r["static_fraction"] < 1.0
    assert r["mae"] < 0.5 * r["mae_overall"]  # the moving square is mostly not counted as flicker
    assert r["score"] > r["score_overall"]


def test_real_render_flickers_little(tabletop_clip):
    assert temporal_flicker.compute(tabletop_clip)["score"] > 0.99
