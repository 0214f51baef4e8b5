"""Temporal flicker: frame-to-frame intensity changes that are not explained by motion.

Definition
    Frames are taken as float RGB in [0, 255]. For each consecutive pair the per-pixel
    absolute difference ``d_t(x) = mean_c |I_{t+1}(x,c) - I_t(x,c)|`` is computed.

    Static region: a pixel is "moving" in pair t when the change of the 5×5 box-blurred
    frames in any colour channel exceeds ``motion_thresh`` (default 10 grey levels) — blurring averages
    away pixel noise/flicker but keeps the large change an object edge makes when it moves; the
    moving mask is dilated by ``dilate`` px (default 2). A pixel is static when it is not moving in
    any pair. If fewer than ``min_static`` (default 10 %) of the pixels are static (the whole
    scene moves, or a global brightness flicker makes every pixel "move"), the whole frame is used.

    * ``mae``            – mean of ``d_t`` over static pixels and all pairs, grey levels in [0, 255];
    * ``mae_overall``    – the same over every pixel (the exact VBench input);
    * ``static_fraction`` – fraction of pixels found static, in [0, 1] (below ``min_static`` the
      whole frame was used for ``mae``);
    * ``score``          – ``(255 - mae) / 255`` (VBench's normalisation), in [0, 1];
    * ``score_overall``  – ``(255 - mae_overall) / 255``.

Direction
    Higher ``score`` = less flicker; 1.0 exactly when consecutive frames are identical on the
    static region. The VBench normalisation is compressed: a clean render scores ~0.99–1.0,
    per-frame noise of σ≈30 grey levels scores ~0.87; compare differences of a few hundredths.
"""

from __future__ import annotations

import cv2
import numpy as np


def static_mask(frames: np.ndarray, motion_thresh: float = 10.0, dilate: int = 2) -> np.ndarray:
    """H×W bool: pixels that do not take part in motion anywhere in the clip."""
    f = np.asarray(frames, dtype=np.float32)
    blur = np.stack([cv2.blur(g, (5, 5)) for g in f])
    moving = (np.abs(np.diff(blur, axis=0)).max(axis=-1) > motion_thresh).any(axis=0).astype(np.uint8)
    if dilate > 0 and moving.any():
        moving = cv2.dilate(moving, np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8))
    return moving == 0


def compute(frames: np.ndarray, motion_thresh: float = 10.0, dilate: int = 2, min_static: float = 0.1,
            **kw) -> dict[str, float]:
    f = np.asarray(frames)
    if f.ndim != 4 or f.shape[0] < 2:
        raise ValueError(f"expected T×H×W×3 frames with T >= 2, got shape {f.shape}")
    d = np.abs(np.diff(f.astype(np.int16), axis=0)).mean(axis=-1)  # (T-1)×H×W
    mae_all = float(d.mean())
    mask = static_mask(f, motion_thresh, dilate)
    frac = float(mask.mean())
    if frac >= min_static:
        mae = float(d[:, mask].mean())
    else:
        mae = mae_all
    return {"score": (255.0 - mae) / 255.0, "score_overall": (255.0 - mae_all) / 255.0,
            "mae": mae, "mae_overall": mae_all, "static_fraction": frac}
