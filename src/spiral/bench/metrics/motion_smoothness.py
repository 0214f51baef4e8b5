"""Motion smoothness: how well each frame is predicted by interpolating its neighbours.

Definition
    For every interior frame ``t`` (1 ≤ t ≤ T-2) two interpolations of ``I_{t-1}`` and ``I_{t+1}``
    are made (float RGB in [0, 255]):

    * average:  ``P_avg = (I_{t-1} + I_{t+1}) / 2``;
    * flow:     dense flows ``F_f = flow(I_{t-1} → I_{t+1})`` and ``F_b = flow(I_{t+1} → I_{t-1})``
      (OpenCV DIS preset ultrafast by default; ``method="dis"`` for preset fast,
      ``"farneback"`` for Farneback), assuming linear motion
      ``P_flow(x) = ½·I_{t-1}(x - ½F_f(x)) + ½·I_{t+1}(x - ½F_b(x))`` (bilinear backward warping).

    The error of a prediction is the mean absolute difference to the real ``I_t`` in grey levels
    (0–255). Per frame the better of the two interpolators is taken (the average is exact for
    static content and fades, the flow warp for motion), then averaged over frames:

    * ``err_avg``, ``err_flow`` – mean error of each interpolator, grey levels in [0, 255];
    * ``err``                 – mean over frames of ``min(err_avg_t, err_flow_t)``;
    * ``score_avg``, ``score_flow``, ``score`` – ``(255 - err) / 255`` (VBench's normalisation;
      VBench interpolates with the learned AMT model instead of classical flow), in [0, 1];
    * ``score_min``  – ``(255 - max_t err_t) / 255``: the worst interpolated frame, in [0, 1];
      a single jump (teleport, cut) shows here while it is diluted in ``score``;
    * ``relative_error`` – ``Σ_t err_t / Σ_t D_t`` with ``D_t = mean|I_{t+1} - I_{t-1}|`` (how much
      the neighbours differ), 0 when nothing moves; ~0 for motion the interpolator explains, ~1
      or more when it explains none of it. Independent of how much of the frame moves;
    * ``score_relative`` – ``1 - min(1, relative_error)``, in [0, 1].

Direction
    Higher ``score`` = smoother motion; 1.0 for a static clip. Jerky motion, teleports and
    shuffled frames are badly interpolated and score lower. Clips with fewer than 3 frames
    score 1.0 (nothing to interpolate).
"""

from __future__ import annotations

import cv2
import numpy as np

from spiral.bench.metrics.dynamic_degree import optical_flow, to_gray


def _warp(img: np.ndarray, flow: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Sample ``img`` at ``x - flow(x)/2`` (bilinear, border replicated)."""
    m = grid - 0.5 * flow
    return cv2.remap(img, m[..., 0], m[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def compute(frames: np.ndarray, method: str = "dis_ultrafast", **kw) -> dict[str, float]:
    f = np.asarray(frames)
    if f.ndim != 4:
        raise ValueError(f"expected T×H×W×3 frames, got shape {f.shape}")
    T, H, W = f.shape[:3]
    if T < 3:
        return {"score": 1.0, "score_avg": 1.0, "score_flow": 1.0, "score_min": 1.0, "score_relative": 1.0,
                "err": 0.0, "err_avg": 0.0, "err_flow": 0.0, "relative_error": 0.0}
    gray = to_gray(f)
    ff = f.astype(np.float32)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    grid = np.stack([xs, ys], axis=-1)
    e_avg, e_flow, diffs = [], [], []
    for t in range(1, T - 1):
        a, b, real = ff[t - 1], ff[t + 1], ff[t]
        e_avg.append(float(np.abs(0.5 * (a + b) - real).mean()))
        diffs.append(float(np.abs(b - a).mean()))
        fwd = optical_flow(gray[t - 1], gray[t + 1], method)
        bwd = optical_flow(gray[t + 1], gray[t - 1], method)
        pred = 0.5 * _warp(a, fwd, grid) + 0.5 * _warp(b, bwd, grid)
        e_flow.append(float(np.abs(pred - real).mean()))
    err_avg, err_flow = float(np.mean(e_avg)), float(np.mean(e_flow))
    per = np.minimum(e_avg, e_flow)
    err = float(per.mean())
    total = float(np.sum(diffs))
    # no change between frames t-1 and t+1 (A-B-A flicker, or a still clip): any error is relative to nothing
    rel = float(per.sum() / total) if total > 1e-9 else (1.0 if err > 1e-9 else 0.0)
    return {"score": (255.0 - err) / 255.0, "score_avg": (255.0 - err_avg) / 255.0,
            "score_flow": (255.0 - err_flow) / 255.0, "score_min": (255.0 - float(per.max())) / 255.0,
            "score_relative": 1.0 - min(1.0, rel), "err": err, "err_avg": err_avg, "err_flow": err_flow,
            "relative_error": rel}
