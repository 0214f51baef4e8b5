"""Synthetic clips for the generic video metrics."""

from __future__ import annotations

import cv2
import numpy as np
import pytest


def textured_background(size: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth-ish, textured RGB background (so flow and features have something to hold on to)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 200, (8, 8, 3)).astype(np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def square_clip(T: int = 12, size: int = 64, step: float = 2.0, seed: int = 0) -> np.ndarray:
    """A 12×12 red square translating smoothly to the right over a textured background."""
    bg = textured_background(size, seed)
    frames = []
    for t in range(T):
        f = bg.copy()
        x0 = int(round(8 + step * t))
        f[26:38, x0:x0 + 12] = (230, 30, 30)
        frames.append(f)
    return np.stack(frames)


@pytest.fixture
def static_clip() -> np.ndarray:
    return np.repeat(textured_background()[None], 12, axis=0)


@pytest.fixture
def moving_clip() -> np.ndarray:
    return square_clip()


@pytest.fixture
def tabletop_clip() -> np.ndarray:
    import random

    from spiral.worlds.tabletop.sampling import sample_action
    from spiral.worlds.tabletop.scene import random_scene
    from spiral.worlds.tabletop.simulate import simulate

    scene = random_scene(0)
    frames, _ = simulate(scene, sample_action(scene, random.Random(0)), 12, 64)
    return frames


@pytest.fixture
def make_square():
    """``make_square(T=12, size=64, step=2.0, seed=0)`` → a translating-square clip."""
    return square_clip
