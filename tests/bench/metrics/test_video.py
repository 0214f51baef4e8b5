import time

from spiral.bench.metrics import video

NAMES = ("temporal_flicker", "motion_smoothness", "dynamic_degree", "consistency", "imaging_quality")


def test_compute_all_prefixes_every_metric(tabletop_clip):
    r = video.compute_all(tabletop_clip)
    for name in NAMES:
        assert any(k.startswith(name + "_") for k in r), name
    assert all(isinstance(v, float) for v in r.values())
    assert r["temporal_flicker_score"] > 0.99 and r["consistency_overall"] > 0.9


def test_compute_all_passes_extractor_and_masks(tabletop_clip):
    seen = []
    r = video.compute_all(tabletop_clip, extractor=lambda img: seen.append(1) or img.mean(axis=(0, 1)) + 1.0,
                          masks=tabletop_clip.sum(axis=-1) > 0)
    assert seen and r["consistency_subject"] <= 1.0


def test_compute_all_is_fast(tabletop_clip):
    video.compute_all(tabletop_clip)
    t0 = time.perf_counter()
    video.compute_all(tabletop_clip)
    assert time.perf_counter() - t0 < 0.5  # ~30 ms on 2 CPU cores; loose for busy CI
