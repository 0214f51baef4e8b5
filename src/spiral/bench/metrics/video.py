"""All generic (weight-free, VBench-style) video metrics on one clip.

:func:`compute_all` runs :mod:`temporal_flicker`, :mod:`motion_smoothness`,
:mod:`dynamic_degree`, :mod:`consistency` and :mod:`imaging_quality` on a T×H×W×3 uint8 clip
and returns their values in one flat dict, each key prefixed with its metric's name
(``temporal_flicker_score``, ``consistency_subject``, ``dynamic_degree_dynamic`` …). See each
module's docstring for the exact definitions, ranges and directions.
"""

from __future__ import annotations

import numpy as np

from spiral.bench.metrics import consistency, dynamic_degree, imaging_quality, motion_smoothness, temporal_flicker
from spiral.bench.metrics.consistency import Extractor


def compute_all(frames: np.ndarray, extractor: Extractor | None = None, masks: np.ndarray | None = None
                ) -> dict[str, float]:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        frames = np.clip(frames, 0, 255).astype(np.uint8)
    out: dict[str, float] = {}
    parts = [("temporal_flicker", temporal_flicker.compute(frames)),
             ("motion_smoothness", motion_smoothness.compute(frames)),
             ("dynamic_degree", dynamic_degree.compute(frames)),
             ("consistency", consistency.compute(frames, extractor=extractor, masks=masks)),
             ("imaging_quality", imaging_quality.compute(frames))]
    for name, vals in parts:
        out.update({f"{name}_{k}": float(v) for k, v in vals.items()})
    return out
