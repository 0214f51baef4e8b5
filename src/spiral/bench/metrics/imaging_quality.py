"""Imaging quality: per-frame sharpness and noise, no reference and no weights.

Definition (per frame, on grayscale float in [0, 255], then averaged over the clip)
    * ``sharpness``        – variance of the 3×3 Laplacian (``cv2.Laplacian``, ksize 1),
      grey-levels², >= 0 (higher = more high-frequency detail; noise also raises it);
    * ``sharpness_score``  – ``v / (v + 100)`` with ``v`` the sharpness, in [0, 1); 0.5 at a Laplacian
      variance of 100 (a plain, slightly soft render), → 1 for detailed/crisp images;
    * ``noise_sigma``      – Immerkær's fast noise estimate (1996): ``σ = sqrt(π/2) ·
      Σ|I * N| / (6 (W-2)(H-2))`` with ``N = [[1,-2,1],[-2,4,-2],[1,-2,1]]``, grey levels, >= 0.
      It assumes additive white noise; strong edges add a small positive bias;
    * ``noise_score``      – ``exp(-σ / 10)``, in (0, 1], 1 = noise-free;
    * ``score``            – ``sharpness_score · noise_score``, in [0, 1).

Direction
    Higher ``sharpness``, ``sharpness_score``, ``noise_score`` and ``score`` = better; lower
    ``noise_sigma`` = better. VBench's imaging quality uses the learned MUSIQ model; these are
    classical stand-ins, meaningful for comparing clips of the same content and resolution.
"""

from __future__ import annotations

import cv2
import numpy as np

from spiral.bench.metrics.dynamic_degree import to_gray

_N = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def compute(frames: np.ndarray, **kw) -> dict[str, float]:
    gray = to_gray(frames).astype(np.float32)
    sharp, noise = [], []
    for g in gray:
        sharp.append(float(cv2.Laplacian(g, cv2.CV_32F, ksize=1).var()))
        h, w = g.shape
        if h < 3 or w < 3:
            noise.append(0.0)
            continue
        conv = cv2.filter2D(g, cv2.CV_32F, _N)[1:-1, 1:-1]
        noise.append(float(np.sqrt(np.pi / 2) * np.abs(conv).sum() / (6.0 * (w - 2) * (h - 2))))
    s, n = float(np.mean(sharp)), float(np.mean(noise))
    s_score = s / (s + 100.0)
    n_score = float(np.exp(-n / 10.0))
    return {"sharpness": s, "sharpness_score": s_score, "noise_sigma": n, "noise_score": n_score,
            "score": s_score * n_score}
