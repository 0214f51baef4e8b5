import cv2
import numpy as np

from spiral.bench.metrics import imaging_quality


def test_blur_lowers_sharpness(tabletop_clip):
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 1.5) for f in tabletop_clip])
    sharp, soft = imaging_quality.compute(tabletop_clip), imaging_quality.compute(blurred)
    assert soft["sharpness"] < sharp["sharpness"] / 2
    assert soft["sharpness_score"] < sharp["sharpness_score"]
    assert 0.0 <= soft["score"] < sharp["score"] <= 1.0


def test_noise_is_estimated(tabletop_clip):
    rng = np.random.default_rng(0)
    noisy = np.clip(tabletop_clip + rng.normal(0, 10, tabletop_clip.shape), 0, 255).astype(np.uint8)
    clean, dirty = imaging_quality.compute(tabletop_clip), imaging_quality.compute(noisy)
    assert clean["noise_sigma"] < 2.0
    assert 5.0 < dirty["noise_sigma"] < 15.0  # grayscale of RGB noise σ=10 → σ≈6
    assert dirty["noise_score"] < clean["noise_score"]
    assert dirty["score"] < clean["score"]  # noise raises the Laplacian but the product falls


def test_noise_on_a_smooth_image_reads_as_sharpness(static_clip):
    """The documented limitation: the Laplacian cannot tell noise from detail; noise_sigma can."""
    rng = np.random.default_rng(0)
    noisy = np.clip(static_clip + rng.normal(0, 10, static_clip.shape), 0, 255).astype(np.uint8)
    clean, dirty = imaging_quality.compute(static_clip), imaging_quality.compute(noisy)
    assert dirty["sharpness"] > clean["sharpness"]
    assert dirty["noise_sigma"] > clean["noise_sigma"] + 4
