import pytest

from spiral.bench.metrics import dynamic_degree


def test_static_clip_has_no_motion(static_clip):
    r = dynamic_degree.compute(static_clip)
    assert r["mean_magnitude"] == pytest.approx(0.0, abs=1e-3)
    assert r["max_magnitude"] < 0.05
    assert r["dynamic"] == 0.0 and r["dynamic_fraction"] == 0.0


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_measures_the_square_speed(make_square, method):
    r = dynamic_degree.compute(make_square(step=2.0), method=method)
    assert r["max_magnitude"] == pytest.approx(2.0, abs=1.0)  # 2 px/frame
    assert r["mean_magnitude"] > 0.01


def test_faster_motion_is_more_dynamic(make_square):
    slow = dynamic_degree.compute(make_square(step=1.0))
    fast = dynamic_degree.compute(make_square(step=4.0))
    assert fast["top5_magnitude"] > slow["top5_magnitude"]
    assert fast["mean_magnitude"] > slow["mean_magnitude"]
    assert fast["dynamic"] == 1.0  # top-5 % magnitude above 1.5 px/frame at 64 px


def test_whole_frame_pan_is_dynamic(static_clip):
    import numpy as np

    pan = np.stack([np.roll(static_clip[0], 3 * t, axis=1) for t in range(12)])
    r = dynamic_degree.compute(pan)
    assert r["dynamic"] == 1.0 and r["dynamic_fraction"] > 0.5
    assert r["mean_magnitude"] > 1.5
