import numpy as np
import pytest

from spiral.bench.metrics import motion_smoothness


def test_static_clip_is_perfectly_smooth(static_clip):
    r = motion_smoothness.compute(static_clip)
    assert r["score"] == 1.0 and r["score_min"] == 1.0 and r["relative_error"] == 0.0


@pytest.mark.parametrize("method", ["dis_ultrafast", "dis", "farneback"])
def test_translation_is_smoother_than_shuffled_frames(moving_clip, method):
    smooth = motion_smoothness.compute(moving_clip, method=method)
    order = np.random.default_rng(1).permutation(len(moving_clip))
    shuffled = motion_smoothness.compute(moving_clip[order], method=method)
    assert smooth["err"] < shuffled["err"] / 2
    assert smooth["score"] > shuffled["score"]
    assert smooth["score_min"] > shuffled["score_min"]
    assert smooth["relative_error"] < shuffled["relative_error"]


def test_flow_interpolation_beats_averaging_on_translation(moving_clip):
    r = motion_smoothness.compute(moving_clip)
    assert r["err_flow"] < r["err_avg"]
    assert 0.0 <= r["score"] <= 1.0


def test_a_jump_shows_in_the_worst_frame(moving_clip):
    jumped = moving_clip.copy()
    jumped[6:] = np.roll(moving_clip[6:], 15, axis=2)  # the second half jumps 15 px right
    smooth, jump = motion_smoothness.compute(moving_clip), motion_smoothness.compute(jumped)
    assert jump["score_min"] < smooth["score_min"]


def test_two_frames_are_trivially_smooth(moving_clip):
    assert motion_smoothness.compute(moving_clip[:2])["score"] == 1.0


def test_a_b_a_flicker_is_not_relatively_smooth():
    """Frames t-1 and t+1 are equal, so the clip has no motion to be relative to; the
    middle frame still differs: the relative score must not read as perfect."""
    a, b = np.full((16, 16, 3), 40, np.uint8), np.full((16, 16, 3), 220, np.uint8)
    for clip in (np.stack([a, b, a]), np.stack([a, b] * 4)):
        res = motion_smoothness.compute(clip)
        assert res["relative_error"] == 1.0 and res["score_relative"] == 0.0
