"""Subject and background consistency: does the scene keep its appearance over the clip?

Definition (VBench style)
    Each frame region is turned into a feature vector ``φ`` and, with cosine similarity
    ``cos``, a region's consistency is

        C = mean_{t=1..T-1} ½·( cos(φ_t, φ_0) + cos(φ_t, φ_{t-1}) )

    clipped to [0, 1] (similarity to the first frame catches slow drift, to the previous frame
    abrupt switches). Reported:

    * ``subject``         – C on the subject region;
    * ``background``      – C on the background region;
    * ``overall``         – C on the whole frame;
    * ``min_to_first``    – the lowest ``cos(φ_t, φ_0)`` of the whole frame (worst frame);
    * ``min_to_prev``     – the lowest ``cos(φ_t, φ_{t-1})`` of the whole frame (largest jump).

Regions
    With ``masks`` (T×H×W bool, True = foreground/subject) the subject region of frame t is its
    mask's bounding box with non-mask pixels excluded, the background region is the frame with
    the mask excluded. A frame with an empty subject mask has a zero feature, whose similarity
    to anything is 0. Without masks the subject region is the centre box
    ``[H/4, 3H/4) × [W/4, 3W/4)`` and the background region is everything outside it (the
    border ring): a fixed-camera proxy, since subjects are usually framed in the centre.

Features (pluggable)
    Default (no weights): the concatenation of three L2-normalised blocks — an HSV colour
    histogram (8 hue × 4 saturation × 4 value bins) of the region's pixels, a 16×16 downsampled
    zero-mean grayscale thumbnail, and a HOG-like descriptor (unsigned gradient orientation
    histograms, 8 bins, magnitude-weighted, on a 4×4 cell grid). Excluded pixels are left out of
    the histogram and set to the region's mean grey for the thumbnail and gradients.

    ``extractor`` may be any callable ``frame (h×w×3 uint8) -> 1-D feature vector``, for
    instance DINO/CLIP features from weights on your own disk::

        model = torch.hub.load("/path/to/dinov2", "dinov2_vits14", source="local").eval()
        def dino(img):
            x = preprocess(img)[None]                # your resize/normalise
            with torch.no_grad():
                return model(x)[0].numpy()
        compute(frames, extractor=dino)

    A custom extractor gets the cropped region with excluded pixels set to 0 (black).

Direction
    Higher = more consistent, in [0, 1]; a constant clip scores exactly 1.0. With the default
    features similarities rarely fall below ~0.3 even for unrelated images, so differences of a
    few hundredths matter; compare like with like.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Extractor = Callable[[np.ndarray], np.ndarray]


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).ravel()
    n = np.linalg.norm(v)
    return v / n if n > 1e-12 else np.zeros_like(v)


def default_features(img: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The weight-free feature vector of ``img`` (h×w×3 uint8), using only ``mask`` pixels if given."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    if img.size == 0 or (mask is not None and not mask.any()):
        return np.zeros(8 * 4 * 4 + 16 * 16 + 4 * 4 * 8)
    m8 = None if mask is None else mask.astype(np.uint8)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], m8, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    if mask is not None:
        gray = np.where(mask, gray, gray[mask].mean()).astype(np.float32)
    thumb = cv2.resize(gray, (16, 16), interpolation=cv2.INTER_AREA)
    thumb = thumb - thumb.mean()
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), np.pi)
    h, w = gray.shape
    cy = np.minimum((np.arange(h) * 4) // max(h, 1), 3)
    cx = np.minimum((np.arange(w) * 4) // max(w, 1), 3)
    ob = np.minimum((ang / np.pi * 8).astype(np.int64), 7)
    idx = (cy[:, None] * 4 + cx[None, :]) * 8 + ob
    hog = np.bincount(idx.ravel(), weights=mag.ravel(), minlength=128)
    return np.concatenate([_unit(hist), _unit(thumb), _unit(hog)])


def _region_feats(frames: np.ndarray, masks: list[np.ndarray], crop: bool, extractor: Extractor | None):
    out = []
    for f, m in zip(frames, masks):
        if crop:
            ys, xs = np.nonzero(m)
            if ys.size == 0:
                out.append(None)
                continue
            sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
            f, m = f[sl], m[sl]
        if extractor is None:
            out.append(_unit(default_features(f, None if m.all() else m)))
        else:
            img = f if m.all() else np.where(m[..., None], f, 0).astype(np.uint8)
            out.append(_unit(extractor(img)))
    dim = next((len(v) for v in out if v is not None), 1)
    return [np.zeros(dim) if v is None else v for v in out]


def _consistency(feats: list[np.ndarray]) -> tuple[float, float, float]:
    if len(feats) < 2:
        return 1.0, 1.0, 1.0
    first = [float(np.clip(feats[t] @ feats[0], 0.0, 1.0)) for t in range(1, len(feats))]
    prev = [float(np.clip(feats[t] @ feats[t - 1], 0.0, 1.0)) for t in range(1, len(feats))]
    c = float(np.mean([(a + b) / 2 for a, b in zip(first, prev)]))
    return min(1.0, c), min(first), min(prev)


def compute(frames: np.ndarray, extractor: Extractor | None = None, masks: np.ndarray | None = None,
            **kw) -> dict[str, float]:
    f = np.asarray(frames)
    if f.ndim != 4 or f.shape[-1] != 3:
        raise ValueError(f"expected T×H×W×3 frames, got shape {f.shape}")
    if f.dtype != np.uint8:
        f = np.clip(f, 0, 255).astype(np.uint8)
    T, H, W = f.shape[:3]
    full = np.ones((H, W), bool)
    if masks is not None:
        masks = np.asarray(masks, dtype=bool)
        if masks.shape != (T, H, W):
            raise ValueError(f"masks must be T×H×W = {(T, H, W)}, got {masks.shape}")
        subj_masks, subj_crop = list(masks), True
        bg_masks = [~m for m in masks]
    else:
        centre = np.zeros((H, W), bool)
        centre[H // 4: 3 * H // 4, W // 4: 3 * W // 4] = True
        subj_masks, subj_crop = [centre] * T, True
        bg_masks = [~centre] * T
    overall, min_first, min_prev = _consistency(_region_feats(f, [full] * T, False, extractor))
    subject = _consistency(_region_feats(f, subj_masks, subj_crop, extractor))[0]
    background = _consistency(_region_feats(f, bg_masks, False, extractor))[0]
    return {"subject": subject, "background": background, "overall": overall,
            "min_to_first": min_first, "min_to_prev": min_prev}
